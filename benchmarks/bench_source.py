"""Speed of the full model (source and semantic context) on the 1,262 lists of Polyn et al. (2009).

Run::

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_source.py

Targets (2-core machine): log-likelihood of all 1,262 lists <= 50 ms after
compilation and <= 3 s for the first call; accumulator simulation of the
1,262 lists <= 2 s after compilation. Reports, for each task, the first call
(compilation included, wall and CPU seconds of this process) and the median
and minimum of ``--repeats`` calls after it. On a shared machine the CPU
seconds of the first call are the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402
from cmrlab import datasets  # noqa: E402

PARAMETERS = cmrlab.SOURCE_PRESETS["Polyn 2009 full"]


def load_polyn():
    """The 1,262 experimental lists: recalls, words (0-based), tasks, LSA matrix."""
    if hasattr(datasets, "load_polyn2009"):
        data = datasets.load_polyn2009()
        return (np.where(data.recalls < -1, -1, data.recalls), data.study_items, data.sources, data.similarity)
    from scipy.io import loadmat

    behavior = loadmat(datasets.fetch("polyn2009/behavior.mat"))["data"][0, 0]
    full, control, shift = (behavior[k][0, 0] for k in ("full", "co", "sh"))

    def keys(s):
        return [(int(a), int(b)) + tuple(c) for a, b, c in zip(s["subject"][:, 0], s["session"][:, 0], s["pres_itemnos"])]

    experimental = set(keys(control)) | set(keys(shift))
    rows = np.array([k in experimental for k in keys(full)])
    recalls = full["recalls"][rows].astype(np.int64)
    similarity = loadmat(datasets.fetch("polyn2009/stimuli.mat"))["sem_mat"]
    return (np.where(recalls < -1, -1, recalls), full["pres_itemnos"][rows].astype(np.int64) - 1,
            full["pres_task"][rows].astype(np.int64), similarity)


def first_call(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn(0))
    return time.perf_counter() - wall, time.process_time() - cpu


def repeated(fn, repeats):
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(fn(i))
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    recalls, items, sources, similarity = load_polyn()
    n = len(recalls)
    lists = dict(study_items=items, sources=sources, similarity=similarity)
    keys = list(jax.random.split(jax.random.PRNGKey(0), args.repeats + 1))

    def shifted(i):  # new parameter values every call: no caching of results
        return {**PARAMETERS, "encoding_drift_rate": 0.77 + 1e-3 * i}

    loglik = cmrlab.log_likelihood_function(recalls, 24, **lists)
    grad = jax.grad(loglik)
    tasks = {
        f"log-likelihood, {n} lists (prepared)": lambda i: loglik(shifted(i)),
        f"log-likelihood, {n} lists (log_likelihood(), prepares each call)":
            lambda i: cmrlab.log_likelihood(shifted(i), recalls, 24, **lists),
        f"gradient of the log-likelihood, {n} lists": lambda i: grad(shifted(i)),
        f"accumulator simulation, {n} lists": lambda i: cmrlab.simulate(
            keys[i], PARAMETERS, 24, n, retrieval="accumulator", return_times=True, **lists),
        f"Luce-rule simulation, {n} lists": lambda i: cmrlab.simulate(keys[i], PARAMETERS, 24, n, **lists),
    }
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores; "
          f"medians of {args.repeats} runs after the first")
    firsts = {task: first_call(fn) for task, fn in tasks.items()}  # before anything else compiles them
    print(f"log-likelihood of the {n} lists at the Full set (Luce values of the preset): "
          f"{float(loglik(PARAMETERS)):.2f}")
    print(f"{'task':<72} {'first wall (s)':>14} {'first CPU (s)':>13} {'median (ms)':>12} {'min (ms)':>9}")
    for task, fn in tasks.items():
        median, best = repeated(fn, args.repeats)
        wall, cpu = firsts[task]
        print(f"{task:<72} {wall:14.2f} {cpu:13.2f} {median * 1e3:12.1f} {best * 1e3:9.1f}")


if __name__ == "__main__":
    main()
