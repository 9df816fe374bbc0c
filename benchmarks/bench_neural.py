"""Speed and memory of cmrlab.neural on Healey & Kahana (2014).

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_neural.py [--skip-training]

* training on all lists of the 100 training subjects (about 11,000 lists;
  ``split_subjects(..., 100, seed=0)``), default settings, reading the
  encoding task, key 0: wall and CPU time (compilation included), epochs,
  held-out score. Target: <= 120 s on a 2-core CPU.
* ``log_likelihood`` of the 728 held-out no-task lists and ``simulate`` of
  1,000 lists of 16 items: first call (compilation included) and the median of
  ``--repeats`` calls after it, in milliseconds.
* memory: resident set size before and after 200 more calls of each
  (a per-call compilation would grow it).

The same script runs unchanged on a GPU (``JAX_PLATFORMS=cuda``).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from cmrlab.datasets import load_healey_kahana2014  # noqa: E402
from cmrlab.neural import train_next_recall  # noqa: E402
from cmrlab.neural.comparison import load_pretrained, per_event, split_subjects  # noqa: E402
from _timing import machine, timed  # noqa: E402

CONDITIONS = ("no task", "task 0", "task 1", "task 2")  # as benchmarks/neural_heldout.py


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-training", action="store_true", help="time the shipped network's calls only")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    data = load_healey_kahana2014()
    train_ids, test_ids = split_subjects(data.subjects, 100, seed=0)
    train = data.select(np.isin(data.subject, train_ids))
    test = data.select(np.isin(data.subject, test_ids) & (data.condition == "no task"))
    print(f"{machine()}; {len(train)} training lists, "
          f"{len(test)} held-out lists")
    if args.skip_training:
        model = load_pretrained()
    else:
        start, cpu = time.perf_counter(), time.process_time()
        model = train_next_recall(train, key=jax.random.PRNGKey(0), conditions=CONDITIONS, progress=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        record = model.training
        print(f"training: {seconds:.1f} s wall, {cpu:.1f} s CPU (all threads; compilation included), "
              f"{record.epochs} epochs (best {record.best_epoch}), validation {record.validation_loss:.4f} nats/event")
    print(f"held-out score: {per_event(model.log_likelihood(test.recalls, 16), test.recalls, 16):.4f} nats/event")
    keys = list(jax.random.split(jax.random.PRNGKey(0), args.repeats + 1))
    first, median = timed(lambda i: model.trial_log_likelihoods(test.recalls, 16), args.repeats)
    print(f"log_likelihood, {len(test)} lists: first {first:.0f} ms, then median {median:.1f} ms")
    first, median = timed(lambda i: model.simulate(keys[i], 16, 1000), args.repeats)
    print(f"simulate 1000 x 16: first {first:.0f} ms, then median {median:.1f} ms")
    before = rss_mb()
    for i in range(200):
        model.log_likelihood(test.recalls[: 100 + i], 16)
        jax.block_until_ready(model.simulate(jax.random.PRNGKey(i), 16, 100))
    after = rss_mb()
    print(f"memory: {before:.0f} MB before 200 more calls of each, {after:.0f} MB after "
          f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
