"""The K-means and EM steppers: step (or play) through the algorithm with the student's functions.

Both share :class:`Stepper` (K, seed, back / step / restart buttons and a Play button driving a
step slider), a :class:`Trajectory` of states computed on demand, and one figure: the data with
centroids or ellipses on the left, the objective curve on the right.
"""
import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from .common import (
    PALETTE,
    PngFigure,
    add_ellipses,
    component_colours,
    describe_error,
    grey_colours,
    image_widget,
    library_assignments,
    library_centroids,
    library_em_iteration,
    library_log_likelihood,
    library_responsibilities,
    note_html,
    note_widget,
    notes_html,
    responsibility_colours,
    try_student_assignments,
    try_student_centroids,
    try_student_e_step,
    try_student_m_step,
    update_ellipses,
)

MAX_KMEANS_ITERATIONS = 30
MAX_EM_ITERATIONS = 100
EM_TOLERANCE = 1e-6  # stop when the mean log-likelihood per point rises by less than this
MAX_EM_COMPONENTS = 6
CURVE_MARGIN = 0.05  # of the data range, on each side of the objective curve (matplotlib's default margin)
# A flat curve (one point, or converged values) still gets a y-range of at least this fraction of
# its magnitude: otherwise the ticks are ever finer fractions with long labels.
CURVE_MIN_RELATIVE_SPAN = 0.02


# ----------------------------------------------------------------------------------------------
# Shared: data checks, the figure, the objective curve's view
# ----------------------------------------------------------------------------------------------
def check_data(X, who):
    """X as a float (N, 2) array of finite values with N >= 2, else ``ValueError`` naming the widget."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) < 2 or not np.all(np.isfinite(X)):
        raise ValueError(f"{who} needs finite 2-D data X of shape (N, 2) with N >= 2; got shape {X.shape}")
    return X


def plot_limits(X, margin=0.1):
    """Axis limits around the data with a margin, so the view does not jump between steps."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


class CurveView(NamedTuple):
    """What the objective axes show: their limits, and whether the y tick labels are on."""

    xlim: tuple
    ylim: tuple
    y_labels: bool  # the y ticks and labels: off until there is a value to scale


def curve_view(steps, values):
    """The objective axes' view of the curve ``(steps, values)``, readable at every step.

    x runs from step 0 to the last step drawn, and to at least step 1: the integer locator then
    always has two whole steps to label (on a range of one step it falls back to fractions, whose
    labels overlap). y spans the values with a margin, widened to :data:`CURVE_MIN_RELATIVE_SPAN` of
    their magnitude (to 1 when they are all 0). Without a value yet, the y labels are off.
    """
    last = max(max(steps, default=0), 1)
    xlim = (-CURVE_MARGIN * last, (1 + CURVE_MARGIN) * last)
    if len(values) == 0:
        return CurveView(xlim, (0.0, 1.0), False)
    low, high = float(min(values)), float(max(values))
    magnitude = max(abs(low), abs(high))
    span = max(high - low, CURVE_MIN_RELATIVE_SPAN * magnitude if magnitude > 0 else 1.0)
    middle, half = (low + high) / 2, (0.5 + CURVE_MARGIN) * span
    return CurveView(xlim, (middle - half, middle + half), True)


def build_stepper_figure(limits, curve_label, n_components_max):
    """Left: the data, centroids/means, paths and ellipses; right: the objective curve."""
    figure = PngFigure(8.6, 3.9)
    data_axes = figure.figure.add_axes([0.06, 0.1, 0.5, 0.78])
    data_axes.set_xlim(*limits[0])
    data_axes.set_ylim(*limits[1])
    data_axes.set_aspect("equal", adjustable="box")
    curve_axes = figure.figure.add_axes([0.66, 0.12, 0.32, 0.76])
    curve_axes.set_xlabel("step")
    # "auto": as many step labels as the axis width has room for.
    curve_axes.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    # No offset ("+8.241e2" above the axis): every label reads as the objective's value.
    curve_axes.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
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
        "ellipses": add_ellipses(data_axes, n_components_max),
        "curve": curve_axes.plot([], [], "o-", color="k", ms=3, lw=1)[0],
        "current": curve_axes.plot([], [], "o", color="red", ms=8)[0],
        # A figure-level title: a step description is wider than the data axes.
        "title": figure.figure.text(0.01, 0.965, "", ha="left", va="top", fontsize=11),
    }
    figure.set_dynamic([parts["points"], parts["centres"], *parts["paths"], parts["curve"], parts["current"],
                        parts["title"], *(patch for row in parts["ellipses"] for patch in row)])
    return parts


def draw_curve(parts, steps, values, current_step, current_value):
    """Draw the objective curve and mark the current step; return the view (it keys the cached background)."""
    parts["curve"].set_data(steps, values)
    parts["current"].set_data(*(([current_step], [current_value]) if np.isfinite(current_value) else ([], [])))
    view = curve_view(steps, values)
    axes = parts["curve_axes"]
    axes.set_xlim(view.xlim)
    axes.set_ylim(view.ylim)
    axes.tick_params(axis="y", left=view.y_labels, labelleft=view.y_labels)
    return view


# ----------------------------------------------------------------------------------------------
# Shared: the trajectory and the controls
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
    """Common controls: K, a seed, back / step buttons and a Play button driving a step slider.

    Subclasses set ``css_prefix`` and ``max_states`` and define ``new_trajectory()`` (a
    :class:`Trajectory` for the current K and seed) and ``draw_state(index)``.
    """

    css_prefix: str
    max_states: int

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
        self.plot = image_widget(f"{self.css_prefix}-plot")
        self.status = widgets.HTML()
        self.status.add_class(f"{self.css_prefix}-status")
        self.note = note_widget(f"{self.css_prefix}-note")
        for control in (self.k_slider, self.seed_slider, *extra_controls):
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

    def _restart(self):
        """A new trajectory for the current setup, shown from step 0 (or a note if it cannot start)."""
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
        """Let the step slider and Play reach state ``last`` (the last state, once the algorithm has stopped)."""
        self.play.max = last
        self.step_slider.max = last

    def _on_setup_change(self, _change):
        """K, the seed or another setup control changed: stop playing and start over."""
        self.play.playing = False
        self._restart()

    def _on_step_change(self, change):
        """The step slider moved (by hand, a button or Play): show that step."""
        self.show(change["new"])

    def _move(self, delta):
        """Go ``delta`` steps forward or back, within the slider's range (redraw even if it stays put)."""
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

    def finished_text(self, index, state, converged_text):
        """What the status adds on the last state: why the algorithm ended there (else nothing)."""
        if index != len(self.trajectory.states) - 1 or not self.trajectory.finished:
            return ""
        return converged_text if state.get("converged") else " — stopped"


# ----------------------------------------------------------------------------------------------
# K-means
# ----------------------------------------------------------------------------------------------
def sum_of_squared_distances(X, centroids, labels):
    """The K-means objective: squared distance of every point to its own cluster's centroid."""
    return float(((X - centroids[labels]) ** 2).sum())


def init_dropdown(css_class):
    """The K-means initialisation choice.

    ipywidgets gives a description 80 px by default, which left the menu too narrow for
    "random data points" (it showed "random data poin"): a short label leaves it the room.
    """
    dropdown = widgets.Dropdown(
        options=[("random data points", "random"), ("k-means++", "k-means++")], value="random",
        description="init", style={"description_width": "40px"}, layout=widgets.Layout(width="240px"),
    )
    dropdown.add_class(css_class)
    return dropdown


class KMeansStepper(Stepper):
    """Step through K-means: initial centroids, then assignment and update steps until nothing changes."""

    css_prefix = "lab5-kmeans"
    max_states = 2 * MAX_KMEANS_ITERATIONS + 2

    def __init__(self, X, get_cluster_assignments, get_cluster_centroids, K=3):
        self.X = check_data(X, "kmeans_stepper")
        self.get_cluster_assignments = get_cluster_assignments
        self.get_cluster_centroids = get_cluster_centroids
        self.init_dropdown = init_dropdown(f"{self.css_prefix}-init")
        k_max = min(len(PALETTE), len(self.X))
        self.parts = build_stepper_figure(plot_limits(self.X), "sum of squared distances", k_max)
        super().__init__([self.init_dropdown], k_max=k_max, k_value=min(K, k_max))

    def initial_centroids(self):
        """K centroids for the chosen initialisation and seed."""
        K, seed = self.k_slider.value, self.seed_slider.value
        if self.init_dropdown.value == "k-means++":
            from sklearn.cluster import kmeans_plusplus

            centroids, _ = kmeans_plusplus(self.X, K, random_state=seed)
            return centroids
        rng = np.random.default_rng(seed)
        return self.X[rng.choice(len(self.X), K, replace=False)]

    def new_trajectory(self):
        """Starting from the initial centroids (no objective before the first assignment)."""
        first = {"phase": "init", "centroids": self.initial_centroids(), "labels": None, "objective": np.nan,
                 "fallbacks": []}
        return Trajectory(first, self._advance, self.max_states)

    def _advance(self, states):
        """The next state: an assignment after the start or an update, else an update."""
        last = states[-1]
        if last["phase"] in ("init", "update"):
            return self._assignment_step(last, states)
        return self._update_step(last)

    def _assignment_step(self, last, states):
        """Each point to its nearest centroid; the last state when no assignment changed."""
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
        """Each centroid to its cluster's mean."""
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
        """Show state ``index``: coloured points, centroids and their paths, the curve, status and notes."""
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
            if k < K:
                line.set_data(history[:, k, 0], history[:, k, 1])
            else:
                line.set_data([], [])
        update_ellipses(parts["ellipses"], None, None)
        steps = [i for i, s in enumerate(states) if np.isfinite(s["objective"])]
        view = draw_curve(parts, steps, [states[i]["objective"] for i in steps], index, state["objective"])
        iteration = sum(1 for s in states[: index + 1] if s["phase"] == "assign")
        phase_text = {
            "init": f"initial centroids ({self.init_dropdown.label})",
            "assign": f"iteration {iteration}: assign each point to its nearest centroid",
            "update": f"iteration {iteration}: move each centroid to its cluster's mean",
        }[state["phase"]]
        parts["title"].set_text(f"step {index}: {phase_text}")
        objective = "" if not np.isfinite(state["objective"]) else f" — sum of squared distances {state['objective']:.2f}"
        done = self.finished_text(index, state, " — converged: assignments did not change")
        self.status.value = f'<span class="lab5-step-text">step {index}: {html.escape(phase_text)}{objective}{done}</span>'
        self.note.value = notes_html(self.notes_for(index), "Using your get_cluster_assignments and get_cluster_centroids.")
        self.plot.value = parts["figure"].png(static_key=view)


def kmeans_stepper(X, get_cluster_assignments, get_cluster_centroids, K=3):
    """Step (or play) through K-means on X: choose K and the initialisation, watch the objective fall."""
    return KMeansStepper(X, get_cluster_assignments, get_cluster_centroids, K=K)


# ----------------------------------------------------------------------------------------------
# EM
# ----------------------------------------------------------------------------------------------
class EMStepper(Stepper):
    """Step through EM for a Gaussian mixture: E-steps shade points, M-steps move the ellipses."""

    css_prefix = "lab5-em"
    max_states = 2 * MAX_EM_ITERATIONS + 1

    def __init__(self, X, e_step, m_step, K=3):
        self.X = check_data(X, "em_stepper")
        self.e_step = e_step
        self.m_step = m_step
        k_max = max(min(MAX_EM_COMPONENTS, len(self.X) // 3), 1)  # a component needs a few points
        self.parts = build_stepper_figure(plot_limits(self.X), "log-likelihood", k_max)
        super().__init__([], k_max=k_max, k_value=min(K, k_max))

    def initial_parameters(self):
        """Means at K random data points, every covariance the data's covariance, equal weights."""
        K, seed = self.k_slider.value, self.seed_slider.value
        rng = np.random.default_rng(seed)
        means = self.X[rng.choice(len(self.X), K, replace=False)]
        covariances = np.repeat(np.cov(self.X.T)[None], K, axis=0)
        return np.full(K, 1.0 / K), means, covariances

    def new_trajectory(self):
        """Starting from :meth:`initial_parameters` and their log-likelihood."""
        weights, means, covariances = self.initial_parameters()
        first = {"phase": "init", "weights": weights, "means": means, "covariances": covariances,
                 "responsibilities": None, "fallbacks": [],
                 "log_likelihood": library_log_likelihood(self.X, weights, means, covariances)}
        return Trajectory(first, self._advance, self.max_states)

    def _advance(self, states):
        """The next state: an E-step after the start or an M-step, else an M-step."""
        last = states[-1]
        if last["phase"] in ("init", "m"):
            return self._e(last)
        return self._m(last, states)

    def _e(self, last):
        """The E-step: responsibilities under the last parameters."""
        fallbacks = []
        params = (last["weights"], last["means"], last["covariances"])
        try:
            responsibilities = try_student_e_step(self.e_step, self.X, *params)
        except Exception as error:
            fallbacks.append(f"{describe_error('e_step', error)}: using SciPy's multivariate_normal.logpdf "
                             "and softmax instead.")
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
        """The M-step: new parameters from the responsibilities; the last state once EM has converged."""
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
        """Show state ``index``: points shaded by responsibilities, ellipses, the curve, status and notes."""
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
        update_ellipses(parts["ellipses"], state["means"], state["covariances"])
        steps = [i for i, s in enumerate(states) if s["phase"] in ("init", "m")]
        view = draw_curve(parts, steps, [states[i]["log_likelihood"] for i in steps], index, state["log_likelihood"])
        iteration = sum(1 for s in states[1: index + 1] if s["phase"] == "e")
        phase_text = {
            "init": "initial parameters (means at random points)",
            "e": f"iteration {iteration}, E-step: responsibilities (colour mix)",
            "m": f"iteration {iteration}, M-step: new φ, means and covariances",
        }[state["phase"]]
        parts["title"].set_text(f"step {index}: {phase_text}")
        done = self.finished_text(index, state, " — converged")
        if state.get("stopped"):
            phase_text = "EM stopped (see the note below)"
        phi = ", ".join(f"{w:.2f}" for w in state["weights"])
        self.status.value = (f'<span class="lab5-step-text">step {index}: {html.escape(phase_text)} — '
                             f'log-likelihood {state["log_likelihood"]:.2f} — φ = [{phi}]{done}</span>')
        self.note.value = notes_html(self.notes_for(index), "Using your e_step and m_step.")
        self.plot.value = parts["figure"].png(static_key=view)


def em_stepper(X, e_step, m_step, K=3):
    """Step (or play) through EM on X: responsibilities shade the points, ellipses per component."""
    return EMStepper(X, e_step, m_step, K=K)
