"""Fitting speed and quality on Healey & Kahana (2014) no-task lists.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py [--all]

Subject 63 with each method (3 keys, times after compilation), then with
``--all`` every one of the 126 subjects via ``fit_subjects``. On a 2-core CPU,
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` gives JAX two CPU
devices and fit_subjects shards the subjects over both cores.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

from cmrlab.datasets import load_healey_kahana2014  # noqa: E402
from cmrlab.fitting import fit, fit_subjects  # noqa: E402

PUBLISHED = -694.93  # jaxcmr's published fit of subject 63, evaluated under the spec


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="also fit all 126 subjects")
    parser.add_argument("--methods", default="de,de+gradient,gradient")
    args = parser.parse_args()
    data = load_healey_kahana2014(no_task_only=True)
    subject = data.for_subject(63)
    print(f"jax {jax.__version__}, {len(jax.devices())} device(s); subject 63: {len(subject)} lists; "
          f"jaxcmr's published fit: {PUBLISHED}")
    for method in args.methods.split(","):
        fit(subject.recalls, 16, key=jax.random.PRNGKey(100), method=method)  # compile
        results = [fit(subject.recalls, 16, key=jax.random.PRNGKey(k), method=method) for k in range(3)]
        logliks = [round(r.log_likelihood, 2) for r in results]
        print(f"{method:<12} log-likelihood {logliks}  median {statistics.median(r.seconds for r in results):.2f} s "
              f"after compilation, {results[0].evaluations} evaluations")
    if args.all:
        start = time.perf_counter()
        table = fit_subjects(data, key=jax.random.PRNGKey(0), progress=False)
        seconds = time.perf_counter() - start
        print(f"all {len(table)} subjects: {seconds:.0f} s (compilation included), "
              f"total log-likelihood {table.log_likelihood.sum():.1f}, "
              f"{int(table.converged.sum())} converged")


if __name__ == "__main__":
    main()
