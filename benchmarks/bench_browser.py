"""Key press on a parameter slider to a new serial-position plot, in JupyterLab in headless Chromium.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_browser.py

Needs Debian's chromium at /usr/bin/chromium and the test extras (playwright).
"""

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jupyterlab_driver import measure  # noqa: E402

if __name__ == "__main__":
    times = measure(presses=20)
    print(f"key press to new plot in the page: median {statistics.median(times):.0f} ms, "
          f"min {min(times):.0f} ms, max {max(times):.0f} ms over {len(times)} presses")
