"""Estimating CMR parameters from recall data.

Maximum likelihood (the default) or, as many courses do it, least squares on
summary statistics. Two optimizers, both compiled end to end:

* ``"de"``: differential evolution over the declared bounds; each generation
  evaluates the whole population in one batched likelihood call.
* ``"gradient"``: Adam (from optax) from several random starting points at
  once, on ``jax.grad`` of the likelihood, the bounds handled by a logistic
  transform.

``"de+gradient"`` runs differential evolution and then polishes its best
members with the gradient method. Differential evolution alone is the
default; :func:`fit` gives the measurements behind that choice.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cmrlab.analysis import Summary, _summarize, summarize
from cmrlab.likelihood import trial_log_likelihoods
from cmrlab.parameters import (
    DEFAULT_PARAMETERS,
    PARAMETER_NAMES,
    PARAMETERS,
    as_parameters,
    check_names,
    check_value,
    unpack,
)
from cmrlab.recalls import clean_recalls
from cmrlab.simulation import _simulate

METHODS = ("de", "de+gradient", "gradient")
OBJECTIVES = ("likelihood", "summary")

_LOWER = np.array([p.lower for p in PARAMETERS], np.float32)
_UPPER = np.array([p.upper for p in PARAMETERS], np.float32)


# ----------------------------------------------------------------------------- settings


class DESettings(NamedTuple):
    """Differential evolution: population size, generations, mutation and crossover."""

    population: int = 128
    generations: int = 600
    mutation: tuple[float, float] = (0.5, 1.0)  # dithered F, drawn per generation
    crossover: float = 0.9
    tolerance: float = 1e-6  # stop when the population's spread of -loglik / n_lists falls below this
    patience: int = 80  # ... or when the best value has not risen by 0.01 for this many generations


class GradientSettings(NamedTuple):
    """Adam on the logistic-transformed parameters from several starts."""

    starts: int = 16
    steps: int = 300
    learning_rate: float = 0.05


@dataclass
class FitResult:
    """What a fit found, and what a user needs to judge it.

    Attributes:
        parameters: all 11 parameters (free and fixed) as floats.
        log_likelihood: total log-likelihood of the cleaned data at ``parameters``
            (for ``objective="summary"`` too, for comparison).
        objective: ``"likelihood"`` or ``"summary"``; ``loss`` the value minimized.
        method: the optimizer used.
        evaluations: likelihood (or simulation) evaluations made.
        converged: whether the optimizer met its stopping rule before its budget.
        seconds: wall time of the fit (compilation included on a first call).
        n_lists, n_intrusions, n_repeats: the data fitted and what cleaning removed.
        free: names of the fitted parameters.
    """

    parameters: dict[str, float]
    log_likelihood: float
    objective: str
    loss: float
    method: str
    evaluations: int
    converged: bool
    seconds: float
    n_lists: int
    n_intrusions: int = 0
    n_repeats: int = 0
    free: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["free"] = list(self.free)
        return d


# ----------------------------------------------------------------------------- objectives


def _pack_full(free_values, free_index, fixed_full):
    """Place free values into the full 11-vector of fixed values."""
    return fixed_full.at[free_index].set(free_values)


def _weighted_loglik(packed, recalls, weights, list_length):
    totals = trial_log_likelihoods(unpack(packed), recalls, list_length)
    return jnp.sum(jnp.where(weights > 0, totals, 0.0) * weights)


def _safe(values):
    """Turn NaN and infinities into -inf (the worst possible log-likelihood)."""
    return jnp.where(jnp.isfinite(values), values, -jnp.inf)


class _Problem(NamedTuple):
    """A subject's data prepared for compiled optimization (all arrays)."""

    recalls: jax.Array   # (n, T) clean recalls
    weights: jax.Array   # (n,) 1 for real lists, 0 for padding
    free_index: jax.Array  # (d,) indices of free parameters
    fixed_full: jax.Array  # (11,) values of fixed parameters (free entries ignored)
    lower: jax.Array     # (d,)
    upper: jax.Array     # (d,)


def _population_loglik(problem: _Problem, candidates, list_length):
    """``(P, d)`` free values -> ``(P,)`` log-likelihoods (non-finite -> -inf)."""

    def one(values):
        packed = _pack_full(values, problem.free_index, problem.fixed_full)
        return _weighted_loglik(packed, problem.recalls, problem.weights, list_length)

    return _safe(jax.vmap(one)(candidates))


# ----------------------------------------------------------------------------- optimizers


def _differential_evolution(key, problem: _Problem, list_length: int, settings: DESettings, score):
    """Maximize ``score(candidates) -> (P,)`` over the box ``[lower, upper]`` (best/1/bin)."""
    P, d = settings.population, problem.lower.shape[0]
    lower, upper = problem.lower[None, :], problem.upper[None, :]
    key, strata_key, jitter_key = jax.random.split(key, 3)
    # Latin hypercube start: every stratum of every parameter is covered once
    strata = jax.vmap(lambda k: jax.random.permutation(k, P))(jax.random.split(strata_key, d)).T
    u = (strata + jax.random.uniform(jitter_key, (P, d))) / P
    population = lower + u * (upper - lower)
    fitness = score(population)
    n_lists = jnp.maximum(jnp.sum(problem.weights), 1.0)

    def spread(fitness):
        finite = jnp.isfinite(fitness)
        mean = jnp.sum(jnp.where(finite, fitness, 0)) / jnp.maximum(jnp.sum(finite), 1)
        var = jnp.sum(jnp.where(finite, (fitness - mean) ** 2, 0)) / jnp.maximum(jnp.sum(finite), 1)
        return jnp.where(jnp.all(finite), jnp.sqrt(var) / n_lists, jnp.inf)

    def cond(state):
        generation, _, _, fitness, _, stalled = state
        return ((generation < settings.generations) & (spread(fitness) > settings.tolerance)
                & (stalled < settings.patience))

    def body(state):
        generation, key, population, fitness, evaluations, stalled = state
        previous_best = jnp.max(fitness)
        key, k_pick, k_f, k_cross, k_force, k_fix = jax.random.split(key, 6)
        best = population[jnp.argmax(fitness)]
        picks = jax.vmap(lambda k: jax.random.choice(k, P, (2,), replace=False))(jax.random.split(k_pick, P))
        f = jax.random.uniform(k_f, (), minval=settings.mutation[0], maxval=settings.mutation[1])
        mutant = best[None, :] + f * (population[picks[:, 0]] - population[picks[:, 1]])
        cross = jax.random.uniform(k_cross, (P, d)) < settings.crossover
        cross = cross | (jnp.arange(d)[None, :] == jax.random.randint(k_force, (P, 1), 0, d))
        trial = jnp.where(cross, mutant, population)
        # out of bounds: a random point between the parent and the violated bound
        r = jax.random.uniform(k_fix, (P, d))
        trial = jnp.where(trial < lower, population + r * (lower - population), trial)
        trial = jnp.where(trial > upper, population + r * (upper - population), trial)
        trial_fitness = score(trial)
        better = trial_fitness >= fitness
        population = jnp.where(better[:, None], trial, population)
        fitness = jnp.where(better, trial_fitness, fitness)
        stalled = jnp.where(jnp.max(fitness) > previous_best + 0.01, 0, stalled + 1)
        return generation + 1, key, population, fitness, evaluations + P, stalled

    state = (jnp.int32(0), key, population, fitness, jnp.int32(P), jnp.int32(0))
    generation, _, population, fitness, evaluations, stalled = jax.lax.while_loop(cond, body, state)
    converged = (spread(fitness) <= settings.tolerance) | (stalled >= settings.patience)
    return population, fitness, evaluations, converged


def _to_unbounded(x, lower, upper):
    p = jnp.clip((x - lower) / (upper - lower), 1e-6, 1 - 1e-6)
    return jnp.log(p) - jnp.log1p(-p)


def _to_bounded(z, lower, upper):
    return lower + (upper - lower) * jax.nn.sigmoid(z)


def _gradient_ascent(starts, problem: _Problem, list_length: int, settings: GradientSettings):
    """Adam from each row of ``starts`` ``(S, d)``; returns final points and log-likelihoods."""
    lower, upper = problem.lower, problem.upper
    n_lists = jnp.maximum(jnp.sum(problem.weights), 1.0)

    def loss(z):
        values = _to_bounded(z, lower, upper)
        packed = _pack_full(values, problem.free_index, problem.fixed_full)
        return -_weighted_loglik(packed, problem.recalls, problem.weights, list_length) / n_lists

    optimizer = optax.adam(settings.learning_rate)
    value_and_grad = jax.value_and_grad(loss)

    def run(z):
        def step(carry, _):
            z, opt_state, best_z, best_loss = carry
            value, grad = value_and_grad(z)
            usable = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad))
            grad = jnp.where(usable, grad, 0.0)  # a non-finite point: no step from it
            improved = usable & (value < best_loss)
            best_z = jnp.where(improved, z, best_z)
            best_loss = jnp.where(improved, value, best_loss)
            updates, opt_state = optimizer.update(grad, opt_state, z)
            return (optax.apply_updates(z, updates), opt_state, best_z, best_loss), None

        init = (z, optimizer.init(z), z, jnp.inf)
        (z, _, best_z, best_loss), _ = jax.lax.scan(step, init, None, length=settings.steps)
        final = loss(z)
        take_final = jnp.isfinite(final) & (final < best_loss)
        return jnp.where(take_final, z, best_z)

    z = jax.vmap(run)(_to_unbounded(starts, lower[None, :], upper[None, :]))
    points = _to_bounded(z, lower[None, :], upper[None, :])
    return points, _population_loglik(problem, points, list_length)


@partial(jax.jit, static_argnames=("list_length", "method", "de", "gradient"))
def _fit_problem(key, problem: _Problem, list_length: int, method: str, de: DESettings, gradient: GradientSettings):
    """One subject's maximum-likelihood fit, compiled. Returns (values, loglik, evaluations, converged)."""
    score = partial(_population_loglik, problem, list_length=list_length)
    d = problem.lower.shape[0]
    if method in ("de", "de+gradient"):
        key, de_key = jax.random.split(key)
        population, fitness, evaluations, converged = _differential_evolution(
            de_key, problem, list_length, de, score)
    if method == "de":
        best = jnp.argmax(fitness)
        return population[best], fitness[best], evaluations, converged
    if method == "de+gradient":
        order = jnp.argsort(-fitness)
        starts = population[order[: gradient.starts]]
    else:
        starts = problem.lower[None, :] + jax.random.uniform(key, (gradient.starts, d)) * (problem.upper - problem.lower)[None, :]
        evaluations, converged = jnp.int32(0), jnp.bool_(True)
    points, values = _gradient_ascent(starts, problem, list_length, gradient)
    if method == "de+gradient":  # never worse than what DE found
        points = jnp.concatenate([population[order[:1]], points])
        values = jnp.concatenate([fitness[order[:1]], values])
    best = jnp.argmax(values)
    evaluations = evaluations + gradient.starts * (gradient.steps + 1)
    return points[best], values[best], evaluations, converged


# ----------------------------------------------------------------------------- public API


def _free_and_fixed(fixed: Mapping[str, float] | None):
    fixed = dict(fixed or {})
    check_names(fixed)
    for name, value in fixed.items():
        check_value(name, value)
    free = tuple(n for n in PARAMETER_NAMES if n not in fixed)
    if not free:
        raise ValueError("every parameter is fixed: nothing to fit; leave at least one out of `fixed`.")
    full = np.array([fixed.get(n, DEFAULT_PARAMETERS[n]) for n in PARAMETER_NAMES], np.float32)
    index = np.array([PARAMETER_NAMES.index(n) for n in free], np.int32)
    return free, full, index


def _prepare(recalls, list_length):
    if list_length is None or isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)):
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    cleaned = clean_recalls(recalls, list_length, return_counts=True)
    if cleaned.recalls.shape[0] == 0:
        raise ValueError("no lists to fit: the recall matrix has 0 rows.")
    return cleaned


def fit(recalls, list_length: int, *, key, fixed: Mapping[str, float] | None = None,
        method: str = "de", objective: str = "likelihood",
        de: DESettings = DESettings(), gradient: GradientSettings = GradientSettings(),
        n_simulated: int = 2000) -> FitResult:
    """Fit CMR to one set of lists (usually one subject's).

    Maximizes the total log-likelihood (``CMR_SPEC.md``) of the cleaned recall
    matrix over the free parameters (all but ``fixed``) inside the declared
    bounds, or with ``objective="summary"`` minimizes the squared error
    between simulated and observed SPC, PFR and lag-CRP (lags -5..5).

    Why ``"de"`` is the default: the likelihood surface has several local
    optima. Measured on Healey & Kahana (2014) subject 63 (28 lists; jaxcmr's
    published fit scores -694.93 under the spec; ``benchmarks/bench_fitting.py``,
    3 keys, 2-core CPU): ``"gradient"`` (Adam from 16 random starts) ends at
    -747.6, -701.9 and -705.6 in 1.7 s; ``"de"`` reaches -693.32 with every
    key in 2.7 s; ``"de+gradient"`` also gives -693.32 but takes 3.5 s, so
    the polish buys nothing here.

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix (intrusions and
            repeats are removed first and counted in the result).
        list_length: ``L``.
        key: a JAX PRNG key: the same key and data give the same fit.
        fixed: ``{name: value}`` of parameters held fixed.
        method: ``"de"`` (default), ``"de+gradient"`` or ``"gradient"``.
        objective: ``"likelihood"`` or ``"summary"`` (summary statistics; uses
            differential evolution on simulations of ``n_simulated`` lists).
        de, gradient: optimizer settings (:class:`DESettings`, :class:`GradientSettings`).

    Returns:
        A :class:`FitResult`; its parameters are always finite and in bounds.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}.")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}.")
    start = time.perf_counter()
    cleaned = _prepare(recalls, list_length)
    free, fixed_full, free_index = _free_and_fixed(fixed)
    problem = _Problem(
        recalls=jnp.asarray(cleaned.recalls), weights=jnp.ones(cleaned.recalls.shape[0], jnp.float32),
        free_index=jnp.asarray(free_index), fixed_full=jnp.asarray(fixed_full),
        lower=jnp.asarray(_LOWER[free_index]), upper=jnp.asarray(_UPPER[free_index]))
    if objective == "likelihood":
        values, loglik, evaluations, converged = jax.device_get(
            _fit_problem(key, problem, int(list_length), method, de, gradient))
        loss = -float(loglik)
    else:
        values, loss, evaluations, converged = _fit_summary(key, problem, cleaned.recalls, int(list_length),
                                                            de, n_simulated)
    parameters = _result_parameters(values, free_index, fixed_full)
    loglik = float(_weighted_loglik(jnp.asarray(_full_vector(parameters)), problem.recalls, problem.weights,
                                    int(list_length)))
    return FitResult(parameters=parameters, log_likelihood=loglik, objective=objective, loss=float(loss),
                     method=method if objective == "likelihood" else "de", evaluations=int(evaluations),
                     converged=bool(converged), seconds=time.perf_counter() - start,
                     n_lists=int(cleaned.recalls.shape[0]), n_intrusions=cleaned.n_intrusions,
                     n_repeats=cleaned.n_repeats, free=free)


def _full_vector(parameters: Mapping[str, float]) -> np.ndarray:
    return np.array([parameters[n] for n in PARAMETER_NAMES], np.float32)


def _result_parameters(values, free_index, fixed_full) -> dict[str, float]:
    full = np.array(fixed_full, np.float64)
    full[free_index] = np.asarray(values, np.float64)
    full = np.clip(full, _LOWER, _UPPER)  # float rounding at a bound
    if not np.isfinite(full).all():  # cannot happen: every candidate is inside the box
        raise FloatingPointError(f"fit produced non-finite parameters {full}")
    return {name: float(v) for name, v in zip(PARAMETER_NAMES, full)}


# ----------------------------------------------------------------------------- summary statistics


def _summary_vector(summary: Summary, max_lag: int = 5):
    L = summary.spc.shape[0]
    lags = np.arange(-max_lag, max_lag + 1)
    lags = lags[(lags != 0) & (np.abs(lags) < L)]
    crp = summary.lag_crp[lags + L - 1]
    return jnp.concatenate([summary.spc, summary.pfr, crp])


def summary_loss(simulated: Summary, observed: Summary) -> jax.Array:
    """Sum of squared differences of SPC, PFR and lag-CRP (lags -5..5, lag 0 out); NaNs count 0."""
    diff = _summary_vector(simulated) - _summary_vector(observed)
    return jnp.sum(jnp.where(jnp.isnan(diff), 0.0, diff**2))


def _fit_summary(key, problem: _Problem, recalls, list_length, de: DESettings, n_simulated: int):
    observed = summarize(recalls, list_length)
    sim_key = jax.random.fold_in(key, 1)

    def one(values):
        packed = _pack_full(values, problem.free_index, problem.fixed_full)
        simulated = _simulate(sim_key, packed, list_length, n_simulated)  # common random numbers
        return -summary_loss(_summarize(simulated, list_length), observed)

    @jax.jit
    def run(key, problem):
        score = lambda candidates: _safe(jax.vmap(one)(candidates))  # noqa: E731
        population, fitness, evaluations, converged = _differential_evolution(key, problem, list_length, de, score)
        best = jnp.argmax(fitness)
        return population[best], -fitness[best], evaluations, converged

    return jax.device_get(run(key, problem))


# ----------------------------------------------------------------------------- many subjects


def fit_subjects(dataset, *, key, fixed: Mapping[str, float] | None = None, method: str = "de",
                 de: DESettings = DESettings(), gradient: GradientSettings = GradientSettings(),
                 batch_size: int | None = None, progress: bool = True):
    """Fit every subject of a :class:`~cmrlab.datasets.RecallDataset` by maximum likelihood.

    Subjects are padded to the same number of lists (padding lists have weight
    0), fitted ``batch_size`` at a time with ``vmap``, and each batch is
    sharded over all available JAX devices (``jax.devices()``) along the
    subject axis, so the same call uses every CPU device of
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``, several GPUs, or,
    after ``jax.distributed.initialize()`` on every machine, several machines
    (each process then sees all devices of the job and the batch is split
    over them). Subject ``i`` gets the key ``jax.random.fold_in(key, i)``, so
    the results do not depend on the batching or the number of devices.

    Returns:
        A pandas ``DataFrame`` (one row per subject: ``subject``, the 11
        parameters, ``log_likelihood``, ``n_lists``, ``evaluations``,
        ``converged``) if pandas is installed, else a list of dicts.
    """
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}.")
    subjects = dataset.subjects
    if len(subjects) == 0:
        raise ValueError("the dataset has no lists.")
    L = dataset.list_length
    free, fixed_full, free_index = _free_and_fixed(fixed)
    cleaned = [clean_recalls(dataset.recalls[dataset.subject == s], L) for s in subjects]
    n_max = max(c.shape[0] for c in cleaned)
    width = max(c.shape[1] for c in cleaned)
    recalls = np.zeros((len(subjects), n_max, width), np.int32)
    weights = np.zeros((len(subjects), n_max), np.float32)
    for i, c in enumerate(cleaned):
        recalls[i, : c.shape[0], : c.shape[1]] = c
        weights[i, : c.shape[0]] = 1

    devices = np.array(jax.devices())
    n_devices = len(devices)
    if batch_size is None:
        batch_size = n_devices * max(1, 8 // n_devices)
    batch_size = int(math.ceil(batch_size / n_devices) * n_devices)
    mesh = Mesh(devices, ("subjects",))
    sharded = NamedSharding(mesh, P("subjects"))

    def fit_one(subject_key, subject_recalls, subject_weights):
        problem = _Problem(subject_recalls, subject_weights, jnp.asarray(free_index), jnp.asarray(fixed_full),
                           jnp.asarray(_LOWER[free_index]), jnp.asarray(_UPPER[free_index]))
        return _fit_problem(subject_key, problem, L, method, de, gradient)

    fit_batch = jax.jit(jax.vmap(fit_one), in_shardings=(sharded, sharded, sharded), out_shardings=sharded)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(len(subjects)))
    rows = []
    bar = _progress(len(subjects), progress)
    for first in range(0, len(subjects), batch_size):
        index = np.arange(first, first + batch_size) % len(subjects)  # pad the last batch by wrapping
        out = jax.device_get(fit_batch(keys[index], recalls[index], weights[index]))
        n_real = min(batch_size, len(subjects) - first)
        for j in range(n_real):
            i = first + j
            parameters = _result_parameters(out[0][j], free_index, fixed_full)
            rows.append({"subject": subjects[i].item(), **parameters, "log_likelihood": float(out[1][j]),
                         "n_lists": int(weights[i].sum()), "evaluations": int(out[2][j]),
                         "converged": bool(out[3][j])})
        bar.update(n_real)
    bar.close()
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="fitting subjects", unit="subject", disable=not enabled)


# ----------------------------------------------------------------------------- saving


def save_fit(result: FitResult | Mapping, path) -> Path:
    """Write a fit (or any dict of parameters) as JSON, atomically (no half-written file)."""
    payload = result.to_dict() if isinstance(result, FitResult) else dict(result)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(payload, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def load_fit(path) -> FitResult:
    """Read a fit written by :func:`save_fit`; its parameters are validated."""
    payload = json.loads(Path(path).read_text())
    if "parameters" not in payload:
        raise ValueError(f"{path} is not a saved fit: it has no 'parameters' entry.")
    as_parameters(payload["parameters"])  # all 11 names, in bounds
    payload["free"] = tuple(payload.get("free", ()))
    known = set(FitResult.__dataclass_fields__)
    return FitResult(**{k: v for k, v in payload.items() if k in known})
