"""Start JupyterLab on 127.0.0.1 and drive a notebook in headless Chromium (playwright).

Used by test_browser.py and benchmarks/bench_browser.py. Never downloads a
browser: it drives Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(notebook_dir: Path = NOTEBOOKS):
    """Run JupyterLab on a copy of ``notebook_dir`` (autosave never touches the originals).

    Yields the server's base URL; stops the server (by its own process id) on exit.
    """
    with jupyterlab_on_copy(notebook_dir) as (base, _root):
        yield base


@contextlib.contextmanager
def jupyterlab_on_copy(notebook_dir: Path = NOTEBOOKS):
    """Like :func:`jupyterlab`, yielding ``(base URL, folder of the copied notebooks)``."""
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "notebooks", Path(tmp) / "home"
        shutil.copytree(notebook_dir, root)
        home.mkdir()
        port = _free_port()
        env = {**os.environ, "HOME": str(home), "JAX_PLATFORMS": "cpu", "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
                   "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=",
                   f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
                   "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/status", timeout=2).read()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("JupyterLab did not start:\n" + (Path(tmp) / "server.log").read_text()[-3000:])
                    time.sleep(0.5)
            yield base, root
        finally:
            _stop(server, log)


def _stop(server: subprocess.Popen, log) -> None:
    """Stop a server we started, by its own process id."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


SPC_IMAGE = ".jp-OutputArea-output .widget-image"
SLIDER_HANDLE = ".jp-OutputArea-output .widget-slider .noUi-handle"


def open_and_run(page, base: str, notebook: str = "01_explore_cmr.ipynb", timeout_ms: int = 180_000):
    """Open ``notebook`` in JupyterLab, run all cells, wait until the Explorer has drawn."""
    page.goto(f"{base}/lab/tree/{notebook}", wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext.session "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                           timeout=timeout_ms)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(SLIDER_HANDLE, timeout=timeout_ms)
    page.wait_for_function(f"() => {{ const img = document.querySelector('{SPC_IMAGE}');"
                           " return !!(img && img.getAttribute('src') && img.naturalWidth > 0); }",
                           timeout=timeout_ms)
    page.wait_for_function("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=timeout_ms)


def press_and_time(page, key: str = "ArrowRight", timeout_ms: int = 20_000) -> tuple[float, str, str]:
    """Press ``key`` on the first parameter slider; return (ms until the image changed, old src, new src)."""
    old = page.get_attribute(SPC_IMAGE, "src")
    page.evaluate(f"""() => {{
        window.__pressed = null; window.__changed = null;
        const img = document.querySelector('{SPC_IMAGE}');
        const observer = new MutationObserver(() => {{
            if (window.__changed === null) {{ window.__changed = performance.now(); observer.disconnect(); }}
        }});
        observer.observe(img, {{attributes: true, attributeFilter: ['src']}});
        document.addEventListener('keydown', () => {{ window.__pressed = performance.now(); }},
                                  {{capture: true, once: true}});
    }}""")
    handle = page.locator(SLIDER_HANDLE).first
    handle.focus()
    handle.press(key)
    page.wait_for_function("window.__changed !== null", timeout=timeout_ms)
    elapsed = page.evaluate("window.__changed - window.__pressed")
    return elapsed, old, page.get_attribute(SPC_IMAGE, "src")


def edit_first_markdown_cell(page, base: str, notebook: str, addition: str, timeout_ms: int = 120_000) -> None:
    """Open ``notebook``, append ``addition`` to its first markdown cell with the keyboard, render, save."""
    page.goto(f"{base}/lab/tree/{notebook}", wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.context "
                           "&& window.jupyterapp.shell.currentWidget.context.isReady", timeout=timeout_ms)
    cell = page.locator(".jp-MarkdownCell").first
    cell.wait_for(timeout=timeout_ms)
    cell.click()
    page.keyboard.press("Escape")  # command mode on the selected cell
    page.keyboard.press("Enter")   # edit mode
    page.keyboard.press("Control+End")
    page.keyboard.type(addition)
    page.keyboard.press("Shift+Enter")  # render the markdown
    page.keyboard.press("Control+s")
    page.wait_for_function("!window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=timeout_ms)


def slider_readout(page) -> str:
    return page.locator(".jp-OutputArea-output .widget-slider .widget-readout").first.inner_text()


def measure(presses: int = 10) -> list[float]:
    """Key press to new plot, in ms, for ``presses`` presses (after a warm-up press)."""
    from playwright.sync_api import sync_playwright

    with jupyterlab() as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_and_run(page, base)
            press_and_time(page)
            times = []
            for i in range(presses):
                times.append(press_and_time(page, "ArrowRight" if i % 2 else "ArrowLeft")[0])
                time.sleep(0.2)
            return times
        finally:
            browser.close()


if __name__ == "__main__":
    times = measure()
    print(f"key press to new plot: median {statistics.median(times):.0f} ms, "
          f"min {min(times):.0f}, max {max(times):.0f} ms over {len(times)} presses")


@contextlib.contextmanager
def voila(notebook: str = "01_explore_cmr.ipynb", notebook_dir: Path = NOTEBOOKS):
    """Serve one notebook as a Voila app on 127.0.0.1; yields its URL and stops it on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "notebooks", Path(tmp) / "home"
        shutil.copytree(notebook_dir, root)
        home.mkdir()
        port = _free_port()
        env = {**os.environ, "HOME": str(home), "JAX_PLATFORMS": "cpu"}
        command = [sys.executable, "-m", "voila", str(root / notebook), "--no-browser", f"--port={port}",
                   "--Voila.ip=127.0.0.1"]
        log = open(Path(tmp) / "voila.log", "wb")
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("Voila did not start:\n" + (Path(tmp) / "voila.log").read_text()[-3000:])
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/"
        finally:
            _stop(server, log)
