"""What every widget shares: colours, the course contract checks, library fallbacks, PNG rendering.

* contract checks (``try_student_*``): call a student's function quietly and check what it
  returns against the course contract, or raise :class:`StudentFunctionError` saying what is wrong;
* fallbacks (``library_*``): library routines (NumPy, SciPy, scikit-learn) used while a student's
  function does not work yet;
* rendering: a persistent matplotlib figure encoded as PNG, the 1/2-sigma ellipses and the notes
  shown under a widget.
"""
import contextlib
import html
import inspect
import io
import math
import warnings

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from PIL import Image as PILImage

# Colours of components / clusters, as RGB rows in [0, 1]: component k is PALETTE[k].
PALETTE = np.array(matplotlib.colormaps["tab10"].colors)
UNASSIGNED_RGB = np.array([0.6, 0.6, 0.6])
SIGMA_LEVELS = (1, 2)  # ellipses drawn at 1 and 2 standard deviations
FIGURE_DPI = 80
PNG_COMPRESS_LEVEL = 1  # PNG size barely matters on localhost; encoding time does

OK_STYLE = "color:#1a6b1a"
WARN_STYLE = "color:#8a4b00;background:#fff4e0;padding:2px 6px;border-left:3px solid #e69500"


class StudentFunctionError(Exception):
    """A student's function raised or returned something outside the course contract."""


# ----------------------------------------------------------------------------------------------
# Colours and notes
# ----------------------------------------------------------------------------------------------
def component_hex(k):
    """Component ``k``'s colour as an HTML hex string (for the widgets' HTML labels)."""
    return to_hex(PALETTE[k % len(PALETTE)])


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


def notes_html(messages, ok_message):
    """The warning notes, one per message, or the single ok note when there is none."""
    if messages:
        return "".join(note_html(message, False) for message in messages)
    return note_html(ok_message, True)


# ----------------------------------------------------------------------------------------------
# Calling student functions and checking them against the contract
# ----------------------------------------------------------------------------------------------
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


def _require_callable(function):
    """Raise unless the student's name refers to a function (it may still be ``None``, say)."""
    if not callable(function):
        raise StudentFunctionError("is not a function")


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
    _require_callable(sample_gmm)
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
    _require_callable(function)
    labels = _as_array(_call_quietly(function, X.copy(), centroids.copy()), "assignments", (len(X),), integer=True)
    if labels.min() < 0 or labels.max() >= len(centroids):
        raise StudentFunctionError(f"returned cluster indices outside 0..{len(centroids) - 1}")
    return labels


def try_student_centroids(function, X, labels, n_clusters):
    """The student's cluster means as a (n_clusters, d) array (NaN rows for empty clusters), or raise.

    By the contract the function returns ``labels.max() + 1`` rows; empty clusters' rows are free.
    """
    _require_callable(function)
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
    _require_callable(function)
    result = _call_quietly(function, X.copy(), weights.copy(), means.copy(), covariances.copy())
    responsibilities = _as_array(result, "responsibilities", (len(X), len(means)))
    if np.any(responsibilities < -1e-9) or not np.allclose(responsibilities.sum(axis=1), 1.0, atol=1e-6):
        raise StudentFunctionError("returned responsibilities whose rows are not probabilities summing to 1")
    return responsibilities


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


def try_student_m_step(function, X, responsibilities):
    """The student's ``(weights, means, covariances)``, checked (shapes, valid covariances), or raise."""
    _require_callable(function)
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
# Library fallbacks (used only while a student's function does not work)
# ----------------------------------------------------------------------------------------------
def library_sample(N, weights, means, covariances, seed):
    """Reference sampler: multinomial component counts, then NumPy's multivariate normal draws.

    Points are shuffled: drawn component by component they would be grouped, and the scatter
    would paint the last component over the others.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(N, weights)
    X = np.concatenate([rng.multivariate_normal(mean, covariance, size=count)
                        for mean, covariance, count in zip(means, covariances, counts)])
    z = np.repeat(np.arange(len(counts)), counts)
    order = rng.permutation(N)
    return X[order], z[order]


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


def _component_log_probabilities(X, weights, means, covariances):
    """(N, K) array: log of each weight plus SciPy's Gaussian log-density of each point under each component.

    SciPy raises ``LinAlgError`` for a singular covariance: the EM stepper stops on it.
    """
    from scipy.stats import multivariate_normal

    log_densities = [np.reshape(multivariate_normal(mean, covariance).logpdf(X), len(X))
                     for mean, covariance in zip(means, covariances)]
    with np.errstate(divide="ignore"):  # a weight of 0 is allowed: that component explains no point
        return np.log(weights) + np.transpose(log_densities)


def library_responsibilities(X, weights, means, covariances):
    """Posterior component probabilities of every point: SciPy's softmax of the log-probabilities."""
    from scipy.special import softmax

    return softmax(_component_log_probabilities(X, weights, means, covariances), axis=1)


def library_log_likelihood(X, weights, means, covariances):
    """Total log-likelihood of X under the mixture: SciPy's logsumexp over components, summed."""
    from scipy.special import logsumexp

    return float(logsumexp(_component_log_probabilities(X, weights, means, covariances), axis=1).sum())


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


# ----------------------------------------------------------------------------------------------
# Rendering: figures to PNG, ellipses, the widgets' image and note areas
# ----------------------------------------------------------------------------------------------
def png_bytes(pixels):
    """PNG encoding of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 image."""
    out = io.BytesIO()
    PILImage.fromarray(np.asarray(pixels)).save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


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
        """Render and encode as PNG."""
        self.render(static_key)
        return png_bytes(self.canvas.buffer_rgba())


def ellipse_geometry(covariance, n_sigma):
    """``(width, height, angle_degrees)`` of the n-sigma contour of a 2-D Gaussian."""
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]  # eigh sorts ascending: the last vector is the major axis
    angle = math.degrees(math.atan2(major[1], major[0]))
    width, height = 2 * n_sigma * np.sqrt(eigenvalues[::-1])
    return float(width), float(height), angle


def add_ellipses(axes, n_components):
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


def update_ellipses(patches, means, covariances):
    """Move each component's ellipses to its mean and covariance; hide the unused ones (all if ``means`` is None)."""
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


def image_widget(css_class):
    """The ``Image`` a widget's plot is shown in (CSS classes for the browser tests)."""
    image = widgets.Image(format="png", layout=widgets.Layout(width="auto", height="auto"))
    image.add_class(css_class)
    image.add_class("lab5-plot")
    return image


def note_widget(css_class):
    """The HTML area for a widget's notes (which functions are used, why a fallback is)."""
    note = widgets.HTML()
    note.add_class(css_class)
    note.add_class("lab5-note")
    return note
