"""The colour-quantisation explorer: an image redrawn with K colours found by K-means or EM."""
import html
import math
import warnings

import ipywidgets as widgets
import numpy as np

from .common import note_html, note_widget, png_bytes

QUANTISE_DISPLAY_WIDTH = 320  # pixels; the quantised picture is computed at this size
QUANTISE_FIT_PIXELS = {"kmeans": 5000, "em": 1500}  # pixels sampled to fit each model


def as_rgb_uint8(image):
    """The image as an (H, W, 3) uint8 array (accepts uint8 or float in [0, 1], grey or RGBA)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f"quantisation_explorer needs an (H, W, 3) RGB image; got shape {image.shape}")
    image = image[:, :, :3]
    if image.dtype != np.uint8:
        image = image.astype(float)
        if image.max() <= 1.0:
            image = image * 255
        image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return image


def display_size(image, width=QUANTISE_DISPLAY_WIDTH):
    """The image subsampled to about ``width`` pixels wide (what the widget fits and shows)."""
    step = max(1, math.ceil(image.shape[1] / width))
    return np.ascontiguousarray(image[::step, ::step])


def quantise(pixels_image, K, method, seed=0):
    """Colour-quantise an (H, W, 3) uint8 image with K-means or EM fitted on a pixel sample."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    pixels = pixels_image.reshape(-1, 3).astype(float)
    rng = np.random.default_rng(seed)
    sample = pixels[rng.choice(len(pixels), min(len(pixels), QUANTISE_FIT_PIXELS[method]), replace=False)]
    K = min(K, len(np.unique(sample, axis=0)))  # a model cannot find more colours than the sample has
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if method == "kmeans":
            model = KMeans(n_clusters=K, n_init=1, random_state=seed).fit(sample)
            palette = model.cluster_centers_
        else:
            model = GaussianMixture(n_components=K, covariance_type="full", random_state=seed, max_iter=50).fit(sample)
            palette = model.means_
        labels = model.predict(pixels)
    return np.clip(np.round(palette[labels]), 0, 255).astype(np.uint8).reshape(pixels_image.shape)


class QuantisationExplorer(widgets.VBox):
    """K slider and K-means / EM toggle; the original and the quantised picture side by side."""

    def __init__(self, image, K=20):
        self.original = display_size(as_rgb_uint8(image))
        self.k_slider = widgets.IntSlider(value=K, min=2, max=32, description="K colours", continuous_update=False)
        self.k_slider.add_class("lab5-quant-k")
        self.method = widgets.ToggleButtons(options=[("K-means", "kmeans"), ("EM (Gaussian mixture)", "em")],
                                            value="kmeans", style={"button_width": "170px"})
        self.method.add_class("lab5-quant-method")
        self.original_image = widgets.Image(value=png_bytes(self.original), format="png")
        self.original_image.add_class("lab5-quant-original")
        self.quantised_image = widgets.Image(format="png")
        self.quantised_image.add_class("lab5-quant-quantised")
        self.quantised_image.add_class("lab5-plot")
        self.status = widgets.HTML()
        self.status.add_class("lab5-quant-status")
        self.note = note_widget("lab5-quant-note")
        self.cache = {}  # (method, K) -> quantised image: going back to a setting costs nothing
        self.quantised = None
        self.k_slider.observe(self._on_change, names="value")
        self.method.observe(self._on_change, names="value")
        caption = widgets.Layout(align_items="center")
        super().__init__([
            widgets.HBox([self.k_slider, self.method]),
            widgets.HBox([
                widgets.VBox([widgets.HTML("<b>original</b>"), self.original_image], layout=caption),
                widgets.VBox([self.status, self.quantised_image], layout=caption),
            ]),
            self.note,
        ])
        self.add_class("lab5-quant-explorer")
        self.redraw()

    def _on_change(self, _change):
        """A control changed: redraw."""
        self.redraw()

    def redraw(self):
        """Quantise with the current method and K (or take it from the cache) and show it."""
        key = (self.method.value, self.k_slider.value)
        label = f"{self.method.label}, K = {key[1]}"
        try:
            if key not in self.cache:
                self.status.value = f"<i>fitting {html.escape(label)} on a pixel sample…</i>"
                self.cache[key] = quantise(self.original, key[1], key[0])
            self.quantised = self.cache[key]
            colours = len(np.unique(self.quantised.reshape(-1, 3), axis=0))
            self.quantised_image.value = png_bytes(self.quantised)
            self.status.value = f'<b class="lab5-quant-label">{html.escape(label)}</b> ({colours} colours)'
            self.note.value = ""
        except Exception as error:  # never a traceback at the student
            self.note.value = note_html(f"Could not quantise ({label}): {type(error).__name__}: {error}", False)


def quantisation_explorer(image, K=20):
    """Colour quantisation of ``image``: K slider, K-means/EM toggle, original and quantised side by side."""
    return QuantisationExplorer(image, K=K)
