"""Estimating CMR parameters from recall data, with an honest word on how sure the answer is.

The likelihood of CMR has several local optima, some of them narrow ridges
on a bound of the parameter box (a choice sensitivity at 100, a support near
0). One search, however good, sometimes ends on the wrong one. So a fit runs
several **independent searches** at once (``vmap``) from independent keys,
reports the best, and counts how many searches reached it:

* ``agreement`` is the number of searches whose best value lies within
  ``tolerance`` (0.5 log-likelihood units by default) of the overall best;
* ``converged`` means at least two independent searches reached that best;
  when they did not, another round of searches runs (up to ``max_rounds``)
  and, if they still disagree, :func:`fit` warns (:class:`FitWarning`) and
  says what to do.

For pooled data (many hundreds of lists) a search can explore a random
subset of the lists and polish its best point on all of them
(:data:`POOLED_SETTINGS`, opt-in).

Each search (:mod:`cmrlab.search`) is a multistart gradient search for the
likelihood (uniform sample, Adam from the best points, Newton polish, and
the polished points moved onto the bounds they are near polished again; the
range of ``choice_sensitivity`` split at 8 and 20, :data:`CHOICE_STRATA`) or
differential evolution for the summary-statistic objective; both work in
coordinates that suit scale parameters (asinh-warped for ranges wider than 1).
``benchmarks/bench_fitting.py`` holds the measurements behind these choices.

The search programs are compiled with
:func:`cmrlab.compilation_cache.fitting_compiler_options` (on a CPU, without
XLA's YNNPACK elementwise fusions, which are slower for these programs);
the rest of cmrlab, and your own JAX code, compile with JAX's defaults.
Each configuration (settings, list length, number of lists and free
parameters) is its own compiled program; a process keeps the ones it used
last, fewer as it nears Linux's limit on memory mappings
(:data:`FITTING_PROGRAMS_KEPT`), so a loop over many configurations runs in
bounded memory.
"""

from __future__ import annotations

import gc
import inspect
import itertools
import json
import math
import os
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial, wraps
from pathlib import Path
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab._transitions import ratio
from cmrlab.analysis import Summary, _summarize, summarize
from cmrlab.compilation_cache import fitting_compiler_options
from cmrlab.likelihood import source_trial_log_likelihoods, trial_log_likelihoods
from cmrlab.organization import _category_counts, distance_rank_in_blocks
from cmrlab.parameters import (
    DEFAULT_PARAMETERS,
    LUCE_PARAMETER_NAMES,
    PARAMETER_NAMES,
    PARAMETERS,
    SOURCE_PARAMETERS,
    as_full_parameters,
    as_parameters,
    bounds,
    check_names,
    check_value,
    unpack,
    unpack_luce,
)
from cmrlab.recalls import clean_recalls
from cmrlab.search import (
    Box,
    DESettings,
    MultistartSettings,
    Strata,
    check_multistart,
    differential_evolution,
    from_unit,
    make_box,
    multistart,
    refine,
    to_unit,
)
from cmrlab.simulation import _simulate, _simulate_source
from cmrlab.study_lists import prepare_lists

METHODS = ("multistart", "de")
OBJECTIVES = ("likelihood", "summary")
TOLERANCE = 0.5
"""Default agreement tolerance: log-likelihood units (``objective="likelihood"``)."""
SUMMARY_TOLERANCE = 0.005
"""Default agreement tolerance of the summary objective (its squared error)."""

_LOWER = np.array([p.lower for p in PARAMETERS], np.float32)
_UPPER = np.array([p.upper for p in PARAMETERS], np.float32)


class _Space(NamedTuple):
    """The parameters a fit works in: the base model's 11, or the full model's 15 (Luce rule)."""

    names: tuple[str, ...]
    lower: np.ndarray     # float32 (P,)
    upper: np.ndarray     # float32 (P,)
    defaults: np.ndarray  # float32 (P,) values of parameters neither fixed nor free
    model: str            # "base" or "full"


BASE_SPACE = _Space(PARAMETER_NAMES, _LOWER, _UPPER,
                    np.array([DEFAULT_PARAMETERS[n] for n in PARAMETER_NAMES], np.float32), "base")
_FULL_DEFAULTS = {**DEFAULT_PARAMETERS, **{p.name: p.default for p in SOURCE_PARAMETERS}}
_full_lower, _full_upper = bounds(LUCE_PARAMETER_NAMES, model="full")
FULL_SPACE = _Space(LUCE_PARAMETER_NAMES, _full_lower.astype(np.float32), _full_upper.astype(np.float32),
                    np.array([_FULL_DEFAULTS[n] for n in LUCE_PARAMETER_NAMES], np.float32), "full")
del _full_lower, _full_upper
_BOUND_EDGE = 1e-3  # a value this close to a face of the unit cube is "at a bound"


class FitWarning(UserWarning):
    """A fit whose independent searches did not agree, or whose data cannot identify the model."""


@dataclass
class FitResult:
    """What a fit found, and what a user needs to judge it.

    Attributes:
        parameters: all parameters (free and fixed) as floats: the 11 of the base
            model, or the 15 Luce-rule parameters of the full model.
        log_likelihood: total log-likelihood of the cleaned data at ``parameters``
            (for ``objective="summary"`` too, for comparison).
        objective: ``"likelihood"`` or ``"summary"``; ``loss`` the value minimised.
        method: the search strategy (``"multistart"`` or ``"de"``).
        evaluations: objective (and gradient) evaluations, all searches together.
        converged: at least two independent searches reached the best value.
        seconds: wall time of the fit (compilation included on a first call).
        n_lists, n_intrusions, n_repeats: the data fitted and what cleaning removed.
        free: names of the fitted parameters.
        searches: how many independent searches ran.
        agreement: how many of them ended within ``tolerance`` of the best.
        search_values: each search's best value (log-likelihood, or loss for
            the summary objective), best first.
        spread: best minus worst of ``search_values`` (in loss units for summary fits).
        tolerance: the agreement tolerance used.
        at_bound: free parameters that ended on (or within 0.1% of) a bound:
            often a sign that the model uses one parameter to stand in for another.
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
    searches: int = 1
    agreement: int = 1
    search_values: tuple[float, ...] = field(default_factory=tuple)
    spread: float = 0.0
    tolerance: float = TOLERANCE
    at_bound: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        for key in ("free", "search_values", "at_bound"):
            d[key] = list(d[key])
        return d

    def __repr__(self) -> str:
        bound = f", at_bound={list(self.at_bound)}" if self.at_bound else ""
        return (f"FitResult(log_likelihood={self.log_likelihood:.2f}, agreement={self.agreement}/{self.searches}, "
                f"converged={self.converged}, spread={self.spread:.2f}{bound}, n_lists={self.n_lists}, "
                f"seconds={self.seconds:.1f})")


# ----------------------------------------------------------------------------- the problem


class _Problem(NamedTuple):
    """One data set prepared for compiled optimisation (all arrays)."""

    recalls: jax.Array     # (n, L) clean recalls, 0-padded
    weights: jax.Array     # (n,) 1 for real lists, 0 for padding lists
    free_index: jax.Array  # (d,) indices of free parameters
    fixed_full: jax.Array  # (P,) values of fixed parameters (free entries ignored); P = 11 or 15
    box: Box               # bounds of the free parameters
    sources: jax.Array | None = None   # full model: (n, L) int32 each list's sources
    semantic: jax.Array | None = None  # full model: (n, L, L) each list's similarity block, or None


def _pack_full(free_values, free_index, fixed_full):
    """Place free values into the full 11-vector of fixed values."""
    return fixed_full.at[free_index].set(free_values)


def _weighted_loglik(packed, recalls, weights, list_length, sources=None, semantic=None, n_sources=0):
    """Sum of per-list log-likelihoods times weights (padding lists weigh 0).

    ``n_sources`` (static) 0 is the base model (``packed`` has 11 values);
    otherwise the full model with ``S = n_sources`` source units (``packed``
    has the 15 Luce-rule values, ``sources`` and ``semantic`` the lists' data).
    """
    if n_sources:
        totals = source_trial_log_likelihoods(unpack_luce(packed), recalls, sources, semantic, n_sources)
    else:
        totals = trial_log_likelihoods(unpack(packed), recalls, list_length)
    return jnp.sum(jnp.where(weights > 0, totals, 0.0) * weights)


_loglik_at = jax.jit(_weighted_loglik, static_argnames=("list_length", "n_sources"))


def _objective(problem: _Problem, list_length: int, n_sources: int = 0):
    def loglik(values):
        packed = _pack_full(values, problem.free_index, problem.fixed_full)
        return _weighted_loglik(packed, problem.recalls, problem.weights, list_length, problem.sources,
                                problem.semantic, n_sources)

    return loglik


def _search_keys(key, first: int, count: int):
    """Keys of searches ``first .. first + count - 1``: ``fold_in(key, j)``."""
    return jax.vmap(lambda j: jax.random.fold_in(key, j))(jnp.arange(first, first + count))


FITTING_PROGRAMS_KEPT = 16
"""The most fitting configurations a process keeps compiled (least recently used first out); fewer near Linux's limit.

A compiled search program is large: on a CPU its kernels' code occupies
4,000 to 8,000 memory mappings, and Linux allows a process 65,530
(``vm.max_map_count``), where XLA's next compilation fails. A process that
fits with many settings, list lengths or parameter sets (a parameter sweep, a
test suite) would otherwise collect programs until it reaches that limit.
So before a new configuration is compiled, the least recently used ones are
dropped while the process holds more than half the limit's mappings, and
beyond this many in any case. A configuration is one program for
:func:`fit`; for :func:`fit_subjects` it is one per batch shape it met.
Dropping one costs only its recompilation when it is needed again (a load
from the persistent cache, :mod:`cmrlab.compilation_cache`, when that is
on). Mappings held by other code count too: a process that holds over half
the limit without cmrlab's programs keeps only the configuration in use.
"""


def _signature(args, kwargs, static_names, bind):
    """What decides which compiled program a call runs: the static values and the arrays' shapes and dtypes."""
    bound = bind(*args, **kwargs)
    key = []
    for name, value in bound.arguments.items():
        if name in static_names:
            key.append((name, value))
        else:
            leaves, tree = jax.tree_util.tree_flatten(value)
            key.append((name, tree, tuple((np.shape(x), str(getattr(x, "dtype", type(x).__name__))) for x in leaves)))
    return tuple(key)


def _mappings() -> tuple[int, int] | None:
    """``(mappings this process holds, the most it may hold)`` on Linux, else ``None``."""
    try:
        with open("/proc/sys/vm/max_map_count") as handle:
            limit = int(handle.read())
        with open("/proc/self/maps", "rb") as handle:
            return sum(1 for _ in handle), limit
    except (OSError, ValueError):
        return None


class _Programs:
    """The fitting programs compiled in this process, by configuration, least recently used first out.

    Each configuration gets its own ``jax.jit`` of a fresh wrapper of the
    function (:func:`_fresh`), so that dropping the configuration lets JAX
    free its compiled code: a ``jax.jit`` keeps every program it compiled as
    long as the wrapped function lives. See :data:`FITTING_PROGRAMS_KEPT`.
    """

    def __init__(self):
        self.programs: OrderedDict = OrderedDict()
        self.lock = threading.Lock()  # fits may run in several threads

    def get(self, key, build):
        with self.lock:
            program = self.programs.pop(key, None)
            if program is None:
                self._make_room()
                program = build()
            self.programs[key] = program
            return program

    def _make_room(self):
        dropped = False
        while len(self.programs) >= FITTING_PROGRAMS_KEPT:
            self.programs.popitem(last=False)
            dropped = True
        if dropped:
            gc.collect()  # the compiled code goes with its last reference, some of them in cycles
        while self.programs:
            held = _mappings()
            if held is None or held[0] <= held[1] // 2:
                break
            self.programs.popitem(last=False)
            gc.collect()


_PROGRAMS = _Programs()


def _fresh(function):
    """A new function object that calls ``function`` (same name, signature and docstring)."""
    @wraps(function)
    def program(*args, **kwargs):
        return function(*args, **kwargs)

    return program


class _FittingJit:
    """``jax.jit`` with :func:`~cmrlab.compilation_cache.fitting_compiler_options`, one per configuration.

    Called at the top level, each configuration (static arguments, shapes
    and dtypes) gets its own compiled program, kept in :data:`_PROGRAMS`
    (see :data:`FITTING_PROGRAMS_KEPT`).
    Built lazily because asking which options this XLA accepts starts JAX's
    backend, which ``import cmrlab`` must not do (``jax.distributed`` has to
    be initialised first). Called inside another jit, where JAX refuses
    compiler options, the function is traced into it as usual.
    """

    def __init__(self, function, static_argnames):
        self.function, self.static_argnames = function, frozenset(static_argnames)
        self.bind = inspect.signature(function).bind
        self.nested = jax.jit(function, static_argnames=static_argnames)
        self.__doc__, self.__name__ = function.__doc__, function.__name__

    def __call__(self, *args, **kwargs):
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs))):
            return self.nested(*args, **kwargs)
        key = (self.function, _signature(args, kwargs, self.static_argnames, self.bind))
        program = _PROGRAMS.get(key, lambda: jax.jit(
            _fresh(self.function), static_argnames=tuple(self.static_argnames),
            compiler_options=fitting_compiler_options()))
        return program(*args, **kwargs)


@partial(_FittingJit, static_argnames=("list_length", "method", "settings", "n_sources", "strata"))
def _likelihood_searches(keys, problem: _Problem, list_length: int, method: str, settings, n_sources: int = 0,
                         strata: Strata | None = None):
    """Independent likelihood searches, one per key: ``(R,)`` keys -> values ``(R, d)``, loglik ``(R,)``, costs."""
    objective = _objective(problem, list_length, n_sources)

    def one(key):
        if method == "multistart" and settings.subsample:
            pick_key, key = jax.random.split(key)
            part = _objective(_some_lists(pick_key, problem, settings.subsample), list_length, n_sources)
            found = multistart(key, part, problem.box, settings, strata)
            polished = refine(objective, problem.box, found.z, settings.polish_steps)
            found = polished._replace(evaluations=polished.evaluations + found.evaluations)
        elif method == "multistart":
            found = multistart(key, objective, problem.box, settings, strata)
        else:
            found = differential_evolution(key, jax.vmap(objective), problem.box, settings)
        return from_unit(found.z, problem.box), found.value, found.evaluations

    return jax.vmap(one)(keys)


def _some_lists(key, problem: _Problem, count: int) -> _Problem:
    """``problem`` on ``count`` of its real (weight > 0) lists, drawn at random without replacement."""
    order = jax.random.uniform(key, problem.weights.shape) + (problem.weights > 0)  # real lists first
    rows = jax.lax.top_k(order, count)[1]
    return problem._replace(recalls=problem.recalls[rows], weights=problem.weights[rows],
                            sources=None if problem.sources is None else problem.sources[rows],
                            semantic=None if problem.semantic is None else problem.semantic[rows])


CHOICE_STRATA = ((8.0, 20.0), (1.0, 1.0, 1.0))
"""Where a multistart search splits ``choice_sensitivity``'s range, and each part's share of the starts.

Many subjects' best fits sit on a long, narrow ridge at a high Luce exponent
(e.g. ``choice_sensitivity`` 30 to 90, with large supports), where a sample
over the whole range rarely starts Adam; others sit between 8 and 20. A
search that samples ``[eps, 8]``, ``[8, 20]`` and ``[20, 100]`` separately,
with a third of its starts in each, finds them more often: on six hard
Healey & Kahana (2014) subjects 62 of 96 searches reached the best value,
against 48 of 96 with one split at 20, at the same cost
(``benchmarks/bench_fitting.py reliability``; the commit that set these
values gives the per-subject counts).
"""

SEARCHES = 8
"""Independent searches per round of :func:`fit` and :func:`fit_subjects`.

On the hardest subjects measured, one search reaches the best optimum in 3
to 8 cases of 10, and searches are independent (over 12 keys, the counts
among searches 0-7 and among 8-15 of subject 91 are not positively
correlated: r = -0.30), so eight searches all miss it with probability
``(1 - p) ** 8``. Since each search screens its Adam starts
(``MultistartSettings.screen``), the searches of keys 0 and 1 (32 per
subject) reached the best value in 24 of 32 for subject 91, 25 for 234, 28
for 64 and 25 for 198, against 17, 14, 26 and 22 without the screening:
for subject 91, ``p`` rose from 0.41 (78 of 192 searches, 95% interval
0.34-0.48: a fit misses in 1 of 65) to 0.75 (interval 0.57-0.89: a fit
misses in 1 of 65,000, or 1 of 800 at the interval's low end;
``benchmarks/bench_fitting.py searches``). Each search
costs about 3.6 s for 28 lists on 2 CPU cores, so a fit about 29 s (26 s
without the screening).

Two subjects stay hard: their best optimum has a basin that few starts of
any kind land in. Subject 87 reached it in 4 of 32 searches (3 without the
screening), subject 133 in 4 of 64 (5 without): the other searches agree on
an optimum 0.57 (87) and 2.04 (133) lower, and so a fit of them is
confidently wrong for a third (87) to half (133) of all keys. Neither the
screening nor 16 times as many samples (``samples=65536``, about 1.5 times
the cost: 4 and 3 of 32) helps them; for subject 91, other splits of Adam's
budget between starts and steps, a learning rate of 0.05 or 0.2, and
polishing more Adam results did not help either.
"""


POOLED_SETTINGS = MultistartSettings(samples=1024, starts=12, steps=100, screen=2, screen_steps=20,
                                     polish_starts=1, polish_steps=10, subsample=256)
"""A quick search for pooled data, opt-in: ``fit(..., settings=POOLED_SETTINGS, searches=4)``.

Each search explores on 256 of the lists drawn at random (its own draw),
a shorter version of the default search, and polishes its best point on all
lists with 10 Newton steps (``MultistartSettings.subsample``); every value
reported is that of all the lists. ``benchmarks/bench_fitting.py pooled``,
4 searches a fit, 8 keys, on a 2-core AMD EPYC shared with other jobs:

* the no-task lists of the first 100 Healey & Kahana (2014) subjects
  (2,800 lists): 8 of 8 keys within 0.5 of the best value found, 28 of 32
  searches; 38.5 s a fit (median), 142 s for the first (compilation);
* Polyn et al. (2009), base model (1,262 lists of 24): 8 of 8 keys, 22 of
  32 searches; 88 s a fit (median; more jobs shared the machine);
* Murdock (1962), 20 words at 2 s (1,200 lists): **2 of 8 keys**, 3 of 84
  searches (6 of 8 fits ran all three rounds): most searches end about 270
  below the best, near ``choice_sensitivity`` 8 with both supports near 0,
  while the best lies on a ridge at ``choice_sensitivity`` about 75 that
  Adam from 4 starts per stratum rarely reaches (from 8, one search of 3
  did), and 10 Newton steps leave it 2 to 4 units short.

So it is not the default: where its searches disagree, :func:`fit` says so;
raise ``starts`` and ``polish_steps``, or use the default search.
"""


def _strata(free: tuple[str, ...]) -> Strata | None:
    """The multistart strata of a fit whose free parameters are ``free`` (none when tau is fixed)."""
    if "choice_sensitivity" not in free:
        return None
    edges, weights = CHOICE_STRATA
    return Strata(free.index("choice_sensitivity"), edges, weights)


# ----------------------------------------------------------------------------- preparing data


def _free_and_fixed(fixed: Mapping[str, float] | None, space: _Space = BASE_SPACE, inert: tuple[str, ...] = ()):
    """Free names, the full vector of fixed values and the free indices; ``inert`` parameters stay at their default."""
    if fixed is not None and not isinstance(fixed, Mapping):
        raise ValueError(f"fixed must be a dict {{name: value}}, got {type(fixed).__name__}.")
    fixed = dict(fixed or {})
    if space.model == "base":
        source_names = [n for n in fixed if n in LUCE_PARAMETER_NAMES and n not in PARAMETER_NAMES]
        if source_names:
            raise ValueError(
                f"{source_names} are parameters of the full model: they act only on lists with sources or "
                "semantics. Pass study_items=, sources= and/or similarity= to fit the full model.")
        check_names(fixed)
    else:
        unknown = [n for n in fixed if n not in space.names]
        if unknown:
            raise ValueError(
                f"cannot fix {unknown}: the full model's likelihood (Luce rule) has the parameters "
                + ", ".join(space.names) + " (the accumulator's have no likelihood).")
    for name, value in fixed.items():
        check_value(name, value, space.model)
    free = tuple(n for n in space.names if n not in fixed and n not in inert)
    if not free:
        raise ValueError("every parameter is fixed: nothing to fit; leave at least one out of `fixed`.")
    full = np.array([fixed.get(n, space.defaults[i]) for i, n in enumerate(space.names)], np.float32)
    index = np.array([space.names.index(n) for n in free], np.int32)
    return free, full, index


def _list_data(n_lists: int, list_length: int, study_items, sources, similarity, rows_name="recalls"):
    """The space, the per-list arrays (sources, semantic), ``S`` (0 = base model) and the inert parameters."""
    if study_items is None and sources is None and similarity is None:
        return BASE_SPACE, None, None, 0, ()
    data = prepare_lists(n_lists, list_length, study_items, sources, similarity, rows_name=rows_name)
    inert = []
    if not data.has_sources:  # one source: nothing to drift to, no shift to disrupt
        inert += ["source_drift_rate", "shift_drift_rate"]
    if not data.has_semantics:
        inert += ["semantic_scale"]
    sources_matrix = np.ascontiguousarray(data.source_matrix(n_lists, list_length), np.int32)
    semantic = None if data.semantic is None else np.ascontiguousarray(data.semantic, np.float32)
    return FULL_SPACE, sources_matrix, semantic, data.n_sources, tuple(inert)


def _check_list_length(list_length) -> int:
    if isinstance(list_length, (bool, np.bool_)) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    return int(list_length)


def _padded(clean: np.ndarray, list_length: int, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n_rows, L)`` recalls and ``(n_rows,)`` weights: real lists first, weight-0 padding after."""
    recalls = np.zeros((n_rows, list_length), np.int32)
    recalls[: clean.shape[0], : clean.shape[1]] = clean
    weights = np.zeros(n_rows, np.float32)
    weights[: clean.shape[0]] = 1
    return recalls, weights


def _padded_rows(array: np.ndarray | None, n_rows: int) -> np.ndarray | None:
    """``array`` with zero rows appended up to ``n_rows`` (for the padding lists)."""
    if array is None:
        return None
    out = np.zeros((n_rows,) + array.shape[1:], array.dtype)
    out[: array.shape[0]] = array
    return out


def _problem(clean: np.ndarray, list_length: int, free_index, fixed_full, space: _Space,
             sources: np.ndarray | None = None, semantic: np.ndarray | None = None) -> _Problem:
    """One data set's :class:`_Problem`: rows padded to :func:`_bucket` (weight 0), the free parameters' box."""
    n_rows = _bucket(clean.shape[0])
    recalls, weights = _padded(clean, list_length, n_rows)
    sources, semantic = _padded_rows(sources, n_rows), _padded_rows(semantic, n_rows)
    return _Problem(jnp.asarray(recalls), jnp.asarray(weights), jnp.asarray(free_index), jnp.asarray(fixed_full),
                    make_box(space.lower[free_index], space.upper[free_index]),
                    None if sources is None else jnp.asarray(sources),
                    None if semantic is None else jnp.asarray(semantic))


def _bucket(n: int) -> int:
    """Lists are padded to a multiple of 4, so that fits of similar data sets share compiled code."""
    return int(math.ceil(n / 4) * 4)


def _check_identifiable(clean: np.ndarray, label: str = "") -> None:
    """Refuse data with no recall at all; warn when no list has a transition to learn drift from."""
    counts = (clean > 0).sum(axis=1)
    where = f" ({label})" if label else ""
    if counts.sum() == 0:
        raise ValueError(
            f"nothing to fit{where}: no list has a valid recall once intrusions and repeats are removed, so the "
            "likelihood depends on the stop probability alone and every other parameter is arbitrary. Check the "
            "recall codes (1..L = serial positions), or fit more lists."
        )
    if (counts >= 2).sum() == 0:
        warnings.warn(
            f"no list has two valid recalls{where}: without a transition between recalls the drift rates and "
            "associations cannot be told apart; the fitted values of those parameters mean little.",
            FitWarning, stacklevel=3)


# ----------------------------------------------------------------------------- public API


def _default_settings(method: str, objective: str, settings):
    if settings is not None:
        expected = MultistartSettings if method == "multistart" else DESettings
        if not isinstance(settings, expected):
            raise ValueError(f"settings for method {method!r} must be a {expected.__name__}, got "
                             f"{type(settings).__name__}.")
        return check_multistart(settings) if method == "multistart" else settings
    if objective == "summary":
        return DESettings(population=48, generations=60)
    return MultistartSettings() if method == "multistart" else DESettings()


def _for_lists(settings, n_lists: int):
    """``settings`` for data of ``n_lists`` lists (the fewest of any subject): a subsample of them all is none."""
    if isinstance(settings, MultistartSettings) and settings.subsample >= n_lists:
        return settings._replace(subsample=0)
    return settings


def _check_choices(method, objective, searches, max_rounds):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}.")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}.")
    if objective == "summary" and method != "de":
        raise ValueError('objective="summary" needs method="de": simulated curves have no useful gradient.')
    for name, value in (("searches", searches), ("max_rounds", max_rounds)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")


def fit(recalls, list_length: int, *, key, fixed: Mapping[str, float] | None = None,
        method: str | None = None, objective: str = "likelihood", searches: int = SEARCHES, max_rounds: int = 3,
        tolerance: float | None = None, settings: MultistartSettings | DESettings | None = None,
        n_simulated: int = 2000, study_items=None, sources=None, similarity=None) -> FitResult:
    """Fit CMR to one set of lists (usually one subject's).

    Maximises the total log-likelihood (``docs/model.md``) of the cleaned
    recall matrix over the free parameters (all but ``fixed``) inside the
    declared bounds; or, with ``objective="summary"``, minimises the squared
    error between simulated and observed SPC, PFR and lag-CRP (lags -5..5).

    With ``study_items``/``similarity`` and/or ``sources`` it fits the full
    model of Polyn, Norman & Kahana (2009) (``docs/source_model.md``) with
    the Luce rule: the 11 base parameters plus ``source_drift_rate``,
    ``shift_drift_rate``, ``source_learning_rate`` and ``semantic_scale``
    (15), each list studied with its own words and tasks. A parameter with
    nothing to act on is not fitted and stays 0: ``semantic_scale`` without
    a similarity matrix, ``source_drift_rate`` and ``shift_drift_rate``
    without sources. One evaluation covers every list, so the full model's
    fit costs far more than the base model's: pass ``settings=
    MultistartSettings(...)`` with fewer samples and starts for a quick look.
    The full model's summary objective simulates the data's own lists (their
    words and tasks, Luce rule; ``max(1, n_simulated // n_lists)`` times each)
    and adds two entries to the squared error: source clustering
    (:func:`cmrlab.category_crp` with the sources as categories, on the lists
    with more than one source) and the semantic factor
    (:func:`cmrlab.distance_rank` with ``1 - similarity``), each where the
    data allow it. On the 1,262 lists of Polyn et al. (2009) one evaluation
    simulates them all: pass small ``DESettings(...)`` first.

    ``searches`` independent searches run at once; if fewer than two of them
    reach the best value (within ``tolerance``), another round of
    ``searches`` runs, up to ``max_rounds`` rounds. The best point of all
    searches is returned; :attr:`FitResult.agreement` says how many reached it.

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix (intrusions and
            repeats are removed first and counted in the result).
        list_length: ``L``.
        key: a JAX PRNG key: the same key and data give the same fit. Search
            ``j`` uses ``jax.random.fold_in(key, j)``.
        fixed: ``{name: value}`` of parameters held fixed.
        method: ``"multistart"`` (default for the likelihood) or ``"de"``
            (differential evolution; the only choice for the summary objective).
        objective: ``"likelihood"`` or ``"summary"``.
        searches: independent searches per round (:data:`SEARCHES`).
        max_rounds: the most rounds of searches.
        tolerance: agreement tolerance (default 0.5 log-likelihood units, or
            0.005 squared error for the summary objective).
        settings: a :class:`~cmrlab.search.MultistartSettings` or
            :class:`~cmrlab.search.DESettings` for each search
            (:data:`POOLED_SETTINGS` explores a subset of many lists).
        n_simulated: lists simulated per evaluation of the summary objective.
        study_items: int ``(n_lists, L)`` each list's words as 0-based rows of
            ``similarity`` (full model; with ``similarity``).
        sources: int ``(n_lists, L)`` each serial position's source (task),
            codes ``0..S-1`` (full model).
        similarity: ``(P, P)`` the word pool's similarity matrix (full model).

    Returns:
        A :class:`FitResult`; its parameters are always finite and in bounds
        (the 11 base parameters, or the 15 of the full model).

    Warns:
        FitWarning: the searches did not agree (the message says what to do),
            or no list has two recalls.
    """
    method = method or ("de" if objective == "summary" else "multistart")
    _check_choices(method, objective, searches, max_rounds)
    settings = _default_settings(method, objective, settings)
    tolerance = float(tolerance if tolerance is not None else (SUMMARY_TOLERANCE if objective == "summary"
                                                                 else TOLERANCE))
    start = time.perf_counter()
    L = _check_list_length(list_length)
    cleaned = clean_recalls(recalls, L, return_counts=True)
    n_lists = cleaned.recalls.shape[0]
    settings = _for_lists(settings, n_lists)
    if n_lists == 0:
        raise ValueError("no lists to fit: the recall matrix has 0 rows.")
    _check_identifiable(cleaned.recalls)
    space, list_sources, semantic, n_sources, inert = _list_data(n_lists, L, study_items, sources, similarity)
    free, fixed_full, free_index = _free_and_fixed(fixed, space, inert)
    problem = _problem(cleaned.recalls, L, free_index, fixed_full, space, list_sources, semantic)
    if objective == "likelihood":
        def run_round(first):
            return _likelihood_searches(_search_keys(key, first, searches), problem, L, method, settings, n_sources,
                                        _strata(free))
        sign = 1.0
    elif not n_sources:
        observed = summarize(cleaned.recalls, L)
        simulation_key = jax.random.fold_in(key, 2**31 - 1)  # common random numbers for every search

        def run_round(first):
            return _summary_searches(_search_keys(key, first, searches), simulation_key, problem, observed, L,
                                     settings, n_simulated)
        sign = -1.0
    else:
        lists = _full_summary_lists(list_sources, semantic, study_items, similarity, n_lists, L)
        observed = _full_summary_vector(jnp.asarray(cleaned.recalls), lists, L)
        simulation_key = jax.random.fold_in(key, 2**31 - 1)  # common random numbers for every search
        replicates = max(1, n_simulated // n_lists)

        def run_round(first):
            return _full_summary_searches(_search_keys(key, first, searches), simulation_key, problem.free_index,
                                          problem.fixed_full, problem.box, lists, observed, L, settings, n_sources,
                                          replicates)
        sign = -1.0
    values, scores, evaluations = _rounds(run_round, searches, max_rounds, tolerance)
    best = int(np.argmax(scores))
    parameters = _result_parameters(values[best], free_index, fixed_full, space)
    loglik = float(_loglik_at(jnp.asarray(_full_vector(parameters, space)), problem.recalls, problem.weights, L,
                              problem.sources, problem.semantic, n_sources))
    agreement = int(np.sum(scores >= scores[best] - tolerance))
    result = FitResult(
        parameters=parameters, log_likelihood=loglik, objective=objective, loss=float(-scores[best]),
        method=method, evaluations=int(evaluations), converged=agreement >= 2,
        seconds=time.perf_counter() - start, n_lists=n_lists, n_intrusions=cleaned.n_intrusions,
        n_repeats=cleaned.n_repeats, free=free, searches=len(scores), agreement=agreement,
        search_values=tuple(float(sign * v) for v in np.sort(scores)[::-1]),
        spread=float(scores.max() - scores.min()), tolerance=tolerance,
        at_bound=_at_bound(values[best], free, problem.box))
    if not result.converged:
        warnings.warn(_disagreement_message(result, searches), FitWarning, stacklevel=2)
    return result


def _rounds(run_round, searches: int, max_rounds: int, tolerance: float):
    """Run rounds of independent searches until two agree on the best; pool everything."""
    values, scores, evaluations = [], [], 0
    for round_index in range(max_rounds):
        v, s, e = jax.device_get(run_round(round_index * searches))
        values.append(np.asarray(v, np.float64))
        scores.append(np.asarray(s, np.float64))
        evaluations += int(np.sum(e))
        pooled = np.concatenate(scores)
        if np.sum(pooled >= pooled.max() - tolerance) >= 2:
            break
    return np.concatenate(values), np.concatenate(scores), evaluations


def _at_bound(values, free, box: Box) -> tuple[str, ...]:
    z = np.asarray(to_unit(jnp.asarray(values, jnp.float32), box))
    return tuple(name for name, u in zip(free, z) if u < _BOUND_EDGE or u > 1 - _BOUND_EDGE)


def _disagreement_message(result: FitResult, searches: int) -> str:
    """The warning's text; ``searches`` is per round (``result.searches`` counts every round)."""
    values = ", ".join(f"{v:.2f}" for v in result.search_values[:8])
    what = "log-likelihood" if result.objective == "likelihood" else "loss"
    advice = (f"Run more searches (searches={2 * searches} or more, or max_rounds=5) "
              "to check whether a better optimum exists"
              if result.agreement < 2 else "")
    bound = ""
    if result.at_bound:
        bound = (f"; {', '.join(result.at_bound)} ended on a bound: fixing such a parameter (fixed={{...}}) often "
                 "makes the rest identifiable")
    return (f"the {result.searches} independent searches did not agree: only {result.agreement} reached the best "
            f"{what} (within {result.tolerance:g}); their values: {values}. The best is reported. {advice}{bound}.")


def _full_vector(parameters: Mapping[str, float], space: _Space = BASE_SPACE) -> np.ndarray:
    return np.array([parameters[n] for n in space.names], np.float32)


def _result_parameters(values, free_index, fixed_full, space: _Space = BASE_SPACE) -> dict[str, float]:
    full = np.array(fixed_full, np.float64)
    full[free_index] = np.asarray(values, np.float64)
    full = np.clip(full, space.lower, space.upper)  # float rounding at a bound
    if not np.isfinite(full).all():  # cannot happen: every candidate is inside the box
        raise FloatingPointError(f"fit produced non-finite parameters {full}")
    return {name: float(v) for name, v in zip(space.names, full)}


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


@partial(_FittingJit, static_argnames=("list_length", "settings", "n_simulated"))
def _summary_searches(keys, simulation_key, problem: _Problem, observed: Summary, list_length: int,
                      settings: DESettings, n_simulated: int):
    """Independent DE searches of the summary objective (``-loss``, maximised)."""

    def score(values):
        packed = _pack_full(values, problem.free_index, problem.fixed_full)
        simulated = _simulate(simulation_key, packed, list_length, n_simulated)
        return -summary_loss(_summarize(simulated, list_length), observed)

    def one(key):
        found = differential_evolution(key, jax.vmap(score), problem.box, settings)
        return from_unit(found.z, problem.box), found.value, found.evaluations

    return jax.vmap(one)(keys)


class _FullSummaryLists(NamedTuple):
    """What the full model's summary objective needs of the data's lists (all ``(n, ...)``, unpadded)."""

    sources: jax.Array               # (n, L) int32 each list's sources (zeros without sources)
    semantic: jax.Array | None       # (n, L, L) each list's similarity block (the model's), or None
    mixed: jax.Array | None          # (n,) bool lists with more than one source, or None (no source clustering)
    distances: jax.Array | None      # (n, L, L) 1 - similarity between each list's positions, or None


def _full_summary_lists(sources, semantic, study_items, similarity, n_lists: int, list_length: int):
    sources = np.asarray(sources, np.int32)
    mixed = sources.min(axis=1) != sources.max(axis=1)
    distances = None
    if similarity is not None:
        items = np.broadcast_to(np.asarray(study_items, np.int64), (n_lists, list_length))
        pool = np.asarray(similarity, np.float32)
        distances = jnp.asarray(1 - pool[items[:, :, None], items[:, None, :]])
    return _FullSummaryLists(jnp.asarray(sources), None if semantic is None else jnp.asarray(semantic),
                             jnp.asarray(mixed) if mixed.any() else None, distances)


@partial(jax.jit, static_argnames="list_length")
def _full_summary_vector(recalls, lists: _FullSummaryLists, list_length: int):
    """The base summary (SPC, PFR, lag-CRP -5..5), then source clustering and the semantic factor.

    Source clustering: :func:`cmrlab.category_crp` with the sources as
    categories, over the lists with more than one source; the semantic
    factor: :func:`cmrlab.distance_rank` with ``1 - similarity``. Each is
    left out when the lists have no such data.
    """
    parts = [_summary_vector(_summarize(recalls, list_length))]
    if lists.mixed is not None:
        counts = _category_counts(jnp.where(lists.mixed[:, None], recalls, 0), lists.sources, list_length)
        parts.append(ratio(*counts)[None])
    if lists.distances is not None:
        parts.append(distance_rank_in_blocks(recalls, lists.distances, list_length)[None])
    return jnp.concatenate(parts)


@partial(_FittingJit, static_argnames=("list_length", "settings", "n_sources", "replicates"))
def _full_summary_searches(keys, simulation_key, free_index, fixed_full, box: Box, lists: _FullSummaryLists,
                           observed, list_length: int, settings: DESettings, n_sources: int, replicates: int):
    """Independent DE searches of the full model's summary objective: the data's own lists simulated
    ``replicates`` times with the Luce rule at every evaluation (common random numbers)."""
    lists = jax.tree_util.tree_map(lambda x: jnp.tile(x, (replicates,) + (1,) * (x.ndim - 1)), lists)
    uniforms = jax.random.uniform(simulation_key, (list_length, lists.sources.shape[0]))

    def score(values):
        packed = _pack_full(values, free_index, fixed_full)
        simulated = _simulate_source(uniforms, packed, lists.sources, lists.semantic, n_sources)
        diff = _full_summary_vector(simulated, lists, list_length) - observed
        return -jnp.sum(jnp.where(jnp.isnan(diff), 0.0, diff**2))

    def one(key):
        found = differential_evolution(key, jax.vmap(score), box, settings)
        return from_unit(found.z, box), found.value, found.evaluations

    return jax.vmap(one)(keys)


# ----------------------------------------------------------------------------- many subjects


def fit_subjects(dataset, *, key, fixed: Mapping[str, float] | None = None, method: str = "multistart",
                 searches: int = SEARCHES, max_rounds: int = 3, tolerance: float = TOLERANCE,
                 settings: MultistartSettings | DESettings | None = None,
                 batch_size: int | None = None, progress: bool = True, study_items=None, sources=None,
                 similarity=None):
    """Fit every subject of a :class:`~cmrlab.datasets.RecallDataset` by maximum likelihood.

    Each subject gets the fit :func:`fit` would give it with the key
    ``jax.random.fold_in(key, i)`` (``i`` = the subject's index in
    ``dataset.subjects``): the same searches and rounds, so results do not
    depend on the batch size or the number of devices beyond float32
    rounding. A program for another batch width or device count may sum in
    another order; a search that has converged does not carry that far, one
    stopped on a long flat ridge can. Measured with the default settings on
    six of the hardest Healey & Kahana (2014) subjects: log-likelihoods
    within 0.015 between one device and two or four, though the agreement
    count of one subject changed by one or two searches (a search ending
    near 0.5 from the best). Subjects are
    padded to the same number of lists (padding lists have weight 0), fitted
    ``batch_size`` at a time with ``vmap``, and each batch is sharded over all
    JAX devices of this process (``jax.local_devices()``) along the subject
    axis: every CPU device of
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``, or several GPUs.
    A second round of searches runs only for the subjects whose searches did
    not agree. A ``settings.subsample`` at least the smallest subject's
    number of lists is turned off (every list is searched).

    **Several processes.** After ``jax.distributed.initialize()`` in every
    process (``jax.process_count() > 1``), every process calls
    ``fit_subjects`` with the same arguments; subject ``i`` is fitted by
    process ``i % process_count`` on its own devices (``batch_size`` is per
    process), and the fits are gathered (``multihost_utils.process_allgather``;
    on CPUs through Gloo, ``jax_cpu_collectives_implementation="gloo"``), so
    every process returns the same table: the one a single process gives,
    bit for bit with one device per process. Process 0 alone shows the
    progress bar, counting every process's subjects (and the rounds added
    for subjects still to settle), through the key-value store of JAX's
    coordination service; the processes wait there for one another before
    the gather, which then starts in step. An error in one process's fits
    is raised in every process. ``python -m cmrlab.distributed`` launches
    such a job and writes the table (:mod:`cmrlab.distributed`).

    With one device (JAX's default on a CPU) subjects are fitted one at a
    time by the program :func:`fit` compiles (``batch_size=1``): nothing
    new to compile, and each call already runs all searches of the subject
    at once. ``batch_size`` above 1 (the default with several devices)
    vmaps over subjects, which pays on several devices or a GPU but
    compiles a larger program.

    ``study_items``, ``sources`` (``(n_lists, L)``, rows as
    ``dataset.recalls``) and ``similarity`` fit the full model, as in
    :func:`fit`; e.g. for :func:`~cmrlab.datasets.load_polyn2009`'s data
    ``study_items=data.study_items, sources=data.sources,
    similarity=data.similarity``.

    Returns:
        A pandas ``DataFrame`` (one row per subject: ``subject``, the 11
        parameters (15 for the full model), ``log_likelihood``, ``agreement``, ``searches``,
        ``spread``, ``converged``, ``at_bound``, ``n_lists``, ``evaluations``)
        if pandas is installed, else a list of dicts.
    """
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    _check_choices(method, "likelihood", searches, max_rounds)
    settings = _default_settings(method, "likelihood", settings)
    subjects = dataset.subjects
    if len(subjects) == 0:
        raise ValueError("the dataset has no lists.")
    L = _check_list_length(dataset.list_length)
    space, list_sources, semantic, n_sources, inert = _list_data(
        dataset.recalls.shape[0], L, study_items, sources, similarity, rows_name="dataset.recalls")
    free, fixed_full, free_index = _free_and_fixed(fixed, space, inert)
    rows_of = [np.flatnonzero(dataset.subject == s) for s in subjects]
    cleaned = [clean_recalls(dataset.recalls[rows], L) for rows in rows_of]
    for s, c in zip(subjects, cleaned):
        _check_identifiable(c, f"subject {s}")
    settings = _for_lists(settings, min(c.shape[0] for c in cleaned))
    n_rows = _bucket(max(c.shape[0] for c in cleaned))
    recalls = np.zeros((len(subjects), n_rows, L), np.int32)
    weights = np.zeros((len(subjects), n_rows), np.float32)
    for i, c in enumerate(cleaned):
        recalls[i], weights[i] = _padded(c, L, n_rows)
    by_subject_sources = by_subject_semantic = None
    if n_sources:
        by_subject_sources = np.stack([_padded_rows(list_sources[rows], n_rows) for rows in rows_of])
        if semantic is not None:
            by_subject_semantic = np.stack([_padded_rows(semantic[rows], n_rows) for rows in rows_of])
    box = make_box(space.lower[free_index], space.upper[free_index])
    strata = _strata(free)

    devices = np.array(jax.local_devices())  # this process's devices (all of them in a one-process job)
    n_devices = len(devices)
    if batch_size is None:
        batch_size = 1 if n_devices == 1 else n_devices * max(1, 8 // n_devices)
    batch_size = int(math.ceil(batch_size / n_devices) * n_devices)
    if batch_size == 1:
        # one subject at a time: the very program fit() runs (compiled once, shared with fit and the
        # persistent cache); each call already runs every search and start of the subject at once
        def fit_batch(keys, recalls, weights, free_index, fixed_full, box, sources, semantic):
            problem = _Problem(recalls[0], weights[0], free_index, fixed_full, box,
                               None if sources is None else sources[0], None if semantic is None else semantic[0])
            return jax.tree_util.tree_map(lambda x: x[None], _likelihood_searches(
                keys[0], problem, L, method, settings, n_sources, strata))
    else:
        sharded = NamedSharding(Mesh(devices, ("subjects",)), P("subjects"))
        fit_batch = _batched_searches(L, method, settings, sharded, n_sources, strata)
    subject_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(len(subjects)))

    def run_batch(round_index, chunk):
        """Round ``round_index`` of the subjects ``chunk``: (values, scores, evaluations), one row each."""
        index = np.resize(chunk, batch_size)  # pad the last batch by repeating subjects
        keys = jax.vmap(lambda k: _search_keys(k, round_index * searches, searches))(subject_keys[index])
        batch_sources = None if by_subject_sources is None else jnp.asarray(by_subject_sources[index])
        batch_semantic = None if by_subject_semantic is None else jnp.asarray(by_subject_semantic[index])
        out = jax.device_get(fit_batch(keys, jnp.asarray(recalls[index]), jnp.asarray(weights[index]),
                                       jnp.asarray(free_index), jnp.asarray(fixed_full), box,
                                       batch_sources, batch_semantic))
        return [np.asarray(part)[: len(chunk)] for part in out]

    if jax.process_count() == 1:
        bar = _progress(len(subjects), progress)

        def on_round(round_index, pending):
            if round_index:
                bar.set_description(f"fitting subjects (round {round_index + 1}: {len(pending)} to settle)")
                bar.reset(total=len(pending))

        found = _subject_rounds(np.arange(len(subjects)), run_batch, batch_size, max_rounds, tolerance,
                                on_round, lambda chunk: bar.update(len(chunk)))
        bar.close()
    else:
        found = _fit_subjects_of_this_process(len(subjects), run_batch, batch_size, max_rounds, tolerance,
                                              progress, searches, len(free_index))
    values = [[np.asarray(v, np.float64) for v in found[i][0]] for i in range(len(subjects))]
    scores = [[np.asarray(v, np.float64) for v in found[i][1]] for i in range(len(subjects))]
    evaluations = [int(sum(np.sum(e, dtype=np.int64) for e in found[i][2])) for i in range(len(subjects))]

    rows = []
    for i, subject in enumerate(subjects):
        v, s = np.concatenate(values[i]), np.concatenate(scores[i])
        best = int(np.argmax(s))
        parameters = _result_parameters(v[best], free_index, fixed_full, space)
        agreement = int(np.sum(s >= s[best] - tolerance))
        rows.append({"subject": subject.item(), **parameters, "log_likelihood": float(s[best]),
                     "agreement": agreement, "searches": len(s), "spread": float(s.max() - s.min()),
                     "converged": agreement >= 2, "at_bound": ", ".join(_at_bound(v[best], free, box)),
                     "n_lists": int(weights[i].sum()), "evaluations": evaluations[i]})
    unsettled = [r["subject"] for r in rows if not r["converged"]]
    if unsettled:
        warnings.warn(f"the searches did not agree for {len(unsettled)} subject(s): {unsettled[:10]}; sort the "
                      f"table by 'agreement' and refit those with more searches (searches={2 * searches} or "
                      "max_rounds=5).",
                      FitWarning, stacklevel=2)
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


def _agreed(scores: list, tolerance: float) -> bool:
    """At least two searches (of all rounds so far) within ``tolerance`` of the best."""
    pooled = np.concatenate(scores).astype(np.float64)
    return bool(np.sum(pooled >= pooled.max() - tolerance) >= 2)


def _subject_rounds(own: np.ndarray, run_batch, batch_size: int, max_rounds: int, tolerance: float,
                    on_round, on_batch) -> dict:
    """Rounds of searches for the subjects ``own`` (indices), until each subject's searches agree.

    Round ``r`` fits, ``batch_size`` at a time with ``run_batch(r, chunk)``,
    the subjects whose searches have not agreed yet (all in round 0); at
    most ``max_rounds`` rounds. ``on_round(r, pending)`` is called before a
    round, ``on_batch(chunk)`` after each batch.

    Returns:
        ``{i: (values, scores, evaluations)}``: for subject ``i``, one entry
        per round it ran: ``(searches, d)`` values, ``(searches,)`` scores
        (log-likelihoods) and ``(searches,)`` evaluations, as the device
        returned them (no conversion, so results gathered from several
        processes are the same bits).
    """
    found = {int(i): ([], [], []) for i in own}
    pending = np.asarray(own, np.int64)
    for round_index in range(max_rounds):
        if len(pending) == 0:
            break
        on_round(round_index, pending)
        for first in range(0, len(pending), batch_size):
            chunk = pending[first: first + batch_size]
            out = run_batch(round_index, chunk)
            for j, i in enumerate(chunk):
                for parts, array in zip(found[int(i)], out):
                    parts.append(array[j])
            on_batch(chunk)
        agreed = np.array([_agreed(found[int(i)][1], tolerance) for i in pending], bool)
        pending = pending[~agreed]
    return found


_JOB_CALLS = itertools.count()


class _JobProgress:
    """The progress of every process of one multi-process :func:`fit_subjects` call.

    Processes publish ``"<state> <done> <extra> <message>"`` under
    ``cmrlab/fit_subjects/<call>/<process index>`` in the key-value store of
    JAX's coordination service (the one ``jax.distributed.initialize``
    starts): ``state`` is ``running``, ``finished`` or ``failed``; ``done``
    the subject-rounds fitted so far; ``extra`` the subjects its later
    rounds added to the work. Process 0 draws one bar for the whole job
    from these (``done`` of ``n_subjects + extra``). :meth:`wait_for_all`
    returns when every process has finished (or raises when one failed), so
    that the collective that follows starts in step: Gloo, JAX's CPU
    collectives, stops waiting for peers after about 30 s when the processes
    reach their first collective ("Gloo context initialization failed ...
    Connect timeout"), and fits of different subjects end minutes apart.
    """

    POLL_SECONDS = 0.2

    def __init__(self, n_subjects: int, show: bool):
        from jax._src import distributed

        self.client = distributed.global_state.client
        if self.client is None:
            raise RuntimeError(
                f"jax.process_count() is {jax.process_count()} but JAX's distributed client is missing: start "
                "every process with jax.distributed.initialize() (or python -m cmrlab.distributed).")
        self.n_processes, self.n_subjects = jax.process_count(), n_subjects
        self.prefix = f"cmrlab/fit_subjects/{next(_JOB_CALLS)}/"  # every process calls fit_subjects alike
        self.key = f"{self.prefix}{jax.process_index()}"
        self.show = show
        self.bar = _progress(n_subjects, show, f"fitting subjects ({self.n_processes} processes)")

    def publish(self, state: str, done: int, extra: int, message: str = "") -> None:
        self.client.key_value_set(self.key, f"{state} {done} {extra} {message}", allow_overwrite=True)
        if self.show:
            self._draw(self._states())

    def _states(self) -> dict[int, tuple[str, int, int, str]]:
        states = {}
        for key, value in self.client.key_value_dir_get(self.prefix):
            state, done, extra, message = value.split(" ", 3)
            states[int(key.rsplit("/", 1)[1])] = (state, int(done), int(extra), message)
        return states

    def _draw(self, states) -> None:
        total = self.n_subjects + sum(s[2] for s in states.values())
        done = sum(s[1] for s in states.values())
        if (total, done) != (self.bar.total, self.bar.n):  # redraw on news only (a log file gets each redraw)
            self.bar.total, self.bar.n = total, done
            self.bar.refresh()

    def wait_for_all(self) -> None:
        """Wait until every process has published ``finished``; raise if one published ``failed``."""
        while True:
            states = self._states()
            if self.show:
                self._draw(states)
            failed = sorted(p for p, s in states.items() if s[0] == "failed")
            if failed:
                raise RuntimeError(f"process {failed[0]} of {self.n_processes} failed while fitting its subjects "
                                   f"({states[failed[0]][3]}); no table was gathered.")
            if len(states) == self.n_processes and all(s[0] == "finished" for s in states.values()):
                return
            time.sleep(self.POLL_SECONDS)

    def forget(self) -> None:
        """Delete this process's entry: only once every process is past :meth:`wait_for_all`."""
        self.client.key_value_delete(self.key)


def _fit_subjects_of_this_process(n_subjects: int, run_batch, batch_size: int, max_rounds: int, tolerance: float,
                                  progress: bool, searches: int, n_free: int) -> list:
    """Fit subjects ``process_index, process_index + process_count, ...`` here, then gather all of them.

    Every process returns the same list: for each of the ``n_subjects``
    subjects, its ``(values, scores, evaluations)`` as
    :func:`_subject_rounds` gives them, whichever process fitted it. Each
    process pads its results to ``ceil(n_subjects / process_count)``
    subjects of ``max_rounds`` rounds, and one
    ``multihost_utils.process_allgather`` (a collective over all processes)
    gathers them, with the dtypes the devices returned: bit for bit.
    """
    from jax.experimental import multihost_utils

    n_processes, me = jax.process_count(), jax.process_index()
    own = np.arange(me, n_subjects, n_processes)
    job = _JobProgress(n_subjects, progress and me == 0)
    counts = {"done": 0, "extra": 0}

    def on_round(round_index, pending):
        if round_index:
            counts["extra"] += len(pending)
            job.publish("running", counts["done"], counts["extra"])

    def on_batch(chunk):
        counts["done"] += len(chunk)
        job.publish("running", counts["done"], counts["extra"])

    try:
        job.publish("running", 0, 0)
        try:
            found = _subject_rounds(own, run_batch, batch_size, max_rounds, tolerance, on_round, on_batch)
        except BaseException as error:
            try:
                job.publish("failed", counts["done"], counts["extra"], f"{type(error).__name__}: {error}"[:500])
            except Exception:
                pass
            raise
        job.publish("finished", counts["done"], counts["extra"])
        job.wait_for_all()

        real = jax.dtypes.canonicalize_dtype(np.float64)   # float32, or float64 with jax_enable_x64
        integer = jax.dtypes.canonicalize_dtype(np.int64)
        m = -(-n_subjects // n_processes)
        values = np.full((m, max_rounds, searches, n_free), np.nan, real)
        scores = np.full((m, max_rounds, searches), np.nan, real)
        evaluations = np.zeros((m, max_rounds, searches), integer)
        rounds = np.zeros(m, np.int32)
        for k, i in enumerate(own):
            v, s, e = found[int(i)]
            rounds[k] = len(s)
            values[k, : len(s)], scores[k, : len(s)], evaluations[k, : len(s)] = v, s, e
        try:
            values, scores, evaluations, rounds = multihost_utils.process_allgather(
                (values, scores, evaluations, rounds))  # each (n_processes, m, ...)
        except jax.errors.JaxRuntimeError as error:
            if "implemented on the CPU backend" not in str(error):
                raise
            raise RuntimeError(
                "the processes cannot exchange their fits: JAX's CPU backend was started without "
                "cross-process collectives. Call jax.config.update('jax_cpu_collectives_implementation', 'gloo') "
                "before jax.distributed.initialize() in every process (python -m cmrlab.distributed does)."
            ) from error
        # the gather completed, so every process contributed, each after its wait_for_all: no one reads
        # these entries any more (on failure they stay, for the processes still waiting to read them)
        job.forget()
    finally:
        job.bar.close()
    gathered = []
    for i in range(n_subjects):
        p, k = i % n_processes, i // n_processes
        r = int(rounds[p, k])
        gathered.append((list(values[p, k, :r]), list(scores[p, k, :r]), list(evaluations[p, k, :r])))
    return gathered


def _batched_searches(list_length: int, method: str, settings, sharding, n_sources: int = 0,
                      strata: Strata | None = None):
    """The compiled ``vmap`` of :func:`_likelihood_searches` over subjects, built once per configuration."""
    def build():
        def one(keys, recalls, weights, free_index, fixed_full, box, sources, semantic):
            problem = _Problem(recalls, weights, free_index, fixed_full, box, sources, semantic)
            return _likelihood_searches(keys, problem, list_length, method, settings, n_sources, strata)

        batched = jax.vmap(one, in_axes=(0, 0, 0, None, None, None, 0, 0))
        return jax.jit(batched, in_shardings=(sharding, sharding, sharding, None, None, None, sharding, sharding),
                       out_shardings=sharding, compiler_options=fitting_compiler_options())

    return _PROGRAMS.get((_batched_searches, list_length, method, settings, sharding, n_sources, strata), build)


HK2014_FITS = "healey_kahana2014_fits.csv"
"""The file (in ``cmrlab/data``) of :func:`healey_kahana2014_fits`."""


def healey_kahana2014_fits():
    """A :func:`fit_subjects` table of all 126 Healey & Kahana (2014) subjects (no-task lists).

    Fitting every subject takes long on a laptop (about 75 minutes for the
    126 subjects on a 2-core CPU), so cmrlab ships the table that
    ``benchmarks/bench_fitting.py table`` made with the default search (the
    subjects fitted 8 at a time, the 8 starting at index ``i`` with key
    ``fold_in(PRNGKey(0), i)``), values rounded to 6 significant digits.
    Beside the table of the search before its screening step
    (``MultistartSettings(starts=128, screen=1)``, itself within 0.5 of the
    best of seven tables of earlier searches for every subject), 124
    subjects agree within 0.5; subjects 87 and 133 are lower here by 0.57
    and 1.94 (their best optima are narrow, and most searches miss them),
    subject 201 higher by 0.77. The same search with a second key (key 1)
    agrees within 0.5 for 125 of the 126 subjects; it misses 201's better
    optimum (0.77 lower; key 0 found it in 1 search of 24).
    Every row's log-likelihood is that of its parameters (tested),
    so the table is a valid set of fits; agreement between searches and
    between keys is evidence, not proof, that no better optimum exists. One
    row per subject with the columns of :func:`fit_subjects`: ``subject``,
    the 11 parameters, ``log_likelihood``, ``agreement``, ``searches``,
    ``spread``, ``converged``, ``at_bound``, ``n_lists``, ``evaluations``.

    Returns:
        A pandas ``DataFrame`` (126 rows).
    """
    from importlib.resources import files

    import pandas as pd

    with files("cmrlab").joinpath("data", HK2014_FITS).open() as handle:
        table = pd.read_csv(handle, keep_default_na=False)
    return table


def _progress(total: int, enabled: bool, description: str = "fitting subjects"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="subject", disable=not enabled)


# ----------------------------------------------------------------------------- saving


def _jsonable(value):
    """NumPy and JAX scalars and arrays become Python numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    raise TypeError(f"cannot save a value of type {type(value).__name__} in a fit file: {value!r}")


def save_fit(result: FitResult | Mapping, path) -> Path:
    """Write a fit (or any dict of parameters) as JSON, atomically (no half-written file).

    NumPy and JAX numbers are written as plain numbers.
    """
    if isinstance(result, FitResult):
        payload = result.to_dict()
    elif isinstance(result, Mapping):
        payload = dict(result)
    else:
        raise TypeError(f"save_fit takes a FitResult or a dict, got {type(result).__name__}.")
    text = json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def load_fit(path) -> FitResult:
    """Read a fit written by :func:`save_fit`; its parameters are validated.

    A dict of parameters saved with :func:`save_fit` loads too (as a result
    with only ``parameters`` filled in).

    Raises:
        ValueError: the file is not JSON, or not a saved fit, or holds invalid parameters.
    """
    try:
        payload = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a saved fit: it is not valid JSON ({error}).") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a saved fit: it is not a text file.") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path} is not a saved fit: it holds a {type(payload).__name__}, not an object.")
    if "parameters" not in payload:
        if set(payload) <= set(PARAMETER_NAMES) and payload:
            payload = {"parameters": {**DEFAULT_PARAMETERS, **payload}}
        else:
            raise ValueError(f"{path} is not a saved fit: it has no 'parameters' entry.")
    params = payload["parameters"]
    full_model = isinstance(params, dict) and bool(set(params) - set(PARAMETER_NAMES))
    try:
        (as_full_parameters if full_model else as_parameters)(params)  # the names, in bounds
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
    defaults = {"log_likelihood": float("nan"), "objective": "likelihood", "loss": float("nan"), "method": "",
                "evaluations": 0, "converged": False, "seconds": 0.0, "n_lists": 0}
    payload = {**defaults, **payload}
    for key in ("free", "search_values", "at_bound"):
        payload[key] = tuple(payload.get(key, ()))
    known = set(FitResult.__dataclass_fields__)
    return FitResult(**{k: v for k, v in payload.items() if k in known})
