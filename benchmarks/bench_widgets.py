"""Kernel-side time of one Explorer update: simulate, analyse, redraw.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_widgets.py

Three cases, each timed after compilation (the first update):

- the base model, 1,000 lists of 20 items over Murdock's LL20-1s;
- the full model (Polyn 2009 full set) with the Luce rule on the 1,262 lists
  of Polyn, Norman & Kahana (2009), their own words, tasks and LSA
  similarities, with the paper's figures computed for the status line
  (target: <= 150 ms);
- the same with the leaky competitive accumulator (recall times panel too).

Reports the median and maximum of several slider moves (``--repeats``).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import cmrlab  # noqa: E402
from cmrlab.widgets import POLYN, Explorer  # noqa: E402


def moves(panel, repeats: int, name: str = "encoding_drift_rate", start: float = 0.3):
    times = []
    for i in range(repeats):
        panel.set(name, start + 0.005 * i)
        times.append(panel.last_update_seconds)
    return statistics.median(times) * 1e3, max(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--accumulator-repeats", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    panel = Explorer(n_lists=1000, dataset="LL20-1s")
    print(f"first Explorer (compiles simulate + analyses, loads data): {time.perf_counter() - start:.2f} s")
    median, worst = moves(panel, args.repeats)
    print(f"base model, 1,000 lists of 20: median {median:.1f} ms, max {worst:.1f} ms over {args.repeats} moves")

    start = time.perf_counter()
    panel = Explorer(dataset=POLYN, parameters=cmrlab.SOURCE_PRESETS["Polyn 2009 full"])
    print(f"first Polyn Explorer (loads the data, compiles): {time.perf_counter() - start:.2f} s")
    median, worst = moves(panel, args.repeats, start=0.7)
    print(f"full model, Luce rule, the 1,262 Polyn lists: median {median:.1f} ms, max {worst:.1f} ms "
          f"over {args.repeats} moves (target <= 150 ms)")

    start = time.perf_counter()
    panel.retrieval.value = "accumulator"
    print(f"first accumulator update (compiles): {time.perf_counter() - start:.2f} s")
    median, worst = moves(panel, args.accumulator_repeats, start=0.7)
    print(f"full model, accumulator, the 1,262 Polyn lists: median {median:.1f} ms, max {worst:.1f} ms "
          f"over {args.accumulator_repeats} moves")


if __name__ == "__main__":
    main()
