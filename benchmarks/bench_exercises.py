"""Time the exercise checks and "build your own CMR" (median of runs after a first, compiling call).

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=... python benchmarks/bench_exercises.py

Each check is given a correct function in plain NumPy (the kind a student
writes, float64) and timed whole: building its cases (cmrlab's answers),
calling the function on every case and comparing. The first call includes
JAX compiling the reference functions for the cases' shapes (once per
kernel). ``simulate_own`` and ``log_likelihood_own`` run the same NumPy
pieces on 1,200 lists of 20 items (Murdock's LL20-1s), next to
``cmrlab.simulate`` and ``cmrlab.log_likelihood``.

Whole-process costs of the otter-grader steps (``otter assign``, ``otter
run``) are measured from outside: ``/usr/bin/time -v otter assign
notebooks/09_cmr_assignment.ipynb dist``.
"""

import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402
from cmrlab import exercises  # noqa: E402

EPS = float(np.finfo(np.float32).eps)


def update_context(c, c_in, beta):
    c_in = c_in / np.sqrt(c_in @ c_in + EPS)
    d = c @ c_in
    new = (np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d) * c + beta * c_in
    return new / np.sqrt(new @ new + EPS)


def study(L, p):
    gamma = p["learning_rate"]
    c = np.eye(L + 1)[0]
    mfc = np.eye(L, L + 1, k=1) * (1 - gamma)
    mcf = np.vstack([np.zeros(L), p["shared_support"] + (p["item_support"] - p["shared_support"]) * np.eye(L)])
    for k in range(L):
        c = update_context(c, mfc[k], p["encoding_drift_rate"])
        mfc[k] += gamma * c
        mcf[:, k] += (p["primacy_scale"] * np.exp(-p["primacy_decay"] * k) + 1) * c
    return c, mfc, mcf


def outcome_probabilities(c, mcf, recallable, r, p):
    n = recallable.sum()
    if n == 0:
        return np.eye(len(recallable) + 1)[0]
    p_stop = min(1 - EPS * n, p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * r))
    a = c @ mcf
    a = ((a / a.max()) ** p["choice_sensitivity"] + EPS) * recallable
    return np.concatenate([[p_stop], (1 - p_stop) * a / a.sum()])


def list_log_likelihood(row, L, p):
    return exercises.log_likelihood_own(p, np.asarray(row)[None, :], L, study=study, update_context=update_context,
                                        outcome_probabilities=outcome_probabilities)


def read_recalls(path, L):
    lines = open(path).read().splitlines()
    if lines and lines[-1].strip() == "0":
        lines = lines[:-1]
    rows = [[int(t) for t in line.split()] for line in lines]
    out = np.zeros((len(rows), max([len(r) for r in rows] + [1])), int)
    for i, row in enumerate(rows):
        codes = np.array(row, int)
        out[i, : len(row)] = np.where((codes >= 1) & (codes <= L), codes, -1)
    return out


def timed(fn, repeats):
    start = time.perf_counter()
    first = fn()
    first_time = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, first_time, statistics.median(times)


def main(repeats: int = 5):
    print(f"jax {jax.__version__}, {os.cpu_count()} cores; median of {repeats} runs after the first")
    checks = [
        ("check_read_murdock", read_recalls),
        ("check_spc", cmrlab.spc),
        ("check_pfr", cmrlab.pfr),
        ("check_lag_crp", cmrlab.lag_crp),
        ("check_context_update", update_context),
        ("check_study", study),
        ("check_outcome_probabilities", outcome_probabilities),
        ("check_list_log_likelihood", list_log_likelihood),
    ]
    for name, fn in checks:
        check = getattr(exercises, name)
        result, first, median = timed(lambda: check(fn), repeats)
        assert result.passed, str(result)
        print(f"{name:<28} first {first:6.2f} s, then {median * 1e3:7.1f} ms  ({result.n_cases} cases)")

    data = cmrlab.datasets.load_murdock1962("LL20-1s")
    p = cmrlab.DEFAULT_PARAMETERS
    pieces = dict(study=study, update_context=update_context, outcome_probabilities=outcome_probabilities)
    key = jax.random.PRNGKey(1962)
    own, _, own_time = timed(lambda: exercises.simulate_own(key, p, 20, 1200, **pieces), repeats)
    theirs, _, jax_time = timed(lambda: np.asarray(cmrlab.simulate(key, p, 20, 1200)), repeats)
    same = np.mean(np.all(own == theirs, axis=1))
    print(f"simulate_own, 1,200 lists of 20    {own_time:6.2f} s  (cmrlab.simulate {jax_time * 1e3:.1f} ms; "
          f"{same:.1%} of lists identical)")
    own_ll, _, own_time = timed(lambda: exercises.log_likelihood_own(p, data.recalls, 20, **pieces), repeats)
    jax_ll, _, jax_time = timed(lambda: float(cmrlab.log_likelihood(p, data.recalls, 20)), repeats)
    print(f"log_likelihood_own, LL20-1s         {own_time:6.2f} s  (cmrlab.log_likelihood {jax_time * 1e3:.1f} ms; "
          f"{own_ll:.3f} vs {jax_ll:.3f})")


if __name__ == "__main__":
    main()
