"""The GMM explorer: sliders for a 2-D Gaussian mixture, samples drawn by the student's ``sample_gmm``."""
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from .common import (
    PALETTE,
    PngFigure,
    add_ellipses,
    component_colours,
    component_hex,
    describe_error,
    image_widget,
    library_sample,
    note_html,
    note_widget,
    try_student_sample,
    update_ellipses,
)

RHO_LIMIT = 0.95  # correlation sliders stay inside (-1, 1): every setting is a valid covariance
MAX_GMM_COMPONENTS = len(PALETTE)


# ----------------------------------------------------------------------------------------------
# Slider <-> model parameters
# ----------------------------------------------------------------------------------------------
def covariance_from_sliders(sigma_x, sigma_y, rho):
    """The 2x2 covariance with standard deviations ``sigma_x, sigma_y`` and correlation ``rho``.

    Positive definite whenever both sigmas are positive and ``|rho| < 1``: its determinant is
    ``sigma_x**2 * sigma_y**2 * (1 - rho**2)``.
    """
    off_diagonal = rho * sigma_x * sigma_y
    return np.array([[sigma_x**2, off_diagonal], [off_diagonal, sigma_y**2]])


def sliders_from_covariance(covariance):
    """Inverse of :func:`covariance_from_sliders`: ``(sigma_x, sigma_y, rho)``."""
    covariance = np.asarray(covariance, dtype=float)
    sigma_x, sigma_y = np.sqrt(np.diag(covariance))
    rho = covariance[0, 1] / (sigma_x * sigma_y)
    return float(sigma_x), float(sigma_y), float(rho)


def snap(value, low, high, step):
    """``value`` clipped to [low, high] and rounded to the slider's step (what the page would show)."""
    snapped = low + round((min(max(float(value), low), high) - low) / step) * step
    return round(min(max(snapped, low), high), 10)


def snapped_slider(value, low, high, step, description):
    """A FloatSlider whose starting value is already on its step grid."""
    return widgets.FloatSlider(value=snap(value, low, high, step), min=low, max=high, step=step,
                               description=description)


def normalised_weights(raw_weights):
    """Mixing proportions phi from non-negative slider weights: ``w / sum(w)``.

    All-zero weights mean "no preference": phi is uniform then (and the widget says so).
    """
    raw_weights = np.clip(np.asarray(raw_weights, dtype=float), 0.0, None)
    total = raw_weights.sum()
    if total <= 0:
        return np.full(len(raw_weights), 1.0 / len(raw_weights))
    return raw_weights / total


def proportions_table(raw_weights, phi, z):
    """HTML table: each component's weight, phi, sample count and sampled proportion, and the total."""
    counts = np.bincount(z, minlength=len(phi))
    rows = [
        f'<tr class="lab5-component-{k}"><td style="color:{component_hex(k)}">&#9679; {k + 1}</td><td>{weight:.2f}</td>'
        f'<td class="lab5-phi">{phi_k:.3f}</td><td class="lab5-count">{count}</td>'
        f'<td class="lab5-proportion">{count / max(len(z), 1):.3f}</td></tr>'
        for k, (weight, phi_k, count) in enumerate(zip(raw_weights, phi, counts))
    ]
    return (
        '<table style="border-collapse:collapse;text-align:right" cellpadding="3">'
        "<tr><th>comp.</th><th>weight</th><th>φ = w/Σw</th><th>count</th><th>sampled</th></tr>"
        + "".join(rows)
        + f'<tr><td colspan="3">total</td><td class="lab5-total">{len(z)}</td><td></td></tr></table>'
    )


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
class GMMFigure(NamedTuple):
    """The explorer's persistent figure and the artists a redraw updates."""

    figure: PngFigure
    axes: object
    scatter: object
    ellipses: list  # per component: [1-sigma patch, 2-sigma patch]
    centres: object
    title: object


def build_gmm_figure(n_components, limits):
    """The explorer's figure: one scatter for the samples, 1/2-sigma ellipses, a mean marker each."""
    figure = PngFigure(5.2, 4.6)
    axes = figure.figure.add_axes([0.1, 0.09, 0.87, 0.85])
    axes.set_xlim(*limits[0])
    axes.set_ylim(*limits[1])
    axes.set_aspect("equal", adjustable="box")
    axes.set_xlabel("$x_1$")
    axes.set_ylabel("$x_2$")
    scatter = axes.scatter(np.zeros(0), np.zeros(0), s=9, alpha=0.75, linewidths=0, zorder=2)
    ellipses = add_ellipses(axes, n_components)
    centres = axes.scatter(
        np.zeros(n_components), np.zeros(n_components), marker="X", s=110, c=PALETTE[:n_components],
        edgecolors="k", zorder=4,
    )
    title = axes.set_title("")
    figure.set_dynamic([scatter, centres, title, *(patch for row in ellipses for patch in row)])
    return GMMFigure(figure, axes, scatter, ellipses, centres, title)


def draw_gmm_scene(parts, X, z, means, covariances, title):
    """Update the explorer's artists in place (the figure is never rebuilt)."""
    parts.scatter.set_offsets(X)
    parts.scatter.set_facecolors(component_colours(z))
    update_ellipses(parts.ellipses, means, covariances)
    parts.centres.set_offsets(means)
    parts.title.set_text(title)


# ----------------------------------------------------------------------------------------------
# The widget
# ----------------------------------------------------------------------------------------------
def _check_parameters(category_prob, means, covariance_matrices):
    """Raise ``ValueError`` unless the parameters describe a 2-D mixture the explorer can show."""
    n_components = len(category_prob)
    if means.ndim != 2 or means.shape[1] != 2 or len(means) != n_components:
        raise ValueError(f"gmm_explorer needs 2-D means of shape ({n_components}, 2); got {means.shape}")
    if covariance_matrices.shape != (n_components, 2, 2):
        raise ValueError(
            f"gmm_explorer needs covariance_matrices of shape ({n_components}, 2, 2); got {covariance_matrices.shape}"
        )
    if not 1 <= n_components <= MAX_GMM_COMPONENTS:
        raise ValueError(f"gmm_explorer shows 1 to {MAX_GMM_COMPONENTS} components; got {n_components}")


def _component_sliders(k, mean, covariance, weight, low, high):
    """Component ``k``'s sliders by name, starting at its mean, covariance and weight."""
    sigma_x, sigma_y, rho = sliders_from_covariance(covariance)
    # Values start snapped to the slider steps, as the browser would snap them: the kernel and
    # the page then agree on every value from the start.
    sliders = {
        "mean_x": snapped_slider(mean[0], low[0], high[0], 0.1, "μ x"),
        "mean_y": snapped_slider(mean[1], low[1], high[1], 0.1, "μ y"),
        "sigma_x": snapped_slider(sigma_x, 0.1, 3.0, 0.01, "σ x"),
        "sigma_y": snapped_slider(sigma_y, 0.1, 3.0, 0.01, "σ y"),
        "rho": snapped_slider(rho, -RHO_LIMIT, RHO_LIMIT, 0.01, "ρ"),
        "weight": snapped_slider(weight, 0.0, 1.0, 0.01, "weight"),
    }
    for name, slider in sliders.items():
        slider.layout = widgets.Layout(width="250px")
        slider.style = {"description_width": "50px"}
        slider.add_class(f"lab5-gmm-{name.replace('_', '-')}-{k}")
    return sliders


class GMMExplorer(widgets.VBox):
    """Sliders for a 2-D Gaussian mixture; samples drawn with the student's ``sample_gmm``.

    phi: each component has a non-negative *weight* slider; phi is the weights divided by their
    sum, so it always sums to 1, and the table shows the actual phi next to the sampled proportions.
    Covariances come from sigma_x, sigma_y > 0 and a correlation |rho| <= 0.95, so every slider
    setting is a valid (positive-definite) covariance.
    """

    def __init__(self, sample_gmm, category_prob, means, covariance_matrices, N=1000, seed=0):
        category_prob = np.asarray(category_prob, dtype=float)
        means = np.asarray(means, dtype=float)
        covariance_matrices = np.asarray(covariance_matrices, dtype=float)
        _check_parameters(category_prob, means, covariance_matrices)
        self.sample_gmm = sample_gmm
        self.n_components = len(category_prob)
        low = np.floor(means.min(axis=0)) - 4
        high = np.ceil(means.max(axis=0)) + 4
        self.limits = ((low[0] - 2, high[0] + 2), (low[1] - 2, high[1] + 2))

        self.component_sliders = []
        columns = []
        for k in range(self.n_components):
            sliders = _component_sliders(k, means[k], covariance_matrices[k], category_prob[k], low, high)
            for slider in sliders.values():
                slider.observe(self._on_change, names="value")
            self.component_sliders.append(sliders)
            header = widgets.HTML(f'<b style="color:{component_hex(k)}">component {k + 1}</b>')
            columns.append(widgets.VBox([header, *sliders.values()]))

        self.n_slider = widgets.IntSlider(value=N, min=10, max=5000, step=10, description="N")
        self.n_slider.add_class("lab5-gmm-n")
        self.seed_slider = widgets.IntSlider(value=seed, min=0, max=100, description="seed")
        self.seed_slider.add_class("lab5-gmm-seed")
        for slider in (self.n_slider, self.seed_slider):
            slider.observe(self._on_change, names="value")

        self.plot = image_widget("lab5-gmm-plot")
        self.table = widgets.HTML()
        self.table.add_class("lab5-gmm-proportions")
        self.table.add_class("lab5-proportions")
        self.note = note_widget("lab5-gmm-note")
        self.parts = build_gmm_figure(self.n_components, self.limits)
        self.X = self.z = None
        self.used_student_function = False
        super().__init__(
            [
                widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([self.n_slider, self.seed_slider]),
                widgets.HBox([self.plot, widgets.VBox([self.table, self.note], layout=widgets.Layout(width="360px"))]),
            ]
        )
        self.add_class("lab5-gmm-explorer")
        self.redraw()

    # -- model state read from the sliders ---------------------------------------------------
    @property
    def raw_weights(self):
        """The weight sliders' values (any non-negative numbers)."""
        return np.array([s["weight"].value for s in self.component_sliders])

    @property
    def phi(self):
        """The mixing proportions actually used: the weight sliders normalised to sum to 1."""
        return normalised_weights(self.raw_weights)

    @property
    def means(self):
        """(K, 2) means from the sliders."""
        return np.array([[s["mean_x"].value, s["mean_y"].value] for s in self.component_sliders])

    @property
    def covariances(self):
        """(K, 2, 2) covariances from the sigma and rho sliders."""
        return np.array(
            [covariance_from_sliders(s["sigma_x"].value, s["sigma_y"].value, s["rho"].value) for s in self.component_sliders]
        )

    # -- drawing ------------------------------------------------------------------------------
    def _on_change(self, _change):
        """A control changed: redraw."""
        self.redraw()

    def sample(self):
        """Samples and a note: the student's sampler when it works, else the reference (and why)."""
        N, seed = self.n_slider.value, self.seed_slider.value
        phi, means, covariances = self.phi, self.means, self.covariances
        try:
            X, z = try_student_sample(self.sample_gmm, N, phi, means, covariances, seed)
            return X, z, True, "Samples drawn with your sample_gmm."
        except Exception as error:  # any failure of student code: fall back, never a traceback
            X, z = library_sample(N, phi, means, covariances, seed)
            return X, z, False, (
                f"Using a reference sampler (NumPy's multinomial and multivariate_normal) because "
                f"{describe_error('sample_gmm', error)}."
            )

    def redraw(self):
        """Sample, update the artists and the table, render the PNG."""
        try:
            X, z, used_student, message = self.sample()
            if self.raw_weights.sum() <= 0:
                message += " All weights are 0, so φ is uniform."
            self.X, self.z, self.used_student_function = X, z, used_student
            draw_gmm_scene(self.parts, X, z, self.means, self.covariances,
                           f"N = {len(X)} samples, seed {self.seed_slider.value}")
            self.table.value = proportions_table(self.raw_weights, self.phi, z)
            self.note.value = note_html(message, used_student)
            self.plot.value = self.parts.figure.png()
        except Exception as error:  # a widget must never show a traceback; say what happened
            self.note.value = note_html(f"Could not draw this setting: {type(error).__name__}: {error}", False)


def gmm_explorer(sample_gmm, category_prob, means, covariance_matrices, N=1000, seed=0):
    """Sliders for each component's mean, sigma_x, sigma_y, rho and weight, plus N and a seed.

    Shows the samples coloured by component, 1-sigma and 2-sigma ellipses, and the sampled
    proportions next to phi. Uses your ``sample_gmm`` when it works.
    """
    return GMMExplorer(sample_gmm, category_prob, means, covariance_matrices, N=N, seed=seed)
