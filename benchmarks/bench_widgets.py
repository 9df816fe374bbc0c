"""Kernel-side time of one Explorer update: simulate 1,000 lists, analyse, redraw.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_widgets.py
"""

import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from cmrlab.widgets import Explorer  # noqa: E402


def main(repeats: int = 60):
    start = time.perf_counter()
    panel = Explorer(n_lists=1000, dataset="LL20-1s")
    print(f"first Explorer (compiles simulate + analyses, loads data): {time.perf_counter() - start:.2f} s")
    times = []
    for i in range(repeats):
        panel.set("encoding_drift_rate", 0.3 + 0.005 * i)
        times.append(panel.last_update_seconds)
    print(f"update after a slider move, 1,000 lists of 20: median {statistics.median(times) * 1e3:.1f} ms, "
          f"max {max(times) * 1e3:.1f} ms over {repeats} moves")


if __name__ == "__main__":
    main()
