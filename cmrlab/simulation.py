"""Sampling recall sequences from CMR: a scan over output positions, all trials at once.

One model: with the full model's mechanisms off (or absent) and no list data,
:func:`simulate` samples the base model on its fast path (one study phase for
all trials); otherwise each list is studied with its own words and tasks
(``docs/source_model.md``). Recall uses the Luce rule, or Polyn et al.'s
(2009) leaky competitive accumulator with ``retrieval="accumulator"``, which
also gives recall times. Large simulations run in chunks whose results are
exactly those of one call.
"""

from __future__ import annotations

from functools import partial
from typing import Mapping

import jax
import jax.numpy as jnp

import numpy as np

from cmrlab import accumulator, recall_phase, source_recall_phase
from cmrlab.model import CMRState, initial_state, start_recall, study, study_list
from cmrlab.parameters import (
    CMRParameters,
    as_full_parameters,
    pack,
    pack_full,
    pack_luce,
    unpack,
    unpack_full,
    unpack_luce,
)
from cmrlab.recalls import positive_int
from cmrlab.source_model import reduces_to_base
from cmrlab.study_lists import ListData, prepare_lists


def studied_state(params: CMRParameters, list_length: int) -> CMRState:
    """The state after studying items ``1..L`` in order and reinstating start context.

    Every list of a recall matrix is studied in serial order, so this state is
    shared by all trials with the same parameters and is computed once.
    """
    state = initial_state(list_length, params)
    state = study_list(state, params, jnp.arange(1, list_length + 1))
    return start_recall(state, params)


def sample_outcome(probabilities: jax.Array, u: jax.Array) -> jax.Array:
    """Draw an outcome index from ``(K, ...)`` ``probabilities`` with one uniform ``u``.

    Inverse-CDF sampling along axis 0: the first index whose cumulative
    probability exceeds ``u * total``. Outcomes of probability 0 are never drawn.
    """
    cdf = _cumsum_rows(probabilities)
    index = jnp.sum(cdf <= jnp.expand_dims(u * cdf[-1], 0), axis=0)
    # u * total can round up to total: fall back on the last possible outcome
    n = probabilities.shape[0]
    last = n - 1 - jnp.argmax(probabilities[::-1] > 0, axis=0)
    return jnp.minimum(index, last).astype(jnp.int32)


def _cumsum_rows(x: jax.Array) -> jax.Array:
    # A running sum row by row; XLA's cumsum (reduce_window) is several times
    # slower on CPU for the short item axis.
    if x.shape[0] > 128:
        return jnp.cumsum(x, axis=0)
    rows = [x[0]]
    for row in x[1:]:
        rows.append(rows[-1] + row)
    return jnp.stack(rows)


@partial(jax.jit, static_argnames=("list_length", "n_trials"))
def _simulate(key, packed: jax.Array, list_length: int, n_trials: int) -> jax.Array:
    """Base-model recalls ``(n_trials, L)`` from one key (the fast path, one compiled call)."""
    return _base_recall(jax.random.uniform(key, (list_length, n_trials)), packed, list_length)


@partial(jax.jit, static_argnames=("list_length",))
def _simulate_uniforms(uniforms: jax.Array, packed: jax.Array, list_length: int) -> jax.Array:
    """:func:`_simulate` for given uniforms ``(L, n)``: one chunk of a large simulation."""
    return _base_recall(uniforms, packed, list_length)


def _base_recall(uniforms, packed, list_length: int) -> jax.Array:
    params = unpack(packed)
    state = studied_state(params, list_length)
    tables = recall_phase.recall_tables(state)

    def step(rs, u):
        choice = sample_outcome(recall_phase.outcome_probabilities(rs, params), u)
        return recall_phase.apply(rs, tables, params, choice), choice

    _, choices = jax.lax.scan(step, recall_phase.start(state, (uniforms.shape[1],)), uniforms)
    return choices.T


@partial(jax.jit, static_argnames=("list_length", "n_trials"))
def _uniforms(key, list_length: int, n_trials: int) -> jax.Array:
    return jax.random.uniform(key, (list_length, n_trials))


@partial(jax.jit, static_argnames=("n_sources",))
def _simulate_source(uniforms, packed, sources, semantic, n_sources: int) -> jax.Array:
    """Full-model Luce-rule recalls ``(n, L)`` for uniforms ``(L, n)`` and per-list data."""
    params = unpack_luce(packed)
    tables, state = source_recall_phase.study(params, sources, semantic, n_sources)

    def step(rs, u):
        choice = sample_outcome(source_recall_phase.outcome_probabilities(rs, params).T, u)
        rows = source_recall_phase.table_rows(tables, choice)
        return source_recall_phase.apply(rs, rows, params, choice), choice

    _, choices = jax.lax.scan(step, state, uniforms)
    return choices.T


@partial(jax.jit, static_argnames=("n_sources",))
def _simulate_accumulator(list_keys, packed, sources, semantic, n_sources: int):
    """Full-model accumulator recalls and times ``(n, L)`` each, one key per list."""
    params = unpack_full(packed)
    tables, state = source_recall_phase.study(params, sources, semantic, n_sources)
    return accumulator.simulate_lists(params, tables, state, list_keys)


LIST_LENGTH_BUCKETS: tuple[int, ...] = (16, 40)
"""List lengths whose compiled base-model simulation serves every shorter list (:func:`simulate_padded`)."""


def list_length_bucket(list_length: int) -> int:
    """The smallest of :data:`LIST_LENGTH_BUCKETS` holding ``list_length`` items (or ``list_length`` itself)."""
    return next((b for b in LIST_LENGTH_BUCKETS if list_length <= b), list_length)


def simulate_padded(key, parameters: Mapping[str, float], list_length: int, n_trials: int,
                    bucket: int | None = None) -> jax.Array:
    """:func:`simulate` of the base model, computed in a list of ``bucket`` items with the rest masked.

    One compiled function serves every ``list_length <= bucket`` (the list
    length is an argument, not a shape), so a live panel whose list-length
    slider moves does not recompile. The items beyond ``list_length`` are
    never studied and never recallable, and the uniforms are the first
    ``list_length`` rows of the bucket's (JAX's partitionable threefry
    draws each element from its own index), so the result is
    ``simulate(key, parameters, list_length, n_trials)`` (tested).

    Returns:
        int32 ``(n_trials, bucket)``: the recalls in the first ``list_length``
        columns, 0 beyond.
    """
    params = as_full_parameters(parameters)
    list_length = positive_int("list_length", list_length)
    n_trials = positive_int("n_trials", n_trials)
    bucket = list_length_bucket(list_length) if bucket is None else positive_int("bucket", bucket)
    if bucket < list_length:
        raise ValueError(f"bucket ({bucket}) must hold the list ({list_length} items).")
    if not reduces_to_base(params, False, False):
        raise ValueError("simulate_padded runs the base model; turn the full model's mechanisms off "
                         "or use simulate().")
    key = as_key(key)
    packed = pack(params.base())
    if not jax.config.jax_threefry_partitionable or n_trials > base_chunk_size(bucket):
        # uniforms of another shape would be other numbers: compile for this list length
        recalls = _simulate_base(key, packed, list_length, n_trials)
        return jnp.pad(recalls, ((0, 0), (0, bucket - list_length)))
    return _simulate_bucket(key, packed, jnp.int32(list_length), bucket, n_trials)


@partial(jax.jit, static_argnames=("bucket", "n_trials"))
def _simulate_bucket(key, packed, n_items, bucket: int, n_trials: int) -> jax.Array:
    params = unpack(packed)
    state = initial_state(bucket, params)

    def study_step(state, item):
        studied = study(state, params, item)
        return jax.tree_util.tree_map(lambda new, old: jnp.where(item <= n_items, new, old), studied, state), None

    state = start_recall(jax.lax.scan(study_step, state, jnp.arange(1, bucket + 1))[0], params)
    tables = recall_phase.recall_tables(state)
    uniforms = jax.random.uniform(key, (bucket, n_trials))

    def step(rs, u):
        choice = sample_outcome(recall_phase.outcome_probabilities(rs, params), u)
        return recall_phase.apply(rs, tables, params, choice), choice

    _, choices = jax.lax.scan(step, recall_phase.start(state, (n_trials,)), uniforms)
    return choices.T


def base_chunk_size(list_length: int) -> int:
    """Trials simulated per compiled call on the base path (about 256 MB of work space)."""
    return max(4096, 2**22 // list_length)


def source_chunk_size(list_length: int) -> int:
    """Lists simulated per compiled call on the full model's path (about 256 MB of work space)."""
    return max(256, 2**22 // (list_length * list_length))


def simulate(key, parameters: Mapping[str, float], list_length: int, n_trials: int, *,
             study_items=None, sources=None, similarity=None, retrieval: str = "luce",
             return_times: bool = False):
    """Simulate free recall of ``n_trials`` lists of ``list_length`` items.

    Each list is studied in serial order; recall then proceeds with one of
    two rules:

    - ``retrieval="luce"`` (default): outcomes (0 = stop, ``i`` = item
      ``i``) are sampled from the Luce choice rule and the stop rule
      (:func:`cmrlab.model.outcome_probabilities`), all trials at once, until
      stop is drawn or nothing is left.
    - ``retrieval="accumulator"``: Polyn et al.'s (2009) leaky competitive
      accumulator (:mod:`cmrlab.accumulator`): a race of noisy accumulators
      in 100 ms steps for a 90 s recall period; it ends recall by running
      out of time and gives each recall's time.

    With only the 11 base parameters (or the full model's mechanisms at 0)
    and no ``sources``/``similarity``, the Luce rule runs the base model
    (``docs/model.md``) on its fast path; otherwise the full model
    (``docs/source_model.md``) studies each list with its own words and
    tasks.

    Args:
        key: a JAX PRNG key (``jax.random.PRNGKey(seed)`` or
            ``jax.random.key(seed)``); an int is taken as
            ``jax.random.PRNGKey(int)``. The same key gives the same arrays.
        parameters: dict of CMR parameters: the 11 base ones, plus any of the
            full model's 8 (missing mechanism parameters are 0, off; missing
            accumulator parameters take Polyn et al.'s values).
        list_length: ``L``, items per list (a Python, NumPy or JAX int).
        n_trials: number of lists (int). With per-list ``study_items`` or
            ``sources`` it must equal their number of rows; a single list
            ``(L,)`` is used for every trial.
        study_items: int ``(n_trials, L)`` (or ``(L,)``) 0-based indices of
            each list's words into ``similarity``.
        sources: int ``(n_trials, L)`` (or ``(L,)``) source codes ``0..S-1``
            of each serial position, at least two distinct.
        similarity: ``(P, P)`` the word pool's similarity matrix.
        retrieval: ``"luce"`` or ``"accumulator"``.
        return_times: also return the recall times (accumulator only: the
            Luce rule has no time course, so ``True`` with ``"luce"`` raises).

    Returns:
        int32 array ``(n_trials, list_length)`` of recalled serial positions
        in output order, 0-padded; with ``return_times=True`` a pair
        ``(recalls, times_ms)``, ``times_ms`` int32 ``(n_trials, L)``: each
        recall's time in ms from the start of the recall period, 0-padded.
        Compiled once per shape; new parameter values reuse the compiled
        code. More than a chunk of trials (:func:`base_chunk_size`,
        :func:`source_chunk_size`) run chunk by chunk, with exactly the
        numbers of one call.

    Example:
        >>> recalls = simulate(jax.random.PRNGKey(0), DEFAULT_PARAMETERS, 16, 1000)
    """
    params = as_full_parameters(parameters)
    list_length = positive_int("list_length", list_length)
    n_trials = positive_int("n_trials", n_trials)
    _check_retrieval(retrieval, return_times)
    key = as_key(key)
    data = prepare_lists(n_trials, list_length, study_items, sources, similarity, rows_name="n_trials")
    return _simulate_prepared(key, params, data, list_length, n_trials, retrieval, return_times)


def simulation_function(list_length: int, n_trials: int, *, study_items=None, sources=None,
                        similarity=None, retrieval: str = "luce", return_times: bool = False):
    """:func:`simulate` for fixed lists, prepared once: returns ``run(key, parameters)``.

    Checking the lists and cutting each list's ``(L, L)`` similarity block
    out of the pool's matrix takes longer than simulating them (about 40 ms
    for the 1,262 lists of Polyn et al., 2009); a live panel that simulates
    the same lists after every slider move does it once here. The arguments
    are those of :func:`simulate`; ``run(key, parameters)`` returns exactly
    what ``simulate(key, parameters, list_length, n_trials, ...)`` returns
    (the same compiled code on the same numbers).

    Example:
        >>> run = simulation_function(24, len(data), study_items=data.study_items,
        ...                           sources=data.sources, similarity=data.similarity)
        >>> recalls = run(jax.random.PRNGKey(0), cmrlab.SOURCE_PRESETS["Polyn 2009 full"])
    """
    list_length = positive_int("list_length", list_length)
    n_trials = positive_int("n_trials", n_trials)
    _check_retrieval(retrieval, return_times)
    data = prepare_lists(n_trials, list_length, study_items, sources, similarity, rows_name="n_trials")
    # on the device once; a chunk of the whole array is then a cheap slice
    data = data._replace(sources=None if data.sources is None else jnp.asarray(data.sources),
                         semantic=None if data.semantic is None else jnp.asarray(data.semantic))

    def run(key, parameters: Mapping[str, float]):
        return _simulate_prepared(as_key(key), as_full_parameters(parameters), data, list_length, n_trials,
                                  retrieval, return_times)

    return run


def _check_retrieval(retrieval, return_times: bool) -> None:
    if retrieval not in ("luce", "accumulator"):
        raise ValueError(f"retrieval must be 'luce' or 'accumulator', got {retrieval!r}.")
    if return_times and retrieval == "luce":
        raise ValueError(
            "return_times=True needs retrieval='accumulator': the Luce rule samples the order of "
            "recalls but has no time course. Pass retrieval='accumulator' for recall times."
        )


def _simulate_prepared(key, params, data: ListData, list_length: int, n_trials: int, retrieval: str,
                       return_times: bool):
    """The body of :func:`simulate` once everything is checked and the lists are prepared."""
    if retrieval == "luce":
        if reduces_to_base(params, data.has_sources, data.has_semantics):
            return _simulate_base(key, pack(params.base()), list_length, n_trials)
        uniforms = _uniforms(key, list_length, n_trials)
        return _in_chunks(
            lambda start, size, src, sem: _simulate_source(
                _pad_columns(uniforms[:, start:start + size], size), pack_luce(params), src, sem,
                data.n_sources),
            data, list_length, n_trials)
    list_keys = jax.random.split(key, n_trials)
    recalls, times = _in_chunks(
        lambda start, size, src, sem: _simulate_accumulator(
            _pad_rows(list_keys[start:start + size], size), pack_full(params), src, sem, data.n_sources),
        data, list_length, n_trials, n_outputs=2)
    return (recalls, times) if return_times else recalls


def _simulate_base(key, packed, list_length: int, n_trials: int) -> jax.Array:
    chunk = base_chunk_size(list_length)
    if n_trials <= chunk:
        return _simulate(key, packed, list_length, n_trials)
    uniforms = _uniforms(key, list_length, n_trials)
    out = np.empty((n_trials, list_length), np.int32)
    for start in range(0, n_trials, chunk):
        stop = min(start + chunk, n_trials)
        result = _simulate_uniforms(_pad_columns(uniforms[:, start:stop], chunk), packed, list_length)
        out[start:stop] = np.asarray(result)[: stop - start]
    return jnp.asarray(out)


def _in_chunks(run, data: ListData, list_length: int, n_trials: int, n_outputs: int = 1):
    """Call ``run(start, size, sources, semantic)`` chunk by chunk; stitch the ``(n, L)`` outputs."""
    chunk = source_chunk_size(list_length)
    if n_trials <= chunk:
        sources, semantic = _chunk_data(data, 0, n_trials, n_trials, list_length)
        return run(0, n_trials, sources, semantic)
    outs = [np.empty((n_trials, list_length), np.int32) for _ in range(n_outputs)]
    for start in range(0, n_trials, chunk):
        stop = min(start + chunk, n_trials)
        result = run(start, chunk, *_chunk_data(data, start, stop, chunk, list_length))
        for out, part in zip(outs, result if n_outputs > 1 else (result,)):
            out[start:stop] = np.asarray(part)[: stop - start]
    outs = [jnp.asarray(out) for out in outs]
    return tuple(outs) if n_outputs > 1 else outs[0]


def _chunk_data(data: ListData, start: int, stop: int, size: int, list_length: int):
    """Device arrays of the lists ``start:stop``, padded to ``size`` lists."""
    if data.sources is None:
        sources = jnp.zeros((size, list_length), jnp.int32)
    else:
        sources = _pad_rows(jnp.asarray(_rows(data.sources, start, stop)), size)
    semantic = None if data.semantic is None else _pad_rows(jnp.asarray(_rows(data.semantic, start, stop)), size)
    return sources, semantic


def _rows(x, start: int, stop: int):
    return x if start == 0 and stop == x.shape[0] else x[start:stop]


def _pad_rows(x, size: int):
    if x.shape[0] == size:
        return x
    return jnp.concatenate([x, jnp.zeros((size - x.shape[0],) + x.shape[1:], x.dtype)], axis=0)


def _pad_columns(x, size: int):
    if x.shape[1] == size:
        return x
    return jnp.concatenate([x, jnp.zeros((x.shape[0], size - x.shape[1]), x.dtype)], axis=1)


def as_key(key):
    """A JAX PRNG key from ``key``: a key as it is, an int seed as ``jax.random.PRNGKey(seed)``.

    Raises:
        ValueError: anything else, saying to pass ``jax.random.PRNGKey(seed)``.
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return jax.random.PRNGKey(int(key))
    if isinstance(key, (jax.Array, np.ndarray)):
        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return key
        if key.dtype == np.uint32 and key.shape == (2,):
            return key
    raise ValueError(
        f"key must be a JAX PRNG key, got {_describe(key)}; pass jax.random.PRNGKey(seed) "
        "(or an int seed), and jax.random.split it for independent simulations."
    )


def _describe(value) -> str:
    if isinstance(value, (jax.Array, np.ndarray)):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return repr(value) if value is None else f"a {type(value).__name__}"


def trace_trial(key, parameters: Mapping[str, float], list_length: int) -> list[dict]:
    """Every state of one simulated list, study then recall, for teaching displays.

    Uses the step-by-step :class:`~cmrlab.model.CMR` API (slow but transparent).

    Returns:
        A list of steps, each a dict with ``phase`` (``"start"``, ``"study"``,
        ``"retrieval start"``, ``"recall"``, ``"stop"``), ``event`` (a sentence),
        ``context`` ``(L + 1,)``, ``mfc`` ``(L, L + 1)``, ``mcf`` ``(L + 1, L)``,
        ``probabilities`` ``(L + 1,)`` (recall phase only, else ``None``) and
        ``recalled`` (the items recalled so far).
    """
    from cmrlab.model import CMR
    import numpy as np

    list_length = positive_int("list_length", list_length)
    model = CMR(list_length, parameters)
    steps = []

    def record(phase, event, probabilities=None, recalled=()):
        steps.append({
            "phase": phase, "event": event, "context": np.asarray(model.context),
            "mfc": np.asarray(model.mfc), "mcf": np.asarray(model.mcf),
            "probabilities": None if probabilities is None else np.asarray(probabilities),
            "recalled": tuple(recalled),
        })

    record("start", "Before study: context is the start-of-list unit.")
    for item in range(1, list_length + 1):
        model = model.experience(item)
        record("study", f"Studied item {item}: context drifted toward it, both memories learned.")
    model = model.start_retrieving()
    recalled: list[int] = []
    probabilities = np.asarray(model.outcome_probabilities())
    record("retrieval start", "Start context reinstated; the bars show the first outcome's probabilities.",
           probabilities)
    for u in np.asarray(jax.random.uniform(key, (list_length + 1,))):
        choice = int(sample_outcome(jnp.asarray(probabilities), jnp.float32(u)))
        chance = float(probabilities[choice])
        if choice == 0:
            record("stop", f"Stop drawn (P = {chance:.2f}) after {len(recalled)} recall(s).",
                   probabilities, recalled)
            break
        recalled.append(choice)
        model = model.retrieve(choice)
        probabilities = np.asarray(model.outcome_probabilities())
        record("recall", f"Recalled item {choice} (P = {chance:.2f}); context drifted toward it.",
               probabilities, recalled)
    return steps
