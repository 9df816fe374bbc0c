"""The first picture a student sees: the Explorer in a fresh kernel, and a change of list length.

    JAX_PLATFORMS=cpu python benchmarks/bench_explorer_start.py [--repeats 3]

Each measurement runs in a new Python process, as a new notebook kernel does:

- ``cold``: an empty persistent compilation cache (a new install);
- ``warm``: the cache the previous ``cold`` run filled (every later kernel).

Reported (medians over ``--repeats`` processes): ``import cmrlab.widgets``;
``Explorer()`` until the first picture is drawn (targets: <= 3 s cold,
<= 1.5 s warm); moving the list-length slider to 20, 12, 33 and 16 items,
3 s after the first picture (the time a student takes to reach the slider,
in which the other list-length bucket compiles in the background; target
<= 300 ms each); and a parameter slider move at 16 items.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, sys, time
start = time.perf_counter()
from cmrlab.widgets import Explorer
imported = time.perf_counter()
panel = Explorer()
drawn = time.perf_counter()
time.sleep(3)
changes = []
for length in (20, 12, 33, 16):
    t = time.perf_counter()
    panel.list_length.value = length
    changes.append(time.perf_counter() - t)
moves = []
for i in range(5):
    panel.set("encoding_drift_rate", 0.5 + 0.01 * i)
    moves.append(panel.last_update_seconds)
print(json.dumps({"import": imported - start, "first": drawn - imported, "changes": changes,
                  "move": sorted(moves)[2]}))
"""


def run(cache: str) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "CMRLAB_COMPILATION_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="cmrlab-bench-cache-") as cache:
            results["cold"].append(run(cache))
            results["warm"].append(run(cache))
    for name, runs in results.items():
        med = {key: statistics.median(r[key] for r in runs) for key in ("import", "first", "move")}
        changes = [statistics.median(r["changes"][i] for r in runs) for i in range(4)]
        print(f"{name} cache: import {med['import']:.2f} s, first Explorer drawn {med['first']:.2f} s, "
              f"list length 16->20->12->33->16: {', '.join(f'{c * 1e3:.0f}' for c in changes)} ms, "
              f"slider move {med['move'] * 1e3:.1f} ms (medians of {len(runs)} processes)")


if __name__ == "__main__":
    main()
