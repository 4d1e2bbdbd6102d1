"""Render images/sunset.jpg: a sunset over the sea, drawn from scratch so it has a clear licence.

Deterministic (fixed seed, fixed size): run ``python images/make_sunset.py`` to recreate it.
The picture has what makes colour quantisation interesting: smooth sky gradients (where banding
shows up at small K), a bright sun, dark silhouettes and a sea full of broken reflections.
"""
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

WIDTH, HEIGHT = 640, 427
HORIZON = 0.62  # fraction of the height where the sea starts
SUN_CENTRE = (0.63, 0.55)  # (x, y) as fractions of width and height
SEED = 2024


def smooth_noise(rng, shape, scales):
    """Sum of blurred white-noise layers (a cheap fractal noise), scaled to [0, 1]."""
    total = np.zeros(shape)
    for sigma, weight in scales:
        total += weight * gaussian_filter(rng.standard_normal(shape), sigma)
    total -= total.min()
    return total / total.max()


def lerp_colours(stops, t):
    """Piecewise-linear colour ramp: ``stops`` is [(position, (r, g, b)), ...] with positions in [0, 1]."""
    positions = np.array([p for p, _ in stops])
    colours = np.array([c for _, c in stops], dtype=float)
    return np.stack([np.interp(t, positions, colours[:, i]) for i in range(3)], axis=-1)


def render(width=WIDTH, height=HEIGHT, seed=SEED):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(float)
    horizon = HORIZON * height
    sun_x, sun_y = SUN_CENTRE[0] * width, SUN_CENTRE[1] * height
    sun_radius = 0.045 * width

    # Sky: violet at the top through magenta and orange to a pale yellow at the horizon.
    sky_t = np.clip(y / horizon, 0, 1)
    sky = lerp_colours(
        [(0.0, (38, 32, 84)), (0.35, (112, 52, 118)), (0.62, (214, 92, 74)),
         (0.85, (250, 160, 70)), (1.0, (255, 214, 130))], sky_t)
    distance_to_sun = np.hypot(x - sun_x, (y - sun_y) * 1.15)
    glow = np.exp(-distance_to_sun / (0.22 * width))
    sky += glow[..., None] * np.array([60.0, 40.0, 5.0])

    # Clouds: stretched noise, lit orange from below and darker on top.
    cloud_field = smooth_noise(rng, (height, width), [(3, 0.3), (9, 1.0), (25, 1.5)])
    cloud_field = gaussian_filter(cloud_field, (1, 8))
    band = np.exp(-((y / horizon - 0.38) / 0.22) ** 2)
    cloud_alpha = np.clip((cloud_field - 0.5) * 3, 0, 0.85) * band
    cloud_colour = lerp_colours([(0.0, (70, 40, 90)), (0.6, (190, 80, 90)), (1.0, (255, 170, 110))],
                                np.clip(y / horizon + 0.3 * glow, 0, 1))
    sky = sky * (1 - cloud_alpha[..., None]) + cloud_colour * cloud_alpha[..., None]

    # Sun disc with a soft edge.
    sun_alpha = np.clip((sun_radius - distance_to_sun) / 2.0, 0, 1)
    sky = sky * (1 - sun_alpha[..., None]) + np.array([255.0, 236.0, 180.0]) * sun_alpha[..., None]

    # Sea: darker mirror of the sky, with a glittering path of reflections under the sun.
    depth = np.clip((y - horizon) / (height - horizon), 0, 1)
    sea = lerp_colours([(0.0, (200, 110, 80)), (0.25, (120, 60, 90)), (1.0, (30, 24, 60))], depth)
    ripples = smooth_noise(rng, (height, width), [(0.8, 1.0), (2, 0.6)])
    ripples = gaussian_filter(ripples, (0.5, 6))
    path_width = (0.05 + 0.25 * depth) * width
    path = np.exp(-((x - sun_x) / path_width) ** 2)
    glitter = np.clip((ripples - 0.5) * 5, 0, 1) * path
    sea = sea * (0.85 + 0.3 * ripples[..., None]) + glitter[..., None] * np.array([255.0, 190.0, 110.0])

    image = np.where((y < horizon)[..., None], sky, sea)

    # Headland silhouette on the left, low hills on the right, both dark against the sky.
    ridge = smooth_noise(rng, (1, width), [(20, 1.0), (4, 0.25)])[0]
    headland = horizon - (0.30 * height) * np.clip(1 - x[0] / (0.42 * width), 0, 1) ** 1.6 - 6 * ridge
    hills = horizon - (0.035 * height) * (0.6 + ridge) * np.clip((x[0] - 0.7 * width) / (0.3 * width), 0, 1)
    land_top = np.minimum(headland, hills)
    land = (y >= land_top[None, :]) & (y <= horizon + 2)
    # The headland's dark reflection in the water just below it.
    reflection = (y > horizon) & (y - horizon <= (horizon - land_top[None, :]) * 0.35)
    image[reflection] *= 0.55
    image[land] = np.array([26.0, 18.0, 36.0]) + 10 * ridge[None, :].repeat(height, 0)[land][:, None]

    # Film grain, so no two neighbouring pixels are exactly alike (as in a photograph).
    image += rng.normal(0, 2.5, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def main(path=Path(__file__).with_name("sunset.jpg")):
    Image.fromarray(render()).save(path, quality=92, optimize=False, subsampling=0)
    return path


if __name__ == "__main__":
    print(main())
