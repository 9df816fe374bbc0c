"""Time each analysis: first call (compilation included) and the median after it.

    JAX_PLATFORMS=cpu python benchmarks/bench_analysis.py [--repeats 50]

Two workloads: 10,000 simulated 16-item lists (the benchmark curves, plus the
organization analyses with random sources, pool items and times), and the
1,262 lists of Polyn et al. (2009) (the organization analyses as the paper
computes them; needs the data, which is downloaded once into the cache). Each
public call includes the validation of its input; the line ``compiled only``
times the jitted core of ``temporal_factor`` on an array already on the device.
Prints the CPU model (``lscpu``) and JAX's version with the figures.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402
from cmrlab import analysis  # noqa: E402
from _timing import machine, timed  # noqa: E402


def report(label, fn, repeats):
    first, median = timed(lambda i: fn(), repeats)
    print(f"  {label:<28} {median:8.2f} ms   (first call {first:7.0f} ms)")


def main(repeats: int = 50):
    print(f"{machine()}; median of {repeats} calls")
    L, n = 16, 10_000
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, L, n))
    rng = np.random.default_rng(0)
    sources = rng.integers(0, 2, (n, L))
    items = np.stack([rng.permutation(1000)[:L] for _ in range(n)])
    distances = rng.random((1000, 1000))
    times = np.cumsum(rng.exponential(1500, recalls.shape), axis=1) * (recalls != 0)

    print(f"{n:,} simulated lists of {L}:")
    for name in ("spc", "pfr", "pnr", "lag_crp", "temporal_factor", "summarize"):
        report(name, lambda: getattr(cmrlab, name)(recalls, L), repeats)
    on_device = jax.device_put(recalls)
    report("temporal_factor, compiled only", lambda: analysis._temporal_factor(on_device, L), repeats)
    report("category_crp", lambda: cmrlab.category_crp(recalls, sources, L), repeats)
    report("distance_rank (1000-word pool)", lambda: cmrlab.distance_rank(recalls, items, distances, L), repeats)
    report("lag_crp_by_train", lambda: cmrlab.lag_crp_by_train(recalls, sources, L), repeats)
    report("irt", lambda: cmrlab.irt(recalls, times, L), repeats)

    data = cmrlab.datasets.load_polyn2009()
    shift = data.select(data.list_type == 2)
    lsa_distances = 1 - data.similarity
    print(f"Polyn et al. (2009), {len(data):,} lists of 24 ({len(shift)} task-shift lists):")
    report("category_crp (shift lists)", lambda: cmrlab.category_crp(shift.recalls, shift.sources, 24), repeats)
    report("distance_rank (1 - LSA)", lambda: cmrlab.distance_rank(data.recalls, data.study_items, lsa_distances, 24),
           repeats)
    report("lag_crp_by_train (shift)", lambda: cmrlab.lag_crp_by_train(shift.recalls, shift.sources, 24), repeats)
    report("irt", lambda: cmrlab.irt(data.recalls, data.times, 24), repeats)
    report("summarize", lambda: cmrlab.summarize(data.recalls, 24), repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    main(parser.parse_args().repeats)
