"""Time each analysis on 10,000 simulated 16-item lists (median after compilation).

    JAX_PLATFORMS=cpu python benchmarks/bench_analysis.py
"""

import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402


def main(repeats: int = 50):
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 16, 10_000))
    print(f"jax {jax.__version__}, {os.cpu_count()} cores; 10,000 lists of 16, median of {repeats} runs")
    for name in ("spc", "pfr", "pnr", "lag_crp", "temporal_factor", "summarize"):
        fn = getattr(cmrlab, name)
        jax.block_until_ready(fn(recalls, 16))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(recalls, 16))
            times.append(time.perf_counter() - start)
        print(f"{name:<16} {statistics.median(times) * 1e3:7.2f} ms  (validation of the input included)")


if __name__ == "__main__":
    main()
