"""Interactive widgets for lab 5: play with a Gaussian mixture, K-means, EM and colour quantisation.

Use them from the lab notebook::

    from lab5_widgets import gmm_explorer, kmeans_stepper, em_stepper, quantisation_explorer
    display(gmm_explorer(sample_gmm, category_prob, means, covariance_matrices))
    display(kmeans_stepper(X, get_cluster_assignments, get_cluster_centroids))
    display(em_stepper(X, e_step, m_step))
    display(quantisation_explorer(image))

Each factory returns an ipywidgets box. The widgets call *your* functions from the lab. While one
of them is unfinished (it raises ``NotImplementedError``) or returns something of the wrong shape,
the widget says so in a note and uses a library routine (scikit-learn / SciPy) instead, so the
pictures always work. The library routines are not written out here: finishing the lab is up to you.

Plots are rendered by matplotlib (Agg) into PNG images shown by ``ipywidgets.Image``: no extra
Jupyter extension is needed. Each widget keeps one figure and only updates its artists when a
control changes, so a redraw stays fast.
"""
import contextlib
import html
import inspect
import io
import math
import warnings

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator
from PIL import Image as PILImage

__all__ = ["gmm_explorer", "kmeans_stepper", "em_stepper", "quantisation_explorer"]

# Colours of components / clusters (matplotlib's tab10), as RGB in [0, 1].
PALETTE = np.array(
    [
        [0.122, 0.467, 0.706],
        [1.000, 0.498, 0.055],
        [0.173, 0.627, 0.173],
        [0.839, 0.153, 0.157],
        [0.580, 0.404, 0.741],
        [0.549, 0.337, 0.294],
        [0.890, 0.467, 0.761],
        [0.498, 0.498, 0.498],
        [0.737, 0.741, 0.133],
        [0.090, 0.745, 0.812],
    ]
)
UNASSIGNED_RGB = np.array([0.6, 0.6, 0.6])
SIGMA_LEVELS = (1, 2)  # ellipses drawn at 1 and 2 standard deviations
FIGURE_DPI = 80
PNG_COMPRESS_LEVEL = 1  # PNG size barely matters on localhost; encoding time does
RHO_LIMIT = 0.95  # correlation sliders stay inside (-1, 1): every setting is a valid covariance
MAX_GMM_COMPONENTS = len(PALETTE)
MAX_KMEANS_ITERATIONS = 30
MAX_EM_ITERATIONS = 100
EM_TOLERANCE = 1e-6  # stop when the mean log-likelihood per point rises by less than this
QUANTISE_DISPLAY_WIDTH = 320  # pixels; the quantised picture is computed at this size
QUANTISE_FIT_PIXELS = {"kmeans": 5000, "em": 1500}  # pixels sampled to fit each model

OK_STYLE = "color:#1a6b1a"
WARN_STYLE = "color:#8a4b00;background:#fff4e0;padding:2px 6px;border-left:3px solid #e69500"


class StudentFunctionError(Exception):
    """A student's function raised or returned something outside the course contract."""


# ----------------------------------------------------------------------------------------------
# Small pure helpers
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


def ellipse_geometry(covariance, n_sigma):
    """``(width, height, angle_degrees)`` of the n-sigma contour of a 2-D Gaussian."""
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]  # eigh sorts ascending: the last vector is the major axis
    angle = math.degrees(math.atan2(major[1], major[0]))
    width, height = 2 * n_sigma * np.sqrt(eigenvalues[::-1])
    return float(width), float(height), angle


def is_positive_definite(matrix):
    """True when ``matrix`` is symmetric with a Cholesky factor (so it is a valid covariance)."""
    matrix = np.asarray(matrix, dtype=float)
    if not np.all(np.isfinite(matrix)) or not np.allclose(matrix, matrix.T, rtol=1e-6, atol=1e-9):
        return False
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def component_colours(labels):
    """RGBA colour of every point from its integer component label."""
    labels = np.asarray(labels, dtype=int)
    rgba = np.ones((len(labels), 4))
    rgba[:, :3] = PALETTE[labels % len(PALETTE)]
    return rgba


def responsibility_colours(responsibilities):
    """RGBA colour of every point: the component colours mixed by its responsibilities."""
    responsibilities = np.asarray(responsibilities, dtype=float)
    rgba = np.ones((len(responsibilities), 4))
    rgba[:, :3] = np.clip(responsibilities @ PALETTE[: responsibilities.shape[1]], 0.0, 1.0)
    return rgba


def grey_colours(n_points):
    """RGBA for points not yet assigned to anything."""
    rgba = np.ones((n_points, 4))
    rgba[:, :3] = UNASSIGNED_RGB
    return rgba


def sum_of_squared_distances(X, centroids, labels):
    """The K-means objective: squared distance of every point to its own cluster's centroid."""
    return float(((X - centroids[labels]) ** 2).sum())


def describe_error(function_name, error):
    """One line for the student: which function failed and why."""
    if isinstance(error, NotImplementedError):
        return f"your {function_name} raised NotImplementedError (not written yet)"
    if isinstance(error, StudentFunctionError):
        return f"your {function_name} {error}"
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"your {function_name} raised {type(error).__name__}" + (f": {message}" if message else "")


def note_html(message, ok):
    """The coloured note shown under a widget."""
    style = OK_STYLE if ok else WARN_STYLE
    sign = "&#10004;" if ok else "&#9888;"
    return f'<div style="{style}">{sign} {html.escape(message)}</div>'


def _as_array(value, what, shape, integer=False):
    """``value`` as a finite float (or integer-valued) array of exactly ``shape``, else raise."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise StudentFunctionError(f"returned {what} that is not a numeric array") from None
    if array.shape != tuple(shape):
        raise StudentFunctionError(f"returned {what} with shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise StudentFunctionError(f"returned {what} containing NaN or infinity")
    if integer:
        if not np.allclose(array, np.round(array)):
            raise StudentFunctionError(f"returned {what} that are not whole numbers")
        return np.round(array).astype(int)
    return array


def _call_quietly(function, *args, **kwargs):
    """Call a student's function with its warnings and prints silenced.

    A widget callback has no cell to print to: debugging prints would pile up in Lab's log
    console, once per slider change.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Library-based fallbacks (used only while a student's function does not work)
# ----------------------------------------------------------------------------------------------
def _fitted_mixture(weights, means, covariances, random_state=None):
    """A scikit-learn GaussianMixture holding the given parameters, as if it had been fitted."""
    from sklearn.mixture import GaussianMixture

    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    mixture = GaussianMixture(n_components=len(means), covariance_type="full", random_state=random_state)
    mixture.weights_ = np.asarray(weights, dtype=float)
    mixture.means_ = means
    mixture.covariances_ = covariances
    # scikit-learn evaluates densities through Cholesky factors P of the precisions (P P^T = inverse covariance).
    mixture.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(covariances))
    mixture.precisions_ = np.linalg.inv(covariances)
    mixture.converged_ = True
    mixture.n_iter_ = 0
    mixture.lower_bound_ = -np.inf
    mixture.n_features_in_ = means.shape[1]
    return mixture


def library_sample(N, weights, means, covariances, seed):
    """Reference sampler: ``GaussianMixture.sample`` with set parameters (points shuffled)."""
    mixture = _fitted_mixture(weights, means, covariances, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, z = mixture.sample(N)
    order = np.random.default_rng(seed).permutation(N)  # sample() groups points by component
    return X[order], z[order].astype(int)


def library_assignments(X, centroids):
    """Nearest centroid of every point (scikit-learn's pairwise_distances_argmin)."""
    from sklearn.metrics import pairwise_distances_argmin

    return pairwise_distances_argmin(X, centroids)


def library_centroids(X, labels, n_clusters):
    """Mean of each cluster (scipy.ndimage.mean per coordinate); NaN rows for empty clusters."""
    from scipy import ndimage

    index = np.arange(n_clusters)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.column_stack([ndimage.mean(X[:, j], labels=labels, index=index) for j in range(X.shape[1])])


def library_responsibilities(X, weights, means, covariances):
    """Responsibilities from scikit-learn's GaussianMixture.predict_proba with set parameters."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _fitted_mixture(weights, means, covariances).predict_proba(X)


def library_em_iteration(X, weights, means, covariances):
    """One EM iteration by scikit-learn: GaussianMixture started at the given parameters, max_iter=1."""
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(
        n_components=len(means),
        covariance_type="full",
        weights_init=np.asarray(weights, dtype=float) / np.sum(weights),
        means_init=means,
        precisions_init=np.linalg.inv(covariances),
        max_iter=1,
    )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # ConvergenceWarning: one iteration is what we asked for
        mixture.fit(X)
    return mixture.weights_, mixture.means_, mixture.covariances_


def library_log_likelihood(X, weights, means, covariances):
    """Total log-likelihood of X under the mixture (scikit-learn's score times N)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(_fitted_mixture(weights, means, covariances).score(X) * len(X))


# ----------------------------------------------------------------------------------------------
# Calling student functions safely
# ----------------------------------------------------------------------------------------------
def _accepts_rng(function):
    """Whether a function takes an ``rng`` argument (the course contract says it should)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return "rng" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def try_student_sample(sample_gmm, N, weights, means, covariances, seed):
    """``(X, z)`` from the student's sampler, checked against the contract, or raise.

    The global NumPy generator is seeded for the call (and restored after), so a sampler that
    ignores ``rng`` and uses ``np.random`` still gives the same points for the same seed.
    """
    if not callable(sample_gmm):
        raise StudentFunctionError("is not a function")
    saved_state = np.random.get_state()
    np.random.seed(seed)
    try:
        kwargs = {"rng": seed} if _accepts_rng(sample_gmm) else {}
        result = _call_quietly(sample_gmm, N, weights.copy(), means.copy(), covariances.copy(), **kwargs)
    finally:
        np.random.set_state(saved_state)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise StudentFunctionError("did not return a pair (X, z)")
    X = _as_array(result[0], "X", (N, means.shape[1]))
    z = _as_array(result[1], "z", (N,), integer=True)
    if z.size and (z.min() < 0 or z.max() >= len(weights)):
        raise StudentFunctionError(f"returned component indices outside 0..{len(weights) - 1}")
    return X, z


def try_student_assignments(function, X, centroids):
    """The student's nearest-centroid labels, checked, or raise."""
    if not callable(function):
        raise StudentFunctionError("is not a function")
    labels = _as_array(_call_quietly(function, X.copy(), centroids.copy()), "assignments", (len(X),), integer=True)
    if labels.min() < 0 or labels.max() >= len(centroids):
        raise StudentFunctionError(f"returned cluster indices outside 0..{len(centroids) - 1}")
    return labels


def try_student_centroids(function, X, labels, n_clusters):
    """The student's cluster means as a (n_clusters, d) array (NaN rows for empty clusters), or raise.

    By the contract the function returns ``labels.max() + 1`` rows; empty clusters' rows are free.
    """
    if not callable(function):
        raise StudentFunctionError("is not a function")
    expected_rows = int(labels.max()) + 1
    with np.errstate(all="ignore"):
        raw = np.asarray(_call_quietly(function, X.copy(), labels.copy()), dtype=float)
    if raw.shape != (expected_rows, X.shape[1]):
        raise StudentFunctionError(f"returned shape {raw.shape}, expected {(expected_rows, X.shape[1])}")
    occupied = np.bincount(labels, minlength=n_clusters) > 0
    centroids = np.full((n_clusters, X.shape[1]), np.nan)
    centroids[:expected_rows] = raw
    if not np.all(np.isfinite(centroids[occupied])):
        raise StudentFunctionError("returned NaN or infinity for a non-empty cluster")
    centroids[~occupied] = np.nan
    return centroids


def try_student_e_step(function, X, weights, means, covariances):
    """The student's responsibilities, checked (shape, in [0, 1], rows sum to 1), or raise."""
    if not callable(function):
        raise StudentFunctionError("is not a function")
    result = _call_quietly(function, X.copy(), weights.copy(), means.copy(), covariances.copy())
    responsibilities = _as_array(result, "responsibilities", (len(X), len(means)))
    if np.any(responsibilities < -1e-9) or not np.allclose(responsibilities.sum(axis=1), 1.0, atol=1e-6):
        raise StudentFunctionError("returned responsibilities whose rows are not probabilities summing to 1")
    return responsibilities


def try_student_m_step(function, X, responsibilities):
    """The student's ``(weights, means, covariances)``, checked (shapes, valid covariances), or raise."""
    if not callable(function):
        raise StudentFunctionError("is not a function")
    n_components, d = responsibilities.shape[1], X.shape[1]
    result = _call_quietly(function, X.copy(), responsibilities.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise StudentFunctionError("did not return a triple (weights, means, covariances)")
    weights = _as_array(result[0], "weights", (n_components,))
    means = _as_array(result[1], "means", (n_components, d))
    covariances = _as_array(result[2], "covariances", (n_components, d, d))
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise StudentFunctionError("returned weights that do not sum to 1")
    if not all(is_positive_definite(c) for c in covariances):
        raise StudentFunctionError("returned a covariance that is not positive definite")
    return weights, means, covariances


# ----------------------------------------------------------------------------------------------
# Figures rendered to PNG
# ----------------------------------------------------------------------------------------------
class PngFigure:
    """A persistent matplotlib figure (no pyplot) that renders itself to PNG bytes.

    Blitting: the artists a control changes are marked *dynamic* (animated). The rest (axes,
    ticks, labels: most of the drawing time) is drawn once and kept as a pixel background, which
    is redrawn only when ``static_key`` (e.g. the axis limits) changes.
    """

    def __init__(self, width_inches, height_inches, dpi=FIGURE_DPI):
        self.figure = Figure(figsize=(width_inches, height_inches), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic = []
        self._background = None
        self._static_key = None

    def set_dynamic(self, artists):
        """The artists that change between redraws (drawn over the cached background)."""
        self.dynamic = sorted(artists, key=lambda artist: artist.get_zorder())
        for artist in self.dynamic:
            artist.set_animated(True)
        self._background = None

    def render(self, static_key=None):
        """Draw into the canvas: the background (cached unless ``static_key`` changed), then the dynamic artists."""
        if self._background is None or static_key != self._static_key:
            self.canvas.draw()  # animated (dynamic) artists are skipped here
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._static_key = static_key
        else:
            self.canvas.restore_region(self._background)
        for artist in self.dynamic:
            self.figure.draw_artist(artist)

    def png(self, static_key=None):
        """Render and encode as PNG (fast compression: size barely matters on a local connection)."""
        self.render(static_key)
        buffer = self.canvas.buffer_rgba()
        width, height = self.canvas.get_width_height()
        out = io.BytesIO()
        PILImage.frombuffer("RGBA", (width, height), buffer, "raw", "RGBA", 0, 1).save(
            out, format="PNG", compress_level=PNG_COMPRESS_LEVEL
        )
        return out.getvalue()


def _add_ellipses(axes, n_components):
    """Pre-create the 1-sigma and 2-sigma ellipse patches of every component (hidden for now)."""
    patches = []
    for k in range(n_components):
        row = []
        for level in SIGMA_LEVELS:
            patch = Ellipse(
                (0, 0), 1, 1, angle=0, fill=False, lw=2.0 if level == 1 else 1.2,
                ls="-" if level == 1 else "--", edgecolor=0.6 * PALETTE[k % len(PALETTE)], visible=False, zorder=3,
            )
            axes.add_patch(patch)
            row.append(patch)
        patches.append(row)
    return patches


def _update_ellipses(patches, means, covariances):
    """Move each component's ellipses to its mean and covariance; hide the unused ones."""
    for k, row in enumerate(patches):
        for level, patch in zip(SIGMA_LEVELS, row):
            if means is not None and k < len(means):
                width, height, angle = ellipse_geometry(covariances[k], level)
                patch.set_center(tuple(means[k]))
                patch.set_width(width)
                patch.set_height(height)
                patch.set_angle(angle)
                patch.set_visible(True)
            else:
                patch.set_visible(False)


def _plot_limits(X, margin=0.1):
    """Axis limits around the data with a margin, so the view does not jump between steps."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def _image_widget(css_class):
    image = widgets.Image(format="png", layout=widgets.Layout(width="auto", height="auto"))
    image.add_class(css_class)
    image.add_class("lab5-plot")
    return image


def _note_widget(css_class):
    note = widgets.HTML()
    note.add_class(css_class)
    note.add_class("lab5-note")
    return note


# ----------------------------------------------------------------------------------------------
# 1. GMM explorer
# ----------------------------------------------------------------------------------------------
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
    ellipses = _add_ellipses(axes, n_components)
    centres = axes.scatter(
        np.zeros(n_components), np.zeros(n_components), marker="X", s=110, c=PALETTE[:n_components],
        edgecolors="k", zorder=4,
    )
    title = axes.set_title("")
    figure.set_dynamic([scatter, centres, title, *(patch for row in ellipses for patch in row)])
    return figure, axes, scatter, ellipses, centres, title


def draw_gmm_scene(parts, X, z, means, covariances, title):
    """Update the explorer's artists in place (the figure is never rebuilt)."""
    _, _, scatter, ellipses, centres, title_artist = parts
    scatter.set_offsets(X)
    scatter.set_facecolors(component_colours(z))
    _update_ellipses(ellipses, means, covariances)
    centres.set_offsets(means)
    title_artist.set_text(title)


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
        n_components = len(category_prob)
        if means.ndim != 2 or means.shape[1] != 2 or len(means) != n_components:
            raise ValueError(f"gmm_explorer needs 2-D means of shape ({n_components}, 2); got {means.shape}")
        if covariance_matrices.shape != (n_components, 2, 2):
            raise ValueError(
                f"gmm_explorer needs covariance_matrices of shape ({n_components}, 2, 2); got {covariance_matrices.shape}"
            )
        if not 1 <= n_components <= MAX_GMM_COMPONENTS:
            raise ValueError(f"gmm_explorer shows 1 to {MAX_GMM_COMPONENTS} components; got {n_components}")
        self.sample_gmm = sample_gmm
        self.n_components = n_components
        low = np.floor(means.min(axis=0)) - 4
        high = np.ceil(means.max(axis=0)) + 4
        self.limits = ((low[0] - 2, high[0] + 2), (low[1] - 2, high[1] + 2))

        self.component_sliders = []
        columns = []
        for k in range(n_components):
            sigma_x, sigma_y, rho = sliders_from_covariance(covariance_matrices[k])
            # Values start snapped to the slider steps, as the browser would snap them: the
            # kernel and the page then agree on every value from the start.
            sliders = {
                "mean_x": snapped_slider(means[k, 0], low[0], high[0], 0.1, "μ x"),
                "mean_y": snapped_slider(means[k, 1], low[1], high[1], 0.1, "μ y"),
                "sigma_x": snapped_slider(sigma_x, 0.1, 3.0, 0.01, "σ x"),
                "sigma_y": snapped_slider(sigma_y, 0.1, 3.0, 0.01, "σ y"),
                "rho": snapped_slider(rho, -RHO_LIMIT, RHO_LIMIT, 0.01, "ρ"),
                "weight": snapped_slider(category_prob[k], 0.0, 1.0, 0.01, "weight"),
            }
            for name, slider in sliders.items():
                slider.layout = widgets.Layout(width="250px")
                slider.style = {"description_width": "50px"}
                slider.add_class(f"lab5-gmm-{name.replace('_', '-')}-{k}")
                slider.observe(self._on_change, names="value")
            self.component_sliders.append(sliders)
            colour = "#%02x%02x%02x" % tuple(int(255 * c) for c in PALETTE[k])
            header = widgets.HTML(f'<b style="color:{colour}">component {k + 1}</b>')
            columns.append(widgets.VBox([header, *sliders.values()]))

        self.n_slider = widgets.IntSlider(value=N, min=10, max=5000, step=10, description="N")
        self.n_slider.add_class("lab5-gmm-n")
        self.seed_slider = widgets.IntSlider(value=seed, min=0, max=100, description="seed")
        self.seed_slider.add_class("lab5-gmm-seed")
        for slider in (self.n_slider, self.seed_slider):
            slider.observe(self._on_change, names="value")

        self.plot = _image_widget("lab5-gmm-plot")
        self.table = widgets.HTML()
        self.table.add_class("lab5-gmm-proportions")
        self.table.add_class("lab5-proportions")
        self.note = _note_widget("lab5-gmm-note")
        self.parts = build_gmm_figure(n_components, self.limits)
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
        return np.array([s["weight"].value for s in self.component_sliders])

    @property
    def phi(self):
        """The mixing proportions actually used: the weight sliders normalised to sum to 1."""
        return normalised_weights(self.raw_weights)

    @property
    def means(self):
        return np.array([[s["mean_x"].value, s["mean_y"].value] for s in self.component_sliders])

    @property
    def covariances(self):
        return np.array(
            [covariance_from_sliders(s["sigma_x"].value, s["sigma_y"].value, s["rho"].value) for s in self.component_sliders]
        )

    # -- drawing ------------------------------------------------------------------------------
    def _on_change(self, _change):
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
                f"Using a reference sampler (scikit-learn GaussianMixture.sample) because "
                f"{describe_error('sample_gmm', error)}."
            )

    def redraw(self):
        """Sample, update the artists and the table, render the PNG."""
        try:
            X, z, used_student, message = self.sample()
            if self.raw_weights.sum() <= 0:
                message += " All weights are 0, so φ is uniform."
            self.X, self.z, self.used_student_function = X, z, used_student
            means, covariances = self.means, self.covariances
            draw_gmm_scene(self.parts, X, z, means, covariances, f"N = {len(X)} samples, seed {self.seed_slider.value}")
            self.table.value = self._proportions_table(z)
            self.note.value = note_html(message, used_student)
            self.plot.value = self.parts[0].png()
        except Exception as error:  # a widget must never show a traceback; say what happened
            self.note.value = note_html(f"Could not draw this setting: {type(error).__name__}: {error}", False)

    def _proportions_table(self, z):
        counts = np.bincount(z, minlength=self.n_components)
        rows = []
        for k, (weight, phi, count) in enumerate(zip(self.raw_weights, self.phi, counts)):
            colour = "#%02x%02x%02x" % tuple(int(255 * c) for c in PALETTE[k])
            rows.append(
                f'<tr class="lab5-component-{k}"><td style="color:{colour}">&#9679; {k + 1}</td><td>{weight:.2f}</td>'
                f'<td class="lab5-phi">{phi:.3f}</td><td class="lab5-count">{count}</td>'
                f'<td class="lab5-proportion">{count / max(len(z), 1):.3f}</td></tr>'
            )
        return (
            '<table style="border-collapse:collapse;text-align:right" cellpadding="3">'
            "<tr><th>comp.</th><th>weight</th><th>φ = w/Σw</th><th>count</th><th>sampled</th></tr>"
            + "".join(rows)
            + f'<tr><td colspan="3">total</td><td class="lab5-total">{len(z)}</td><td></td></tr></table>'
        )


def gmm_explorer(sample_gmm, category_prob, means, covariance_matrices, N=1000, seed=0):
    """Sliders for each component's mean, sigma_x, sigma_y, rho and weight, plus N and a seed.

    Shows the samples coloured by component, 1-sigma and 2-sigma ellipses, and the sampled
    proportions next to phi. Uses your ``sample_gmm`` when it works.
    """
    return GMMExplorer(sample_gmm, category_prob, means, covariance_matrices, N=N, seed=seed)


# ----------------------------------------------------------------------------------------------
# Steppers (shared): a trajectory of states computed incrementally, a step slider with Play
# ----------------------------------------------------------------------------------------------
class Trajectory:
    """States of an iterative algorithm, computed on demand by ``advance(states) -> state | None``."""

    def __init__(self, first_state, advance, max_states):
        self.states = [first_state]
        self.advance = advance
        self.max_states = max_states
        self.finished = False

    def ensure(self, index):
        """Compute states up to ``index`` (or until the algorithm stops); return the last index available."""
        while not self.finished and len(self.states) <= index:
            state = self.advance(self.states)
            if state is None:
                self.finished = True
                break
            self.states.append(state)
            if state.get("final") or len(self.states) >= self.max_states:
                self.finished = True
        return min(index, len(self.states) - 1)


class Stepper(widgets.VBox):
    """Common controls: K, a seed, back / step buttons and a Play button driving a step slider."""

    css_prefix = "lab5-stepper"
    max_states = 61

    def __init__(self, extra_controls, k_max, k_value):
        self.k_slider = widgets.IntSlider(value=k_value, min=1, max=k_max, description="K")
        self.seed_slider = widgets.IntSlider(value=0, min=0, max=100, description="seed")
        self.step_slider = widgets.IntSlider(value=0, min=0, max=self.max_states - 1, description="step")
        self.play = widgets.Play(value=0, min=0, max=self.max_states - 1, interval=700, description="play")
        widgets.jslink((self.play, "value"), (self.step_slider, "value"))
        self.back_button = widgets.Button(description="◀ back", layout=widgets.Layout(width="80px"))
        self.step_button = widgets.Button(description="step ▶", layout=widgets.Layout(width="80px"))
        self.reset_button = widgets.Button(description="restart", layout=widgets.Layout(width="80px"))
        for name, control in (
            ("k", self.k_slider), ("seed", self.seed_slider), ("step", self.step_slider), ("play", self.play),
            ("back", self.back_button), ("next", self.step_button), ("restart", self.reset_button),
        ):
            control.add_class(f"{self.css_prefix}-{name}")
        self.plot = _image_widget(f"{self.css_prefix}-plot")
        self.status = widgets.HTML()
        self.status.add_class(f"{self.css_prefix}-status")
        self.note = _note_widget(f"{self.css_prefix}-note")
        self.k_slider.observe(self._on_setup_change, names="value")
        self.seed_slider.observe(self._on_setup_change, names="value")
        for control in extra_controls:
            control.observe(self._on_setup_change, names="value")
        self.step_slider.observe(self._on_step_change, names="value")
        self.back_button.on_click(lambda _b: self._move(-1))
        self.step_button.on_click(lambda _b: self._move(+1))
        self.reset_button.on_click(lambda _b: self._move(-self.step_slider.value))
        super().__init__(
            [
                widgets.HBox([self.k_slider, *extra_controls, self.seed_slider], layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([self.reset_button, self.back_button, self.step_button, self.play, self.step_slider]),
                self.plot,
                self.status,
                self.note,
            ]
        )
        self.add_class(self.css_prefix)
        self.trajectory = None
        self._restart()

    # subclasses: new_trajectory() -> Trajectory, draw_state(index)
    def _restart(self):
        try:
            self.trajectory = self.new_trajectory()
        except Exception as error:
            self.trajectory = None
            self.note.value = note_html(f"Could not start: {type(error).__name__}: {error}", False)
            return
        self._set_step_range(self.max_states - 1)
        if self.step_slider.value != 0:
            self.step_slider.value = 0  # triggers the redraw
        else:
            self.show(0)

    def _set_step_range(self, last):
        # The slider's max shrinks to the last state once the algorithm has stopped.
        self.play.max = last
        self.step_slider.max = last

    def _on_setup_change(self, _change):
        self.play.playing = False
        self._restart()

    def _on_step_change(self, change):
        self.show(change["new"])

    def _move(self, delta):
        target = min(max(self.step_slider.value + delta, 0), self.step_slider.max)
        if target != self.step_slider.value:
            self.step_slider.value = target
        else:
            self.show(target)

    def show(self, index):
        """Compute states up to ``index`` if needed, then draw it (never raises)."""
        if self.trajectory is None:
            return
        try:
            if index >= len(self.trajectory.states) and not self.trajectory.finished:
                self.status.value = f"<i>computing steps up to {index}…</i>"  # sent at once, before the work
            available = self.trajectory.ensure(index)
            if self.trajectory.finished:
                self._set_step_range(len(self.trajectory.states) - 1)
            if available != index:
                self.play.playing = False
                self.step_slider.value = available  # re-enters show() for the last state
                return
            self.draw_state(index)
        except Exception as error:  # never a traceback at the student
            self.note.value = note_html(f"Could not draw step {index}: {type(error).__name__}: {error}", False)

    def notes_for(self, index):
        """The fallback notes met so far (a function failing once is worth saying)."""
        messages = []
        for state in self.trajectory.states[: index + 1]:
            for message in state.get("fallbacks", ()):
                if message not in messages:
                    messages.append(message)
        return messages


def build_stepper_figure(limits, curve_label, n_components_max):
    """Left: the data, centroids/means, paths and ellipses; right: the objective curve."""
    figure = PngFigure(8.6, 3.9)
    data_axes = figure.figure.add_axes([0.06, 0.1, 0.5, 0.78])
    data_axes.set_xlim(*limits[0])
    data_axes.set_ylim(*limits[1])
    data_axes.set_aspect("equal", adjustable="box")
    curve_axes = figure.figure.add_axes([0.66, 0.12, 0.32, 0.76])
    curve_axes.set_xlabel("step")
    curve_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    curve_axes.set_ylabel(curve_label)
    curve_axes.grid(alpha=0.3)
    parts = {
        "figure": figure,
        "data_axes": data_axes,
        "curve_axes": curve_axes,
        "points": data_axes.scatter(np.zeros(0), np.zeros(0), s=14, linewidths=0, zorder=2),
        "centres": data_axes.scatter(np.zeros(0), np.zeros(0), marker="X", s=160, edgecolors="k", zorder=5),
        "paths": [data_axes.plot([], [], "-", color=PALETTE[k % len(PALETTE)], lw=1.2, zorder=4)[0]
                  for k in range(n_components_max)],
        "ellipses": _add_ellipses(data_axes, n_components_max),
        "curve": curve_axes.plot([], [], "o-", color="k", ms=3, lw=1)[0],
        "current": curve_axes.plot([], [], "o", color="red", ms=8)[0],
        # A figure-level title: a step description is wider than the data axes.
        "title": figure.figure.text(0.01, 0.965, "", ha="left", va="top", fontsize=11),
    }
    figure.set_dynamic([parts["points"], parts["centres"], *parts["paths"], parts["curve"], parts["current"],
                        parts["title"], *(patch for row in parts["ellipses"] for patch in row)])
    return parts


def curve_limits(parts):
    """The objective axes' limits: the stepper's cached background is valid while they stay put."""
    axes = parts["curve_axes"]
    return tuple(np.round(axes.get_xlim(), 9)) + tuple(np.round(axes.get_ylim(), 9))


def _update_curve(parts, steps, values, current_step, current_value):
    parts["curve"].set_data(steps, values)
    if current_value is None or not np.isfinite(current_value):
        parts["current"].set_data([], [])
    else:
        parts["current"].set_data([current_step], [current_value])
    axes = parts["curve_axes"]
    axes.relim()
    axes.autoscale_view()


# ----------------------------------------------------------------------------------------------
# 2. K-means stepper
# ----------------------------------------------------------------------------------------------
def _check_data(X, who):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) < 2 or not np.all(np.isfinite(X)):
        raise ValueError(f"{who} needs finite 2-D data X of shape (N, 2) with N >= 2; got shape {X.shape}")
    return X


class KMeansStepper(Stepper):
    """Step through K-means: initial centroids, then assignment and update steps until nothing changes."""

    css_prefix = "lab5-kmeans"
    max_states = 2 * MAX_KMEANS_ITERATIONS + 2

    def __init__(self, X, get_cluster_assignments, get_cluster_centroids, K=3):
        self.X = _check_data(X, "kmeans_stepper")
        self.get_cluster_assignments = get_cluster_assignments
        self.get_cluster_centroids = get_cluster_centroids
        self.init_dropdown = widgets.Dropdown(
            options=[("random data points", "random"), ("k-means++", "k-means++")], value="random",
            description="init", layout=widgets.Layout(width="230px"),
        )
        self.init_dropdown.add_class(f"{self.css_prefix}-init")
        k_max = min(len(PALETTE), len(self.X))
        self.parts = build_stepper_figure(_plot_limits(self.X), "sum of squared distances", k_max)
        super().__init__([self.init_dropdown], k_max=k_max, k_value=min(K, k_max))

    def initial_centroids(self):
        K, seed = self.k_slider.value, self.seed_slider.value
        if self.init_dropdown.value == "k-means++":
            from sklearn.cluster import kmeans_plusplus

            centroids, _ = kmeans_plusplus(self.X, K, random_state=seed)
            return centroids
        rng = np.random.default_rng(seed)
        return self.X[rng.choice(len(self.X), K, replace=False)]

    def new_trajectory(self):
        first = {"phase": "init", "centroids": self.initial_centroids(), "labels": None, "objective": np.nan,
                 "fallbacks": []}
        return Trajectory(first, self._advance, self.max_states)

    def _advance(self, states):
        last = states[-1]
        if last["phase"] in ("init", "update"):
            return self._assignment_step(last, states)
        return self._update_step(last)

    def _assignment_step(self, last, states):
        centroids, fallbacks = last["centroids"], []
        try:
            labels = try_student_assignments(self.get_cluster_assignments, self.X, centroids)
        except Exception as error:
            labels = library_assignments(self.X, centroids)
            fallbacks.append(f"{describe_error('get_cluster_assignments', error)}: using scikit-learn's "
                             "pairwise_distances_argmin instead.")
        previous = [s for s in states if s["phase"] == "assign"]
        unchanged = bool(previous) and np.array_equal(previous[-1]["labels"], labels)
        iteration = len(previous) + 1
        return {
            "phase": "assign", "centroids": centroids, "labels": labels, "fallbacks": fallbacks,
            "objective": sum_of_squared_distances(self.X, centroids, labels),
            "final": unchanged or iteration > MAX_KMEANS_ITERATIONS, "converged": unchanged,
        }

    def _update_step(self, last):
        labels, fallbacks, K = last["labels"], [], len(last["centroids"])
        try:
            centroids = try_student_centroids(self.get_cluster_centroids, self.X, labels, K)
        except Exception as error:
            centroids = library_centroids(self.X, labels, K)
            fallbacks.append(f"{describe_error('get_cluster_centroids', error)}: using scipy.ndimage.mean instead.")
        empty = ~np.isfinite(centroids).all(axis=1)
        if empty.any():
            # An empty cluster has no mean: leave its centroid where it was (and say so).
            centroids[empty] = last["centroids"][empty]
            fallbacks.append(f"cluster(s) {', '.join(str(k + 1) for k in np.flatnonzero(empty))} empty: "
                             "centroid left where it was.")
        return {"phase": "update", "centroids": centroids, "labels": labels, "fallbacks": fallbacks,
                "objective": sum_of_squared_distances(self.X, centroids, labels)}

    def draw_state(self, index):
        states = self.trajectory.states
        state = states[index]
        parts, K = self.parts, len(state["centroids"])
        parts["points"].set_offsets(self.X)
        colours = grey_colours(len(self.X)) if state["labels"] is None else component_colours(state["labels"])
        parts["points"].set_facecolors(colours)
        parts["centres"].set_offsets(state["centroids"])
        parts["centres"].set_facecolors(component_colours(np.arange(K)))
        history = np.array([s["centroids"] for s in states[: index + 1]])  # (steps, K, 2)
        for k, line in enumerate(parts["paths"]):
            line.set_data(history[:, k, 0], history[:, k, 1]) if k < K else line.set_data([], [])
        _update_ellipses(parts["ellipses"], None, None)
        steps = [i for i, s in enumerate(states) if np.isfinite(s["objective"])]
        _update_curve(parts, steps, [states[i]["objective"] for i in steps], index, state["objective"])
        iteration = sum(1 for s in states[: index + 1] if s["phase"] == "assign")
        phase_text = {
            "init": f"initial centroids ({self.init_dropdown.label})",
            "assign": f"iteration {iteration}: assign each point to its nearest centroid",
            "update": f"iteration {iteration}: move each centroid to its cluster's mean",
        }[state["phase"]]
        parts["title"].set_text(f"step {index}: {phase_text}")
        objective = "" if not np.isfinite(state["objective"]) else f" — sum of squared distances {state['objective']:.2f}"
        done = ""
        if index == len(states) - 1 and self.trajectory.finished:
            done = " — converged: assignments did not change" if state.get("converged") else " — stopped"
        self.status.value = f'<span class="lab5-step-text">step {index}: {html.escape(phase_text)}{objective}{done}</span>'
        messages = self.notes_for(index)
        self.note.value = (
            "".join(note_html(m, False) for m in messages) if messages
            else note_html("Using your get_cluster_assignments and get_cluster_centroids.", True)
        )
        self.plot.value = parts["figure"].png(static_key=curve_limits(parts))


def kmeans_stepper(X, get_cluster_assignments, get_cluster_centroids, K=3):
    """Step (or play) through K-means on X: choose K and the initialisation, watch the objective fall."""
    return KMeansStepper(X, get_cluster_assignments, get_cluster_centroids, K=K)


# ----------------------------------------------------------------------------------------------
# 3. EM stepper
# ----------------------------------------------------------------------------------------------
class EMStepper(Stepper):
    """Step through EM for a Gaussian mixture: E-steps shade points, M-steps move the ellipses."""

    css_prefix = "lab5-em"
    max_states = 2 * MAX_EM_ITERATIONS + 1

    def __init__(self, X, e_step, m_step, K=3):
        self.X = _check_data(X, "em_stepper")
        self.e_step = e_step
        self.m_step = m_step
        k_max = min(6, len(self.X) // 3)
        self.parts = build_stepper_figure(_plot_limits(self.X), "log-likelihood", max(k_max, 1))
        super().__init__([], k_max=max(k_max, 1), k_value=min(K, max(k_max, 1)))

    def initial_parameters(self):
        """Means at K random data points, every covariance the data's covariance, equal weights."""
        K, seed = self.k_slider.value, self.seed_slider.value
        rng = np.random.default_rng(seed)
        means = self.X[rng.choice(len(self.X), K, replace=False)]
        covariances = np.repeat(np.cov(self.X.T)[None], K, axis=0)
        return np.full(K, 1.0 / K), means, covariances

    def new_trajectory(self):
        weights, means, covariances = self.initial_parameters()
        first = {"phase": "init", "weights": weights, "means": means, "covariances": covariances,
                 "responsibilities": None, "fallbacks": [],
                 "log_likelihood": library_log_likelihood(self.X, weights, means, covariances)}
        return Trajectory(first, self._advance, self.max_states)

    def _advance(self, states):
        last = states[-1]
        if last["phase"] in ("init", "m"):
            return self._e(last)
        return self._m(last, states)

    def _e(self, last):
        fallbacks = []
        params = (last["weights"], last["means"], last["covariances"])
        try:
            responsibilities = try_student_e_step(self.e_step, self.X, *params)
        except Exception as error:
            fallbacks.append(f"{describe_error('e_step', error)}: using scikit-learn's "
                             "GaussianMixture.predict_proba instead.")
            try:
                responsibilities = library_responsibilities(self.X, *params)
            except Exception as library_error:
                return self._stopped(last, fallbacks, library_error)
        return {**last, "phase": "e", "responsibilities": responsibilities, "fallbacks": fallbacks}

    @staticmethod
    def _stopped(last, fallbacks, error):
        """The final state when EM cannot go on (a component collapsed onto too few points)."""
        message = (f"EM stopped: a component collapsed onto too few points, so its covariance is singular "
                   f"({type(error).__name__}). Try another seed or a smaller K.")
        return {**last, "final": True, "stopped": True, "fallbacks": fallbacks + [message]}

    def _m(self, last, states):
        fallbacks = []
        try:
            weights, means, covariances = try_student_m_step(self.m_step, self.X, last["responsibilities"])
        except Exception as error:
            fallbacks.append(f"{describe_error('m_step', error)}: using one iteration of scikit-learn's "
                             "GaussianMixture (max_iter=1) from the previous parameters instead.")
            try:
                weights, means, covariances = library_em_iteration(
                    self.X, last["weights"], last["means"], last["covariances"])
            except Exception as library_error:
                return self._stopped(last, fallbacks, library_error)
        try:
            log_likelihood = library_log_likelihood(self.X, weights, means, covariances)
        except Exception as error:
            return self._stopped(last, fallbacks, error)
        if not np.isfinite(log_likelihood):
            return self._stopped(last, fallbacks, FloatingPointError("log-likelihood is not finite"))
        previous = last["log_likelihood"]
        iterations = sum(1 for s in states if s["phase"] == "m") + 1
        converged = abs(log_likelihood - previous) < EM_TOLERANCE * len(self.X)
        return {"phase": "m", "weights": weights, "means": means, "covariances": covariances,
                "responsibilities": last["responsibilities"], "log_likelihood": log_likelihood,
                "fallbacks": fallbacks, "converged": converged,
                "final": converged or iterations >= MAX_EM_ITERATIONS}

    def draw_state(self, index):
        states = self.trajectory.states
        state = states[index]
        parts = self.parts
        parts["points"].set_offsets(self.X)
        responsibilities = state["responsibilities"]
        parts["points"].set_facecolors(
            grey_colours(len(self.X)) if responsibilities is None else responsibility_colours(responsibilities))
        K = len(state["means"])
        parts["centres"].set_offsets(state["means"])
        parts["centres"].set_facecolors(component_colours(np.arange(K)))
        for line in parts["paths"]:
            line.set_data([], [])
        _update_ellipses(parts["ellipses"], state["means"], state["covariances"])
        steps = [i for i, s in enumerate(states) if s["phase"] in ("init", "m")]
        _update_curve(parts, steps, [states[i]["log_likelihood"] for i in steps], index, state["log_likelihood"])
        iteration = sum(1 for s in states[1: index + 1] if s["phase"] == "e")
        phase_text = {
            "init": "initial parameters (means at random points)",
            "e": f"iteration {iteration}, E-step: responsibilities (colour mix)",
            "m": f"iteration {iteration}, M-step: new φ, means and covariances",
        }[state["phase"]]
        parts["title"].set_text(f"step {index}: {phase_text}")
        done = ""
        if index == len(states) - 1 and self.trajectory.finished:
            done = " — converged" if state.get("converged") else " — stopped"
        if state.get("stopped"):
            phase_text = "EM stopped (see the note below)"
        phi = ", ".join(f"{w:.2f}" for w in state["weights"])
        self.status.value = (f'<span class="lab5-step-text">step {index}: {html.escape(phase_text)} — '
                             f'log-likelihood {state["log_likelihood"]:.2f} — φ = [{phi}]{done}</span>')
        messages = self.notes_for(index)
        self.note.value = ("".join(note_html(m, False) for m in messages) if messages
                           else note_html("Using your e_step and m_step.", True))
        self.plot.value = parts["figure"].png(static_key=curve_limits(parts))


def em_stepper(X, e_step, m_step, K=3):
    """Step (or play) through EM on X: responsibilities shade the points, ellipses per component."""
    return EMStepper(X, e_step, m_step, K=K)


# ----------------------------------------------------------------------------------------------
# 4. Colour quantisation
# ----------------------------------------------------------------------------------------------
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
    K = min(K, len(np.unique(sample, axis=0)))
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


def png_bytes(rgb):
    """PNG encoding of an (H, W, 3) uint8 image."""
    out = io.BytesIO()
    PILImage.fromarray(rgb).save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


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
        self.note = _note_widget("lab5-quant-note")
        self.cache = {}
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
        self.redraw()

    def redraw(self):
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
