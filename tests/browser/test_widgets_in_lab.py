"""The lab's widgets in a real JupyterLab 4 page (Debian chromium, Playwright), as students use them.

Which notebook: the *released* notebook (``release/lab5``, or generated now by nbgrader if absent)
in a temporary Lab root, in two forms:

* ``completed.ipynb`` — the release with every solution cell filled in from ``source/`` (a
  student who finished the lab). "Run All" then goes through, and all four widgets must render.
* ``release.ipynb`` — the release untouched. "Run All" stops at the first ``NotImplementedError``
  (a quick check), so the test runs the widget cell itself, as a student trying it early would:
  the widget must render with the fallback note instead of a traceback.

The widget package is the one under test, ``source/lab5/lab5_widgets/``. Screenshots are saved
under ``artifacts/screenshots/``.
"""
import math
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import open_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

RUN_ALL_TIMEOUT = 150_000  # ms: the completed notebook runs in about 15-30 s here
WIDGET_ERRORS = ("Error displaying widget", "model not found", "Traceback")


# ------------------------------------------------------------------------------------------------
# Page helpers
# ------------------------------------------------------------------------------------------------
def run_all(page, attempts=3):
    """Run ▸ Run All Cells, then check the first code cell really started (retry if dropped)."""
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_function("el => /\\[(\\*|\\d+)\\]/.test(el.textContent)", arg=first_prompt.element_handle(),
                                   timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail("Run All Cells never started the first cell")


def assert_no_widget_errors(page):
    text = page.locator(".jp-Notebook").inner_text()
    for message in WIDGET_ERRORS:
        assert message not in text, f"the page shows {message!r}"


def slider_value(widget, css_class):
    """A slider's value as the page shows it: its readout (2 decimals = the step; Unicode minus).

    (The handle's aria-valuenow is rounded to fewer decimals, so it is not used.)
    """
    text = widget.locator(f".{css_class} .widget-readout").inner_text()
    return float(text.strip().replace("\u2212", "-").replace(",", ""))


def image_source(locator):
    return locator.get_attribute("src")


def wait_for_new_image(page, locator, old_source, timeout=20_000):
    """Wait until the widget's <img> shows a new PNG (its blob URL changes with every update)."""
    page.wait_for_function("([el, old]) => el.getAttribute('src') && el.getAttribute('src') !== old",
                           arg=[locator.element_handle(), old_source], timeout=timeout)
    return image_source(locator)


def proportions_table(explorer):
    """The explorer's table as {component: (phi, count, proportion)} and the total."""
    rows = {}
    for k in range(3):
        row = explorer.locator(f"tr.lab5-component-{k}")
        rows[k] = (float(row.locator(".lab5-phi").inner_text()), int(row.locator(".lab5-count").inner_text()),
                   float(row.locator(".lab5-proportion").inner_text()))
    return rows, int(explorer.locator(".lab5-total").inner_text())


def expected_phi(explorer):
    weights = [slider_value(explorer, f"lab5-gmm-weight-{k}") for k in range(3)]
    total = sum(weights)
    return [w / total for w in weights] if total > 0 else [1 / 3] * 3


def wait_for_table(page, explorer, phi, n_points, timeout=20_000):
    """Wait until the table shows the phi and N computed here (each key press is its own update)."""
    expected = [f"{p:.3f}" for p in phi]
    try:
        _wait_for_cells(page, explorer, expected, n_points, timeout)
    except PlaywrightTimeout:
        rows, total = proportions_table(explorer)
        pytest.fail(f"the table shows {rows} (total {total}); expected phi {expected} and N = {n_points}")


def _wait_for_cells(page, explorer, expected, n_points, timeout):
    page.wait_for_function(
        """([root, expected, total]) => {
            const cells = [...root.querySelectorAll('td.lab5-phi')].map(td => td.textContent);
            const shown = root.querySelector('td.lab5-total');
            return shown && shown.textContent === String(total) && JSON.stringify(cells) === JSON.stringify(expected);
        }""",
        arg=[explorer.element_handle(), expected, n_points], timeout=timeout,
    )


def assert_counts_follow_phi(rows, total, phi):
    """Counts add up to N, and each is within 5 binomial standard deviations of N*phi.

    False-failure probability below 6e-7 per component for a correct sampler (normal tail at 5 sd;
    the sampler is also seeded, so a pass is reproducible). A component with phi = 0 gets exactly 0.
    """
    assert sum(count for _, count, _ in rows.values()) == total
    for k, (shown_phi, count, proportion) in rows.items():
        assert shown_phi == pytest.approx(phi[k], abs=5e-4)
        assert proportion == pytest.approx(count / total, abs=5e-4)
        sd = math.sqrt(total * phi[k] * (1 - phi[k]))
        assert abs(count - total * phi[k]) <= 5 * sd, (k, count, total * phi[k])


def menu_text_room(select):
    """``{"widest": px, "room": px}``: the widest option's text and the room a <select> has for it.

    Measured with the select's own font; the room is its inner width minus its padding (the
    arrow sits in the right padding).
    """
    return select.evaluate("""el => {
        const style = getComputedStyle(el);
        const context = document.createElement('canvas').getContext('2d');
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const widest = Math.max(...[...el.options].map(option => context.measureText(option.text).width));
        return {widest, room: el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)};
    }""")


def shoot(page, locator, screenshots, name):
    path = screenshots / f"{name}.png"
    locator.screenshot(path=str(path))
    return path.read_bytes()


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------
def test_completed_lab_widgets_render_and_respond(page, lab_server, screenshots):
    open_notebook(page, lab_server, "completed.ipynb")
    run_all(page)
    quantiser = page.locator(".lab5-quant-explorer")
    quantiser.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT)  # the last widget of the notebook
    explorer = page.locator(".lab5-gmm-explorer")
    kmeans = page.locator(".lab5-kmeans")
    em = page.locator(".lab5-em")
    for widget in (explorer, kmeans, em, quantiser):
        widget.wait_for(state="visible")
        widget.locator(".lab5-plot").first.wait_for(state="visible")
    assert_no_widget_errors(page)
    assert "Samples drawn with your sample_gmm" in explorer.locator(".lab5-gmm-note").inner_text()
    assert "Using your get_cluster_assignments and get_cluster_centroids" in kmeans.locator(".lab5-note").inner_text()
    assert "Using your e_step and m_step" in em.locator(".lab5-note").inner_text()

    # --- GMM explorer: the notebook's parameters first -------------------------------------
    explorer.scroll_into_view_if_needed()
    plot = explorer.locator(".lab5-gmm-plot")
    n_points = int(slider_value(explorer, "lab5-gmm-n"))
    wait_for_table(page, explorer, expected_phi(explorer), n_points)
    rows, total = proportions_table(explorer)
    assert_counts_follow_phi(rows, total, expected_phi(explorer))
    before = shoot(page, explorer, screenshots, "gmm-explorer-initial")
    source = image_source(plot)

    # Keyboard: component 2's weight to its maximum (End), component 3's to 0 (Home).
    explorer.locator(".lab5-gmm-weight-1 .noUi-handle").focus()
    page.keyboard.press("End")
    explorer.locator(".lab5-gmm-weight-2 .noUi-handle").focus()
    page.keyboard.press("Home")
    assert slider_value(explorer, "lab5-gmm-weight-1") == 1.0
    assert slider_value(explorer, "lab5-gmm-weight-2") == 0.0
    phi = expected_phi(explorer)
    assert phi[2] == 0 and phi[1] == pytest.approx(1 / (1 + slider_value(explorer, "lab5-gmm-weight-0")))
    wait_for_table(page, explorer, phi, n_points)
    source = wait_for_new_image(page, plot, source)
    rows, total = proportions_table(explorer)
    assert_counts_follow_phi(rows, total, phi)
    assert rows[2][1] == 0  # phi = 0: not a single point from component 3
    after_keys = shoot(page, explorer, screenshots, "gmm-explorer-after-keyboard")
    assert after_keys != before

    # Mouse: drag the N slider's handle to the right; the table must follow the new N.
    handle = explorer.locator(".lab5-gmm-n .noUi-handle")
    track = explorer.locator(".lab5-gmm-n .noUi-base").bounding_box()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.6 * track["width"], box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    new_n = int(slider_value(explorer, "lab5-gmm-n"))
    assert new_n > n_points + 1000
    wait_for_table(page, explorer, phi, new_n)
    source = wait_for_new_image(page, plot, source)
    rows, total = proportions_table(explorer)
    assert total == new_n
    assert_counts_follow_phi(rows, total, phi)

    # Mouse: click the middle of component 3's weight track: it gets a weight again.
    track = explorer.locator(".lab5-gmm-weight-2 .noUi-base").bounding_box()
    page.mouse.click(track["x"] + 0.5 * track["width"], track["y"] + track["height"] / 2)
    page.wait_for_function("el => Number(el.textContent) > 0",
                           arg=explorer.locator(".lab5-gmm-weight-2 .widget-readout").element_handle())
    phi = expected_phi(explorer)
    assert phi[2] > 0
    wait_for_table(page, explorer, phi, new_n)
    wait_for_new_image(page, plot, source)
    rows, total = proportions_table(explorer)
    assert_counts_follow_phi(rows, total, phi)
    assert rows[2][1] > 0
    shoot(page, explorer, screenshots, "gmm-explorer-after-mouse")

    # --- K-means stepper: two steps with the button ------------------------------------------
    kmeans.scroll_into_view_if_needed()
    init_menu = kmeans.locator(".lab5-kmeans-init select")
    assert init_menu.input_value() == "random data points"  # ipywidgets uses the labels as option values
    fit = menu_text_room(init_menu)
    assert fit["widest"] <= fit["room"], f"the init menu cuts its text: {fit}"
    plot = kmeans.locator(".lab5-kmeans-plot")
    source = image_source(plot)
    kmeans.locator("button.lab5-kmeans-next").click()
    kmeans.locator(".lab5-kmeans-status", has_text="step 1: iteration 1: assign").wait_for()
    source = wait_for_new_image(page, plot, source)
    kmeans.locator("button.lab5-kmeans-next").click()
    kmeans.locator(".lab5-kmeans-status", has_text="step 2: iteration 1: move each centroid").wait_for()
    source = wait_for_new_image(page, plot, source)
    shoot(page, kmeans, screenshots, "kmeans-stepper-step-2")
    # Play (the first button of the Play widget) runs through the remaining steps to convergence.
    kmeans.locator(".lab5-kmeans-play button").first.click()
    kmeans.locator(".lab5-kmeans-status", has_text="converged").wait_for(timeout=60_000)
    wait_for_new_image(page, plot, source)
    assert int(slider_value(kmeans, "lab5-kmeans-step")) > 2
    shoot(page, kmeans, screenshots, "kmeans-stepper-played")

    # --- EM stepper: End on the step slider runs EM to convergence -----------------------------
    em.scroll_into_view_if_needed()
    plot = em.locator(".lab5-em-plot")
    em.locator(".lab5-em-status", has_text="step 0: initial parameters").wait_for()
    shoot(page, em, screenshots, "em-stepper-step-0")  # one point on the curve: its axes must still read cleanly
    source = image_source(plot)
    em.locator(".lab5-em-step .noUi-handle").focus()
    page.keyboard.press("End")
    em.locator(".lab5-em-status", has_text="converged").wait_for()
    wait_for_new_image(page, plot, source)
    last_step = int(slider_value(em, "lab5-em-step"))
    assert f"step {last_step}:" in em.locator(".lab5-em-status").inner_text()
    shoot(page, em, screenshots, "em-stepper-converged")

    # --- Colour quantisation: switch to EM ------------------------------------------------------
    quantiser.scroll_into_view_if_needed()
    plot = quantiser.locator(".lab5-quant-quantised")
    source = image_source(plot)
    quantiser.locator(".lab5-quant-method button", has_text="EM").click()
    quantiser.locator(".lab5-quant-label", has_text="EM (Gaussian mixture), K = 20").wait_for(timeout=60_000)
    wait_for_new_image(page, plot, source)
    shoot(page, quantiser, screenshots, "quantisation-em")
    assert_no_widget_errors(page)


def test_untouched_release_widget_falls_back_with_a_note(page, lab_server, screenshots):
    open_notebook(page, lab_server, "release.ipynb")
    run_all(page)
    # Run All stops at the first error: a quick check calling the unfinished sample_gmm.
    page.locator(".jp-OutputArea-output", has_text="NotImplementedError").first.wait_for(timeout=RUN_ALL_TIMEOUT)
    widget_cell = page.locator(".jp-CodeCell", has_text="display(gmm_explorer(").first
    widget_cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    explorer = widget_cell.locator(".lab5-gmm-explorer")
    explorer.wait_for(state="visible", timeout=60_000)
    note = explorer.locator(".lab5-gmm-note")
    note.get_by_text("sample_gmm raised NotImplementedError").wait_for()
    assert "reference sampler" in note.inner_text()
    assert "Traceback" not in widget_cell.inner_text()
    n_points = int(slider_value(explorer, "lab5-gmm-n"))
    plot = explorer.locator(".lab5-gmm-plot")
    source = image_source(plot)
    explorer.locator(".lab5-gmm-weight-0 .noUi-handle").focus()
    page.keyboard.press("Home")
    phi = expected_phi(explorer)
    assert phi[0] == 0
    wait_for_table(page, explorer, phi, n_points)
    wait_for_new_image(page, plot, source)
    rows, total = proportions_table(explorer)
    assert rows[0][1] == 0
    assert_counts_follow_phi(rows, total, phi)
    assert "sample_gmm raised NotImplementedError" in note.inner_text()  # still says so after a change
    shoot(page, widget_cell, screenshots, "release-gmm-explorer-fallback")
