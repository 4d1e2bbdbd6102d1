"""Python-level tests of the lab's widgets (the package ``source/lab5/lab5_widgets/``).

They set slider values the way the browser does (assigning ``.value``) and assert on the model
state and on the drawn matplotlib artists: no browser needed (see ``tests/browser`` for that).
"""
import ast
import html
import itertools
import re

import numpy as np
import pytest

from autograder import reference
from autograder.course import GRADED_FUNCTIONS, SOURCE_DIR
from autograder.lab import CATEGORY_PROB, COVARIANCE_MATRICES, MEANS, lab_points
from benchmarks.bench_widgets import WIDGETS_PACKAGE, load_widgets

w = load_widgets()  # the package, as the notebook imports it
from lab5_widgets import common, gmm, quantisation, steppers  # noqa: E402  (importable once loaded)


def not_implemented(*args, **kwargs):
    """What every graded function does in the released notebook."""
    raise NotImplementedError()


class Spy:
    """Wraps a function and records its calls, to prove the widget used it."""

    def __init__(self, function):
        self.function = function
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        self.last_result = self.function(*args, **kwargs)
        return self.last_result


@pytest.fixture(scope="module")
def lab_X():
    return lab_points()[0]


def make_explorer(sample_gmm=reference.sample_gmm, **kwargs):
    return w.gmm_explorer(sample_gmm, CATEGORY_PROB, MEANS, COVARIANCE_MATRICES, **kwargs)


def note_text(widget):
    return widget.note.value


def is_ok_note(widget):
    return "&#10004;" in widget.note.value and "&#9888;" not in widget.note.value


# ------------------------------------------------------------------------------------------------
# The package itself: released to students, so no answers and no instructor imports
# ------------------------------------------------------------------------------------------------
def widget_sources():
    """Every module of the package: {file name: source text}."""
    sources = {path.name: path.read_text() for path in sorted(WIDGETS_PACKAGE.glob("*.py"))}
    assert "__init__.py" in sources and len(sources) > 1
    return sources


def test_package_defines_no_graded_function_and_imports_no_instructor_code():
    for name, source in widget_sources().items():
        tree = ast.parse(source)
        defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        assert not defined & set(GRADED_FUNCTIONS), f"{name}: the released helper must not contain the graded functions"
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert "autograder" not in imported, name


def test_package_holds_no_solution_or_hidden_test_code():
    """The fallbacks call libraries; no two consecutive lines of a solution (the release's scan, on source)."""
    import nbformat

    from autograder.course import NOTEBOOK_FILE
    from tests.test_course_files import leaked_lines, secret_regions

    regions = secret_regions(nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4))
    for name, source in widget_sources().items():
        assert not leaked_lines(regions, source), name


def test_package_exports_the_four_widgets():
    assert w.__all__ == ["gmm_explorer", "kmeans_stepper", "em_stepper", "quantisation_explorer"]
    assert all(callable(getattr(w, name)) for name in w.__all__)


# ------------------------------------------------------------------------------------------------
# Pure helpers
# ------------------------------------------------------------------------------------------------
def test_covariance_round_trips_through_the_sliders():
    for covariance in COVARIANCE_MATRICES:
        np.testing.assert_allclose(gmm.covariance_from_sliders(*gmm.sliders_from_covariance(covariance)), covariance)


def test_ellipse_geometry_of_a_rotated_gaussian():
    # Variances 4 and 1 along the diagonals: the major axis points at 45 degrees.
    rotation = np.array([[1, -1], [1, 1]]) / np.sqrt(2)
    covariance = rotation @ np.diag([4.0, 1.0]) @ rotation.T
    width, height, angle = common.ellipse_geometry(covariance, 2)
    assert width == pytest.approx(2 * 2 * 2.0)
    assert height == pytest.approx(2 * 2 * 1.0)
    assert angle % 180 == pytest.approx(45.0)


def test_normalised_weights_sum_to_one_and_handle_all_zero():
    np.testing.assert_allclose(gmm.normalised_weights([0.2, 0.2, 0.6]), [0.2, 0.2, 0.6])
    np.testing.assert_allclose(gmm.normalised_weights([1.0, 0.0, 1.0]), [0.5, 0.0, 0.5])
    np.testing.assert_allclose(gmm.normalised_weights([0.0, 0.0, 0.0]), [1 / 3] * 3)


def test_palette_is_matplotlibs_tab10_and_labels_use_its_hex_colours():
    import matplotlib
    from matplotlib.colors import to_hex

    np.testing.assert_array_equal(common.PALETTE, np.array(matplotlib.colormaps["tab10"].colors))
    explorer = make_explorer(N=50)
    for k in range(3):
        colour = to_hex(matplotlib.colormaps["tab10"].colors[k])
        assert f'<td style="color:{colour}">&#9679; {k + 1}</td>' in explorer.table.value
        assert f'color:{colour}">component {k + 1}</b>' in explorer.children[0].children[k].children[0].value


# ------------------------------------------------------------------------------------------------
# 1. GMM explorer
# ------------------------------------------------------------------------------------------------
def test_explorer_starts_from_the_notebook_parameters():
    explorer = make_explorer()
    np.testing.assert_allclose(explorer.means, MEANS)
    # sigma and rho start rounded to the sliders' 0.01 steps (the page snaps them anyway)
    np.testing.assert_allclose(explorer.covariances, COVARIANCE_MATRICES, atol=0.01)
    np.testing.assert_allclose(explorer.phi, CATEGORY_PROB)


def test_slider_values_start_on_their_step_grid():
    """The browser snaps a slider to its step; the kernel must hold the same value from the start."""
    explorer = make_explorer()
    for sliders in explorer.component_sliders:
        for slider in sliders.values():
            steps = (slider.value - slider.min) / slider.step
            assert steps == pytest.approx(round(steps), abs=1e-9), (slider.description, slider.value)


def test_every_slider_extreme_gives_a_positive_definite_covariance():
    explorer = make_explorer(N=50)
    sliders = explorer.component_sliders[0]
    for sigma_x, sigma_y, rho in itertools.product(
        (sliders["sigma_x"].min, sliders["sigma_x"].max),
        (sliders["sigma_y"].min, sliders["sigma_y"].max),
        (sliders["rho"].min, sliders["rho"].max),
    ):
        sliders["sigma_x"].value, sliders["sigma_y"].value, sliders["rho"].value = sigma_x, sigma_y, rho
        covariance = explorer.covariances[0]
        assert np.all(np.linalg.eigvalsh(covariance) > 0), (sigma_x, sigma_y, rho)
        assert is_ok_note(explorer), note_text(explorer)  # the student's sampler accepted it too
        width, height, _ = common.ellipse_geometry(covariance, 1)
        assert width > 0 and height > 0
    assert -1 < sliders["rho"].min and sliders["rho"].max < 1


def test_phi_always_sums_to_one_and_the_table_shows_it():
    explorer = make_explorer(N=200)
    rng = np.random.default_rng(1)
    settings = [rng.uniform(0, 1, 3) for _ in range(5)] + [np.zeros(3), np.array([1.0, 0.0, 0.0])]
    for weights in settings:
        for sliders, weight in zip(explorer.component_sliders, weights):
            sliders["weight"].value = round(float(weight), 2)
        phi = explorer.phi
        assert phi.sum() == pytest.approx(1.0)
        assert np.all(phi >= 0)
        for value in phi:
            assert f'<td class="lab5-phi">{value:.3f}</td>' in explorer.table.value
        # All weights at 0: uniform phi, and the note says so.
        assert ("All weights are 0" in note_text(explorer)) == (not np.any(explorer.raw_weights))


def test_a_component_with_zero_weight_gets_no_samples():
    explorer = make_explorer(N=300)
    explorer.component_sliders[1]["weight"].value = 0.0
    assert explorer.phi[1] == 0
    assert not np.any(explorer.z == 1)


def test_scatter_holds_n_points_with_the_component_colours():
    explorer = make_explorer()
    explorer.n_slider.value = 730
    explorer.seed_slider.value = 7
    scatter = explorer.parts[2]
    offsets = np.asarray(scatter.get_offsets())
    assert offsets.shape == (730, 2)
    np.testing.assert_array_equal(offsets, explorer.X)
    np.testing.assert_allclose(scatter.get_facecolors()[:, :3], common.PALETTE[explorer.z])
    counts = np.bincount(explorer.z, minlength=3)
    for k, count in enumerate(counts):
        assert f'<td class="lab5-count">{count}</td>' in explorer.table.value


def test_ellipses_follow_the_sliders():
    explorer = make_explorer(N=50)
    sliders = explorer.component_sliders[2]
    sliders["mean_x"].value, sliders["mean_y"].value = 2.5, -1.0
    sliders["sigma_x"].value, sliders["sigma_y"].value, sliders["rho"].value = 2.0, 0.5, 0.0
    one_sigma, two_sigma = explorer.parts[3][2]
    assert one_sigma.get_center() == pytest.approx((2.5, -1.0))
    assert (one_sigma.get_width(), one_sigma.get_height()) == pytest.approx((4.0, 1.0))
    assert (two_sigma.get_width(), two_sigma.get_height()) == pytest.approx((8.0, 2.0))


def test_the_students_sampler_is_used_when_it_works():
    spy = Spy(reference.sample_gmm)
    explorer = make_explorer(spy, N=400, seed=3)
    explorer.component_sliders[0]["rho"].value = 0.5
    args, kwargs = spy.calls[-1]
    N, phi, means, covariances = args
    assert N == 400 and kwargs == {"rng": 3}
    np.testing.assert_allclose(phi, explorer.phi)
    np.testing.assert_allclose(means, explorer.means)
    np.testing.assert_allclose(covariances, explorer.covariances)
    np.testing.assert_array_equal(explorer.X, spy.last_result[0])
    assert explorer.used_student_function
    assert "Samples drawn with your sample_gmm" in note_text(explorer)


def test_a_sampler_using_global_numpy_random_is_reproducible_and_leaves_the_global_state_alone():
    def global_sampler(N, category_prob, means, covariance_matrices, rng=None):
        z = np.random.choice(len(category_prob), size=N, p=category_prob)
        X = np.array([np.random.multivariate_normal(means[k], covariance_matrices[k]) for k in z])
        return X, z

    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    explorer = make_explorer(global_sampler, N=100)
    first = explorer.X.copy()
    explorer.seed_slider.value = 1
    explorer.seed_slider.value = 0
    np.testing.assert_array_equal(explorer.X, first)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert explorer.used_student_function


def _wrong_shape(N, category_prob, means, covariance_matrices, rng=None):
    X, z = reference.sample_gmm(N, category_prob, means, covariance_matrices, rng)
    return X.T, z


def _crashes(N, category_prob, means, covariance_matrices, rng=None):
    return means[len(means) + 5]


def _bad_labels(N, category_prob, means, covariance_matrices, rng=None):
    X, z = reference.sample_gmm(N, category_prob, means, covariance_matrices, rng)
    return X, z + 1


@pytest.mark.parametrize(
    "student, expected",
    [
        (not_implemented, "raised NotImplementedError"),
        (_wrong_shape, "returned X with shape (2, 500), expected (500, 2)"),
        (_crashes, "raised IndexError"),
        (_bad_labels, "component indices outside 0..2"),
        (None, "is not a function"),
    ],
)
def test_a_broken_sampler_falls_back_with_a_note_naming_it(student, expected):
    explorer = make_explorer(student, N=500)
    message = note_text(explorer)
    assert "sample_gmm" in message and expected in html.unescape(message)
    assert "reference sampler" in message and not explorer.used_student_function
    offsets = np.asarray(explorer.parts[2].get_offsets())
    assert offsets.shape == (500, 2)
    explorer.component_sliders[0]["weight"].value = 0.0  # still no traceback on a change
    assert not np.any(explorer.z == 0)


def test_fallback_sampler_proportions_match_phi():
    # 5,000 draws; each count is Binomial(5000, phi_k): 5 standard deviations fail with
    # probability below 6e-7 per component for any seed (and the seed is fixed).
    explorer = make_explorer(not_implemented, N=5000, seed=11)
    explorer.component_sliders[0]["weight"].value = 0.8
    phi = explorer.phi
    counts = np.bincount(explorer.z, minlength=3)
    sd = np.sqrt(5000 * phi * (1 - phi))
    assert np.all(np.abs(counts - 5000 * phi) < 5 * sd), (counts, 5000 * phi)
    for k in range(3):  # sample means near the slider means (5 standard errors)
        points = explorer.X[explorer.z == k]
        standard_error = np.sqrt(np.diag(explorer.covariances[k]) / len(points))
        assert np.all(np.abs(points.mean(axis=0) - explorer.means[k]) < 5 * standard_error)


def test_redraw_updates_the_same_figure_and_changes_the_picture():
    explorer = make_explorer(N=300)
    figure, scatter = explorer.parts[0].figure, explorer.parts[2]
    before = explorer.plot.value
    explorer.component_sliders[1]["mean_x"].value = 8.0
    assert explorer.parts[0].figure is figure and explorer.parts[2] is scatter
    assert explorer.plot.value != before and explorer.plot.value.tobytes().startswith(b"\x89PNG")


# ------------------------------------------------------------------------------------------------
# 2. K-means stepper
# ------------------------------------------------------------------------------------------------
def test_kmeans_stepper_uses_the_students_functions_and_the_objective_falls(lab_X):
    assign, update = Spy(reference.get_cluster_assignments), Spy(reference.get_cluster_centroids)
    stepper = w.kmeans_stepper(lab_X, assign, update)
    stepper.step_slider.value = stepper.step_slider.max  # play to the end
    states = stepper.trajectory.states
    assert stepper.trajectory.finished and states[-1]["converged"]
    assert stepper.step_slider.max == len(states) - 1 == stepper.play.max
    objectives = [s["objective"] for s in states[1:]]
    assert all(b <= a + 1e-9 for a, b in zip(objectives, objectives[1:]))
    assert assign.calls and update.calls
    assert "Using your get_cluster_assignments and get_cluster_centroids" in note_text(stepper)
    final = states[-1]
    np.testing.assert_array_equal(final["labels"], reference.get_cluster_assignments(lab_X, final["centroids"]))
    assert "converged" in stepper.status.value


def test_kmeans_stepper_draws_the_current_step(lab_X):
    stepper = w.kmeans_stepper(lab_X, reference.get_cluster_assignments, reference.get_cluster_centroids, K=4)
    stepper.step_slider.value = 0
    points = stepper.parts["points"]
    np.testing.assert_allclose(points.get_facecolors()[:, :3], np.tile(common.UNASSIGNED_RGB, (len(lab_X), 1)))
    stepper.step_button.click()
    state = stepper.trajectory.states[1]
    assert stepper.step_slider.value == 1 and state["phase"] == "assign"
    np.testing.assert_allclose(points.get_facecolors()[:, :3], common.PALETTE[state["labels"]])
    np.testing.assert_allclose(stepper.parts["centres"].get_offsets(), state["centroids"])
    stepper.back_button.click()
    assert stepper.step_slider.value == 0


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_kmeans_stepper_falls_back_with_a_note_and_still_converges(lab_X, init):
    stepper = w.kmeans_stepper(lab_X, not_implemented, not_implemented)
    stepper.init_dropdown.value = init
    stepper.step_slider.value = stepper.step_slider.max
    message = note_text(stepper)
    assert "get_cluster_assignments raised NotImplementedError" in message
    assert "get_cluster_centroids raised NotImplementedError" in message
    assert stepper.trajectory.states[-1]["converged"]


def test_kmeans_stepper_reports_a_wrong_shape(lab_X):
    def column_labels(X, centroid_locations):
        return reference.get_cluster_assignments(X, centroid_locations)[:, None]

    stepper = w.kmeans_stepper(lab_X, column_labels, reference.get_cluster_centroids)
    stepper.step_button.click()
    assert f"returned assignments with shape ({len(lab_X)}, 1), expected ({len(lab_X)},)" in note_text(stepper)


def test_kmeans_empty_cluster_keeps_its_centroid(lab_X):
    stepper = w.kmeans_stepper(lab_X, reference.get_cluster_assignments, reference.get_cluster_centroids)
    centroids = np.array([[0.0, 0.0], [5.0, 2.0], [100.0, 100.0]])  # nobody is near the third
    assignment = stepper._assignment_step({"phase": "init", "centroids": centroids}, [])
    update = stepper._update_step(assignment)
    np.testing.assert_allclose(update["centroids"][2], [100.0, 100.0])
    assert any("empty" in message for message in update["fallbacks"])


@pytest.mark.parametrize("functions, k_values", [
    ((reference.get_cluster_assignments, reference.get_cluster_centroids), None),  # every K
    ((not_implemented, not_implemented), (1, 3, 8)),  # the library path: the extremes and the default
], ids=["student", "fallback"])
def test_kmeans_every_k_and_init_draws_without_error(lab_X, functions, k_values):
    stepper = w.kmeans_stepper(lab_X, *functions)
    for init in ("random", "k-means++"):
        stepper.init_dropdown.value = init
        for K in k_values or range(stepper.k_slider.min, stepper.k_slider.max + 1):
            stepper.k_slider.value = K
            stepper.step_slider.value = stepper.step_slider.max
            assert "Could not" not in note_text(stepper)
            assert stepper.trajectory.finished


# ------------------------------------------------------------------------------------------------
# 3. EM stepper
# ------------------------------------------------------------------------------------------------
def test_em_stepper_uses_the_students_functions_and_the_log_likelihood_rises(lab_X):
    e_spy, m_spy = Spy(reference.e_step), Spy(reference.m_step)
    stepper = w.em_stepper(lab_X, e_spy, m_spy)
    stepper.step_slider.value = stepper.step_slider.max
    states = stepper.trajectory.states
    assert stepper.trajectory.finished and states[-1]["converged"]
    values = [s["log_likelihood"] for s in states if s["phase"] in ("init", "m")]
    assert all(b >= a - 1e-6 for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(reference.log_likelihood(lab_X, states[-1]["weights"], states[-1]["means"],
                                                                states[-1]["covariances"]))
    assert e_spy.calls and m_spy.calls
    assert "Using your e_step and m_step" in note_text(stepper)


def test_em_stepper_shades_points_by_responsibilities(lab_X):
    stepper = w.em_stepper(lab_X, reference.e_step, reference.m_step)
    stepper.step_slider.value = 1  # the first E-step
    state = stepper.trajectory.states[1]
    assert state["phase"] == "e"
    expected = reference.e_step(lab_X, state["weights"], state["means"], state["covariances"])
    np.testing.assert_allclose(stepper.parts["points"].get_facecolors()[:, :3], expected @ common.PALETTE[:3], atol=1e-9)
    stepper.step_slider.value = 2  # the M-step moves the ellipses to the new parameters
    m_state = stepper.trajectory.states[2]
    one_sigma = stepper.parts["ellipses"][0][0]
    assert one_sigma.get_center() == pytest.approx(tuple(m_state["means"][0]))


def test_em_fallback_matches_the_reference_trajectory(lab_X):
    good = w.em_stepper(lab_X, reference.e_step, reference.m_step)
    fallback = w.em_stepper(lab_X, not_implemented, not_implemented)
    for stepper in (good, fallback):
        stepper.step_slider.value = 10
    for a, b in zip(good.trajectory.states[:11], fallback.trajectory.states[:11]):
        assert a["log_likelihood"] == pytest.approx(b["log_likelihood"], rel=1e-6)
    message = note_text(fallback)
    assert "e_step raised NotImplementedError" in message and "m_step raised NotImplementedError" in message


def test_em_reports_a_non_positive_definite_covariance(lab_X):
    def bad_m_step(X, responsibilities):
        weights, means, covariances = reference.m_step(X, responsibilities)
        return weights, means, -covariances

    stepper = w.em_stepper(lab_X, reference.e_step, bad_m_step)
    stepper.step_slider.value = 2
    assert "m_step returned a covariance that is not positive definite" in note_text(stepper)


@pytest.mark.parametrize("functions, k_values, seeds", [
    ((reference.e_step, reference.m_step), None, (0, 1)),  # every K, two starts
    # The library path costs a scikit-learn fit per step: only the extremes of K.
    ((not_implemented, not_implemented), (1, 6), (0,)),
], ids=["student", "fallback"])
def test_em_every_k_draws_without_error(lab_X, functions, k_values, seeds):
    stepper = w.em_stepper(lab_X, *functions)
    for K in k_values or range(stepper.k_slider.min, stepper.k_slider.max + 1):
        stepper.k_slider.value = K
        for seed in seeds:
            stepper.seed_slider.value = seed
            stepper.step_slider.value = stepper.step_slider.max
            assert "Could not" not in note_text(stepper)
            assert stepper.trajectory.finished


def test_em_stops_with_a_note_when_a_component_collapses(lab_X):
    stepper = w.em_stepper(lab_X, not_implemented, not_implemented)
    collapsed = {"phase": "m", "weights": np.array([0.5, 0.5]), "means": lab_X[:2],
                 "covariances": np.zeros((2, 2, 2)), "responsibilities": None, "log_likelihood": -1e3, "fallbacks": []}
    state = stepper._e(collapsed)
    assert state["final"] and state["stopped"]
    assert any("EM stopped" in message for message in state["fallbacks"])


def test_library_fallbacks_match_the_reference_at_given_parameters(lab_X):
    """Responsibilities and log-likelihood at set parameters (one weight 0), with no fitted model needed."""
    weights, means = np.array([0.7, 0.3, 0.0]), np.array(MEANS)
    for covariances in (np.array(COVARIANCE_MATRICES), np.repeat(np.cov(lab_X.T)[None], 3, axis=0)):
        with np.errstate(divide="ignore"):
            expected = reference.e_step(lab_X, weights, means, covariances)
            expected_log_likelihood = reference.log_likelihood(lab_X, weights, means, covariances)
        np.testing.assert_allclose(common.library_responsibilities(lab_X, weights, means, covariances), expected,
                                   atol=1e-12)
        assert common.library_log_likelihood(lab_X, weights, means, covariances) == pytest.approx(
            expected_log_likelihood, rel=1e-12)


def test_package_sets_no_fitted_attribute_of_a_library_model():
    """scikit-learn's fitted attributes (``weights_``, ``precisions_cholesky_``...) are only read, never written."""
    for name, source in widget_sources().items():
        for node in ast.walk(ast.parse(source)):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                attribute = getattr(target, "attr", "")
                assert not (attribute.endswith("_") and not attribute.startswith("_")), (name, ast.unparse(node))


# ------------------------------------------------------------------------------------------------
# Steppers: the objective curve and the controls stay readable
# ------------------------------------------------------------------------------------------------
def drawn_tick_labels(parts):
    """``{"x": [...], "y": [...]}``: the objective axes' tick labels that are drawn, as (text, pixel box)."""
    figure, axes = parts["figure"], parts["curve_axes"]
    figure.render()
    renderer = figure.canvas.get_renderer()
    drawn = {}
    for name, axis in (("x", axes.xaxis), ("y", axes.yaxis)):
        low, high = sorted(axis.get_view_interval())
        position = 0 if name == "x" else 1
        drawn[name] = [(label.get_text(), label.get_window_extent(renderer)) for label in axis.get_majorticklabels()
                       if label.get_visible() and label.get_text()
                       and low - 1e-9 * (high - low) <= label.get_position()[position] <= high + 1e-9 * (high - low)]
    return drawn


def assert_readable_curve_axes(parts):
    """No two tick labels overlap, none is repeated, steps are whole numbers, no offset to add in one's head.

    (A power-of-ten multiplier such as "1e6" above the axis is fine: it is not an offset.)
    """
    drawn = drawn_tick_labels(parts)
    assert len(drawn["x"]) >= 2, drawn["x"]
    assert all(re.fullmatch(r"\u2212?\d+", text) for text, _ in drawn["x"]), [text for text, _ in drawn["x"]]
    for name, labels in drawn.items():
        texts = [text for text, _ in labels]
        assert len(set(texts)) == len(texts), (name, texts)
    axes, renderer = parts["curve_axes"], parts["figure"].canvas.get_renderer()
    assert axes.xaxis.get_offset_text().get_text() == ""
    multiplier = axes.yaxis.get_offset_text()
    assert re.fullmatch(r"(1e\u2212?\d+)?", multiplier.get_text()), multiplier.get_text()
    boxes = [(text, box) for labels in drawn.values() for text, box in labels]
    if multiplier.get_text():
        boxes.append((multiplier.get_text(), multiplier.get_window_extent(renderer)))
    for (text_a, a), (text_b, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"tick labels {text_a!r} and {text_b!r} overlap"


@pytest.mark.parametrize("which, step", [("em", 0), ("em", 1), ("em", 2), ("em", "last"), ("kmeans", 0),
                                         ("kmeans", 1), ("kmeans", "last")])
def test_curve_tick_labels_never_overlap(lab_X, which, step):
    """Step 0 of EM draws one point (and K-means none): the axes must still read cleanly."""
    stepper = (w.em_stepper(lab_X, reference.e_step, reference.m_step) if which == "em" else
               w.kmeans_stepper(lab_X, reference.get_cluster_assignments, reference.get_cluster_centroids))
    stepper.step_slider.value = stepper.step_slider.max if step == "last" else step
    if step == "last":
        assert stepper.trajectory.finished
    assert_readable_curve_axes(stepper.parts)
    y_labels = drawn_tick_labels(stepper.parts)["y"]
    # K-means has no objective before the first assignment: no y scale is shown then.
    assert (len(y_labels) == 0) == (which == "kmeans" and step == 0)


@pytest.mark.parametrize("values", [[-1296.31], [-824.13, -824.13 + 1e-7], [0.0, 0.0], [3.2e6, 3.2e6 + 0.5],
                                    [-1296.3, -824.1]], ids=["one point", "flat", "zero", "large flat", "wide"])
def test_curve_tick_labels_stay_readable_on_flat_or_single_values(lab_X, values):
    stepper = w.em_stepper(lab_X, reference.e_step, reference.m_step)
    steps = list(range(0, 2 * len(values), 2))
    view = steppers.draw_curve(stepper.parts, steps, values, steps[-1], values[-1])
    low, high = view.ylim
    assert low < min(values) and max(values) < high
    assert_readable_curve_axes(stepper.parts)
    assert len(drawn_tick_labels(stepper.parts)["y"]) >= 2


def test_kmeans_init_menu_is_wide_enough_for_its_longest_option(lab_X):
    """The menu's text room, by ipywidgets 8's CSS: its width minus the description and the select's padding.

    (``--jp-widgets-inline-label-width`` is 80 px when no description width is set; the label has an
    8 px right margin; the select 8 px padding left, 20 px right for its arrow, and a 1 px border.)
    The text is measured in DejaVu Sans at JupyterLab's 13 px UI font size.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    def pixels(css):
        assert css.endswith("px"), css
        return float(css[:-2])

    dropdown = w.kmeans_stepper(lab_X, reference.get_cluster_assignments, reference.get_cluster_centroids).init_dropdown
    room = (pixels(dropdown.layout.width) - pixels(dropdown.style.description_width or "80px")
            - 8 - (8 + 20) - 2 * 1)
    font = FontProperties(family="DejaVu Sans", size=13)
    widest = max(TextToPath().get_text_width_height_descent(label, font, ismath=False)[0]
                 for label, _ in dropdown.options)
    assert widest <= room, f"the longest option needs {widest:.0f} px; the menu leaves {room:.0f} px"


# ------------------------------------------------------------------------------------------------
# 4. Colour quantisation
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def blocky_image():
    """A 60x90 image of 6 flat colour blocks plus noise: quantisation must find the blocks."""
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(6, 3))
    image = np.repeat(np.repeat(colours.reshape(2, 3, 3), 30, axis=0), 30, axis=1).astype(float)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


def test_quantisation_side_by_side_with_k_colours(blocky_image):
    explorer = w.quantisation_explorer(blocky_image, K=6)
    for method in ("kmeans", "em"):
        explorer.method.value = method
        quantised = explorer.quantised
        assert quantised.shape == blocky_image.shape and quantised.dtype == np.uint8
        assert len(np.unique(quantised.reshape(-1, 3), axis=0)) <= 6
        assert np.abs(quantised.astype(int) - blocky_image).mean() < 6  # the blocks are recovered
        assert explorer.quantised_image.value.tobytes().startswith(b"\x89PNG")
    explorer.k_slider.value = 2
    assert len(np.unique(explorer.quantised.reshape(-1, 3), axis=0)) <= 2
    assert set(explorer.cache) == {("kmeans", 6), ("em", 6), ("em", 2)}


def test_quantisation_accepts_float_and_grey_images_and_rejects_bad_shapes(blocky_image):
    assert w.quantisation_explorer(blocky_image / 255.0, K=3).quantised.dtype == np.uint8
    assert w.quantisation_explorer(blocky_image[:, :, 0], K=3).quantised.shape == blocky_image.shape
    with pytest.raises(ValueError, match=r"needs an \(H, W, 3\) RGB image"):
        w.quantisation_explorer(np.zeros((4, 4, 5)))


def test_large_images_are_shown_at_display_width():
    image = np.zeros((427, 640, 3), dtype=np.uint8)
    assert quantisation.display_size(image).shape[1] <= quantisation.QUANTISE_DISPLAY_WIDTH


def _pixels(png):
    from PIL import Image
    import io

    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB")).astype(int)


def test_blitted_redraw_shows_the_same_picture_as_a_rebuilt_figure():
    """Redraws reuse a cached background; after several changes the picture must equal a fresh figure's."""
    explorer = make_explorer(N=400)
    explorer.component_sliders[0]["mean_x"].value = 3.0
    explorer.component_sliders[1]["rho"].value = -0.9
    explorer.seed_slider.value = 5
    fresh = gmm.build_gmm_figure(explorer.n_components, explorer.limits)
    gmm.draw_gmm_scene(fresh, explorer.X, explorer.z, explorer.means, explorer.covariances,
                     "N = 400 samples, seed 5")
    np.testing.assert_array_equal(_pixels(explorer.plot.value), _pixels(fresh[0].png()))


def test_stepper_redraw_matches_a_rebuilt_figure(lab_X):
    stepper = w.em_stepper(lab_X, reference.e_step, reference.m_step)
    stepper.step_slider.value = 12
    stepper.step_slider.value = 5  # back: the background (curve limits) is reused
    cached = _pixels(stepper.plot.value)
    stepper.parts = steppers.build_stepper_figure(steppers.plot_limits(lab_X), "log-likelihood", len(stepper.parts["ellipses"]))
    stepper.draw_state(5)
    np.testing.assert_array_equal(cached, _pixels(stepper.plot.value))


# ------------------------------------------------------------------------------------------------
# The notebook's use of the widgets, and the benchmark rows
# ------------------------------------------------------------------------------------------------
def test_notebook_shows_every_widget_only_outside_nbgrader():
    """Every widget the notebook displays sits under ``if SHOW_WIDGETS:`` (off while nbgrader runs it)."""
    import nbformat

    from autograder.course import NOTEBOOK_FILE

    notebook = nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4)
    shown = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))  # no magics
        for statement in ast.parse(code).body:
            calls = {node.func.id for node in ast.walk(statement)
                     if isinstance(node, ast.Call) and getattr(node.func, "id", None) in w.__all__}
            if calls:
                assert isinstance(statement, ast.If) and ast.unparse(statement.test) == "SHOW_WIDGETS", \
                    ast.unparse(statement)
                shown |= calls
    assert shown == set(w.__all__)
    assert any('SHOW_WIDGETS = not os.environ.get("NBGRADER_EXECUTION")' in c.source for c in notebook.cells)


def test_student_prints_do_not_leak_from_a_widget(capsys):
    def chatty(N, category_prob, means, covariance_matrices, rng=None):
        print("debugging my sampler")
        return reference.sample_gmm(N, category_prob, means, covariance_matrices, rng)

    explorer = make_explorer(chatty, N=50)
    explorer.seed_slider.value = 2
    assert explorer.used_student_function
    assert "debugging" not in capsys.readouterr().out


def test_benchmark_rows_are_produced():
    """The bench module runs and compares with a baseline (its numbers are read in ./course bench)."""
    from benchmarks import bench_widgets

    rows = bench_widgets.run(1)
    assert [row.unit for row in rows] == ["ms"] * 3
    for row in rows:
        assert row.value > 0 and row.baseline_value > 0 and row.baseline_name
        assert len(row.samples) == row.runs == bench_widgets.CHANGES_PER_REPEAT
