"""Speed of cmrlab's simulation and likelihood, side by side with jaxcmr 0.1.1.

Run (jaxcmr needs Python 3.12; cmrlab installs there too)::

    python3.12 -m venv /tmp/bench && . /tmp/bench/bin/activate
    pip install --ignore-requires-python simple-pytree==0.2.2 && pip install jaxcmr==0.1.1
    pip install -e .
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_core.py

Without jaxcmr installed only cmrlab is timed. Reports the median of
``--repeats`` calls after compilation and the first call (compilation
included), in milliseconds.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402
from cmrlab.datasets import load_healey_kahana2014  # noqa: E402
from _timing import machine, timed  # noqa: E402


def make_keys(repeats):
    # made before timing: creating a key is itself a dispatched computation
    return list(jax.random.split(jax.random.PRNGKey(0), repeats + 1))


def bench_cmrlab(recalls, repeats):
    params = dict(cmrlab.DEFAULT_PARAMETERS)
    keys = make_keys(repeats)
    sim = timed(lambda i: cmrlab.simulate(keys[i], params, 16, 1000), repeats)
    loglik = cmrlab.log_likelihood_function(recalls, 16)
    lik = timed(lambda i: loglik({**params, "encoding_drift_rate": 0.46 + 1e-3 * i}), repeats)
    convenience = timed(lambda i: cmrlab.log_likelihood(params, recalls, 16), repeats)
    return {"simulate 1000x16": sim, "log-likelihood HK2014 (prepared)": lik,
            "log-likelihood HK2014 (log_likelihood(), cleans each call)": convenience}


def bench_jaxcmr(hk, repeats):
    from jaxcmr.cmr import CMRFactory
    from jaxcmr.likelihood import MemorySearchLikelihoodFnGenerator
    from jaxcmr.simulation import MemorySearchSimulator

    params = {k: jnp.float32(v) for k, v in cmrlab.DEFAULT_PARAMETERS.items()}
    sim_data = {"pres_itemnos": jnp.tile(jnp.arange(1, 17), (1000, 1)),
                "listLength": jnp.full((1000, 1), 16)}
    simulator = MemorySearchSimulator(CMRFactory, sim_data, None)
    trials = jnp.arange(1000)
    sim_fn = jax.jit(simulator.present_and_simulate_trials)
    keys = make_keys(repeats)
    sim = timed(lambda i: sim_fn(trials, params, keys[i]), repeats)

    names = list(cmrlab.PARAMETER_NAMES)
    generator = MemorySearchLikelihoodFnGenerator(CMRFactory, hk, None)
    loss = generator(jnp.arange(hk["recalls"].shape[0]), {}, names)
    x = np.array([cmrlab.DEFAULT_PARAMETERS[n] for n in names], np.float32)
    lik = timed(lambda i: loss(jnp.asarray(x + 1e-3 * i * (np.arange(len(x)) == 0))), repeats)
    value = -float(loss(jnp.asarray(x)))
    return {"simulate 1000x16": sim, "log-likelihood HK2014 (prepared)": lik}, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    data = load_healey_kahana2014()
    recalls = data.recalls
    print(f"{machine()}; medians of {args.repeats} runs")
    results = {"cmrlab": bench_cmrlab(recalls, args.repeats)}  # first: its first calls compile
    print(f"cmrlab log-likelihood of HK2014 at defaults: "
          f"{float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, recalls, 16)):.2f}")
    try:
        import jaxcmr  # noqa: F401
    except ImportError:
        print("jaxcmr not installed: timing cmrlab alone")
    else:
        hk = {"recalls": jnp.asarray(recalls), "pres_itemnos": jnp.tile(jnp.arange(1, 17), (len(recalls), 1)),
              "listLength": jnp.full((len(recalls), 1), 16)}
        results["jaxcmr 0.1.1"], value = bench_jaxcmr(hk, args.repeats)
        print(f"jaxcmr log-likelihood of HK2014 at defaults: {value:.2f}")
    print(f"{'implementation':<14} {'task':<60} {'first (ms)':>11} {'median (ms)':>12}")
    for name, rows in results.items():
        for task, (first, median) in rows.items():
            print(f"{name:<14} {task:<60} {first:11.1f} {median:12.2f}")
    if "jaxcmr 0.1.1" in results:
        for task in results["jaxcmr 0.1.1"]:
            ratio = results["jaxcmr 0.1.1"][task][1] / results["cmrlab"][task][1]
            print(f"speed-up over jaxcmr, {task}: {ratio:.1f}x")


if __name__ == "__main__":
    main()
