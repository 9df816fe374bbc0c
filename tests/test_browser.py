"""The Explore notebook in a real browser: run it, move a slider with the keyboard, see the plot change.

Needs Debian's chromium (.ci/run installs it). Outside CI, a machine without it skips
this test with that reason; in CI (CI=true) its absence is a failure.
"""

import os
import statistics

import pytest

import json
import subprocess
import sys
from pathlib import Path

from jupyterlab_driver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    edit_first_markdown_cell,
    jupyterlab,
    jupyterlab_on_copy,
    open_and_run,
    press_and_time,
    slider_readout,
    voila,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


def test_slider_keypress_redraws_the_serial_position_plot(record_property):
    with jupyterlab() as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_and_run(page, base)
            before = slider_readout(page)
            times = []
            for key in ("ArrowRight", "ArrowRight", "ArrowLeft", "ArrowRight"):
                elapsed, old_src, new_src = press_and_time(page, key)
                assert new_src and new_src != old_src, "the plot image did not change"
                times.append(elapsed)
            after = slider_readout(page)
            assert float(after) == pytest.approx(float(before) + 0.02), (before, after)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert errors.count() == 0, errors.first.inner_text()
        finally:
            browser.close()
    median = statistics.median(times)
    record_property("keypress_to_plot_ms", median)
    print(f"\nkey press to new plot: median {median:.0f} ms ({', '.join(f'{t:.0f}' for t in times)})")


def test_explorer_runs_as_a_voila_app():
    with voila() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url, timeout=180_000)
            page.wait_for_selector(".widget-image", timeout=180_000)
            page.wait_for_function("() => { const img = document.querySelector('.widget-image');"
                                   " return !!(img && img.naturalWidth > 0); }", timeout=180_000)
            assert page.locator(".widget-slider").count() >= 12  # 11 parameters + list length
            assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            assert not page.get_by_text("from cmrlab.widgets import Explorer").is_visible(), "Voila hides the code"
        finally:
            browser.close()


ROOT = Path(__file__).resolve().parents[1]


def test_a_notebook_edited_in_jupyterlab_is_what_nbval_checks():
    """A teacher edits a markdown cell in JupyterLab and saves: the saved file is the source, nothing else to run."""
    addition = " Edited in JupyterLab by a teacher."
    notebook = "04_jax_patterns.ipynb"
    with jupyterlab_on_copy() as (base, root), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            edit_first_markdown_cell(page, base, notebook, addition)
        finally:
            browser.close()
        saved = json.loads((root / notebook).read_text())
        first_markdown = next(c for c in saved["cells"] if c["cell_type"] == "markdown")
        assert "".join(first_markdown["source"]).rstrip().endswith(addition.strip())
        check = subprocess.run([sys.executable, str(ROOT / "tools" / "notebooks.py"), "check", str(root / notebook)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
        # the saved notebook, as it is, passes the same nbval check CI runs on notebooks/
        nbval = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--nbval",
             "--nbval-current-env", f"--nbval-sanitize-with={ROOT / 'tests' / 'nbval_sanitize.cfg'}",
             str(root / notebook)],
            capture_output=True, text=True, cwd=root, timeout=600)
        assert nbval.returncode == 0, nbval.stdout[-3000:]
