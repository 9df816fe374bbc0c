"""Log-probability of observed recall sequences under CMR (Luce rule).

One model: :func:`log_likelihood` is the base model of ``docs/model.md``
when the full model's mechanisms are off (or absent) and no sources or
similarities are given, computed on the base model's fast path (one study
phase shared by all lists); otherwise it is the full model of
``docs/source_model.md`` (each list studied with its own items and tasks).
"""

from __future__ import annotations

from functools import partial
from typing import Mapping

import jax
import jax.numpy as jnp

from cmrlab import recall_phase, source_recall_phase
from cmrlab.parameters import CMRParameters, FullParameters, as_full_parameters, pack, pack_luce, unpack, unpack_luce
from cmrlab.recalls import clean_recalls, positive_int
from cmrlab.simulation import studied_state
from cmrlab.source_model import reduces_to_base
from cmrlab.study_lists import prepare_lists


def trial_log_likelihoods(params: CMRParameters, recalls: jax.Array, list_length: int) -> jax.Array:
    """Per-trial log-likelihoods ``(n_trials,)`` of a *clean* recall matrix.

    Args:
        params: :class:`CMRParameters` (may be traced).
        recalls: int ``(n_trials, n_outputs)`` of serial positions ``1..L``,
            0-padded, without intrusions or repeats (see
            :func:`cmrlab.recalls.clean_recalls`).
        list_length: ``L``.

    Each trial contributes ``sum_t log P(recall_t) + log P(stop)``. The study
    phase, identical for every trial, is computed once; a scan over output
    positions then applies every trial's outcome at once
    (:mod:`cmrlab.recall_phase`).
    """
    n_trials = recalls.shape[0]
    state = studied_state(params, list_length)
    tables = recall_phase.recall_tables(state)
    # one extra 0 row so that every trial ends with a scored stop
    outcomes = jnp.concatenate(
        [recalls.T.astype(jnp.int32), jnp.zeros((1, n_trials), jnp.int32)], axis=0
    )

    def step(carry, choice):
        rs, active, total = carry
        log_p = recall_phase.outcome_log_probability(rs, params, choice)
        total = total + jnp.where(active, log_p, 0.0)
        return (recall_phase.apply(rs, tables, params, choice), active & (choice > 0), total), None

    init = (recall_phase.start(state, (n_trials,)), jnp.ones(n_trials, bool),
            jnp.zeros(n_trials, jnp.float32))
    (_, _, totals), _ = jax.lax.scan(_recomputed_in_gradient(step), init, outcomes)
    return totals


def _recomputed_in_gradient(step):
    """A scan step whose gradient recomputes the step instead of storing its intermediates.

    Reverse mode otherwise stacks every intermediate of every output
    position (dozens of ``(L, n_trials)`` arrays per step) and reads them
    back: on a CPU that traffic, not the arithmetic, was most of the
    gradient's time. Storing only the carry halves the cost of
    ``jax.grad`` of the likelihood (77 -> 40 ms for 256 parameter sets x 28
    lists on a 2-core Xeon); values are unchanged, gradients agree to
    float32 rounding.
    """
    return jax.checkpoint(step, policy=jax.checkpoint_policies.nothing_saveable)


@partial(jax.jit, static_argnames=("list_length",))
def _log_likelihood(packed: jax.Array, recalls: jax.Array, list_length: int) -> jax.Array:
    return jnp.sum(trial_log_likelihoods(unpack(packed), recalls, list_length))


def source_trial_log_likelihoods(params: FullParameters, recalls: jax.Array, sources: jax.Array,
                                 semantic: jax.Array | None, n_sources: int) -> jax.Array:
    """Per-list log-likelihoods ``(n,)`` of a *clean* recall matrix under the full model.

    Args:
        params: :class:`~cmrlab.parameters.FullParameters` (may be traced).
        recalls: int ``(n, n_outputs)`` serial positions ``1..L``, 0-padded,
            without intrusions or repeats.
        sources: int32 ``(n, L)`` each list's sources (zeros for none).
        semantic: float32 ``(n, L, L)`` each list's similarity block, or ``None``.
        n_sources: ``S`` (static).

    Each list is studied with its own sources and similarities
    (:func:`cmrlab.source_recall_phase.study`); a scan over output
    positions then scores every list's outcome at once with the Luce rule.
    """
    n = recalls.shape[0]
    tables, state = source_recall_phase.study(params, sources, semantic, n_sources)
    # one extra 0 column so that every list ends with a scored stop
    outcomes = jnp.concatenate([recalls.astype(jnp.int32), jnp.zeros((n, 1), jnp.int32)], axis=1)
    index = jnp.maximum(outcomes - 1, 0)[:, :, None]  # (n, T, 1): all rows needed, gathered once
    rows = source_recall_phase.TableRows(
        *(jnp.swapaxes(jnp.take_along_axis(t, index, axis=1), 0, 1) for t in tables))

    def step(carry, inputs):
        rs, active, total = carry
        choice, rows_t = inputs
        log_p = source_recall_phase.outcome_log_probability(rs, params, choice)
        total = total + jnp.where(active, log_p, 0.0)
        rs = source_recall_phase.apply(rs, rows_t, params, choice)
        return (rs, active & (choice > 0), total), None

    init = (state, jnp.ones(n, bool), jnp.zeros(n, jnp.float32))
    (_, _, totals), _ = jax.lax.scan(_recomputed_in_gradient(step), init, (outcomes.T, rows))
    return totals


@partial(jax.jit, static_argnames=("n_sources",))
def list_log_likelihoods(packed: jax.Array, recalls: jax.Array, sources: jax.Array,
                         semantic: jax.Array | None, *, n_sources: int) -> jax.Array:
    """Full-model log-likelihood of each list ``(n,)``: the function fitting vmaps.

    A module-level jitted function: compiled once per data shape, whatever
    the parameter values. To score many candidate parameter vectors at once::

        batched = jax.vmap(functools.partial(list_log_likelihoods, n_sources=2),
                           in_axes=(0, None, None, None))
        batched(candidates, recalls, sources, semantic)   # (n_candidates, n_lists)

    Args:
        packed: float32 ``(15,)`` the Luce-rule parameters in
            :data:`~cmrlab.parameters.LUCE_PARAMETER_NAMES` order: the 11 base
            parameters (``encoding_drift_rate, start_drift_rate,
            recall_drift_rate, shared_support, item_support, learning_rate,
            primacy_scale, primacy_decay, stop_probability_scale,
            stop_probability_growth, choice_sensitivity``) then
            ``source_drift_rate, shift_drift_rate, source_learning_rate,
            semantic_scale``. :func:`cmrlab.parameters.pack_luce` builds it.
        recalls: int32 ``(n, T)`` clean recalls (serial positions ``1..L``
            in output order, 0-padded, no intrusions or repeats:
            :func:`cmrlab.recalls.clean_recalls`).
        sources: int32 ``(n, L)`` each list's source codes ``0..S-1``
            (zeros for lists without sources).
        semantic: float32 ``(n, L, L)`` each list's similarity block
            (:func:`cmrlab.study_lists.similarity_blocks`), or ``None``.
        n_sources: ``S`` (static; ``max(sources) + 1``).

    The values are not validated here (they may be traced): keep them in
    :func:`cmrlab.parameters.bounds` ``(LUCE_PARAMETER_NAMES, model="full")``.
    """
    return source_trial_log_likelihoods(unpack_luce(packed), recalls, sources, semantic, n_sources)


@partial(jax.jit, static_argnames=("n_sources",))
def _source_log_likelihood(packed, recalls, sources, semantic, n_sources: int) -> jax.Array:
    return jnp.sum(source_trial_log_likelihoods(unpack_luce(packed), recalls, sources, semantic, n_sources))


def log_likelihood(parameters: Mapping[str, float], recalls, list_length: int, *, study_items=None,
                   sources=None, similarity=None, retrieval: str = "luce") -> jax.Array:
    """Total log-likelihood of a recall matrix under CMR, with the Luce choice rule.

    .. math::

        \\log \\mathcal{L} = \\sum_{\\text{lists}} \\Big[\\sum_t \\log P(\\text{recall}_t)
        + \\log P(\\text{stop})\\Big]

    Intrusions (``-1``) and repeats are removed from each row first (the
    remaining recalls keep their order). Differentiable in ``parameters``::

        jax.grad(lambda p: log_likelihood(p, recalls, 16))(params)

    With only the 11 base parameters (or the new mechanisms at 0) and no
    ``sources``/``similarity``, this is the base model (``docs/model.md``)
    on its fast path, bit for bit. Otherwise it is the full model of
    Polyn, Norman & Kahana (2009) (``docs/source_model.md``), each list
    studied with its own words and tasks.

    Args:
        parameters: dict of CMR parameters (floats or JAX scalars): the 11
            base parameters, plus any of ``source_drift_rate``,
            ``shift_drift_rate``, ``source_learning_rate``,
            ``semantic_scale`` (missing ones are 0, off); accumulator
            parameters are accepted and unused.
        recalls: int ``(n_lists, max_recalls)``: ``1..L`` serial positions in
            output order, ``0`` padding, ``-1`` intrusions.
        list_length: ``L`` (a Python, NumPy or JAX int).
        study_items: int ``(n_lists, L)`` each list's words as 0-based indices
            into ``similarity`` (or ``(L,)``, one list for all); with ``similarity``.
        sources: int ``(n_lists, L)`` each serial position's source (task),
            codes ``0..S-1`` with ``S >= 2`` (or ``(L,)``).
        similarity: ``(P, P)`` the word pool's similarity matrix (e.g. LSA
            cosines); the model uses each list's symmetrized block with a
            zero diagonal.
        retrieval: ``"luce"``, the only rule with a likelihood.

    Returns:
        A float32 JAX scalar. Compiled once per data shape.

    Raises:
        ValueError: bad parameters, recalls or list data (the message says
            what to pass), or ``retrieval="accumulator"``.
    """
    _check_retrieval(retrieval)
    params = as_full_parameters(parameters)
    list_length = _list_length(list_length)
    clean = clean_recalls(recalls, list_length)
    data = prepare_lists(clean.shape[0], list_length, study_items, sources, similarity)
    if reduces_to_base(params, data.has_sources, data.has_semantics):
        return _log_likelihood(pack(params.base()), jnp.asarray(clean), list_length)
    return _source_log_likelihood(pack_luce(params), clean, data.source_matrix(clean.shape[0], list_length),
                                  data.semantic, data.n_sources)


def log_likelihood_function(recalls, list_length: int, *, study_items=None, sources=None,
                            similarity=None, retrieval: str = "luce"):
    """Prepare a recall matrix (and its lists) once; return ``parameters -> log-likelihood``.

    The cleaning, validation and transfer of the data happen here, not on
    every call: use this when evaluating many parameter sets on the same
    data (fitting, likelihood surfaces). Arguments as :func:`log_likelihood`.
    The returned function is differentiable::

        loglik = log_likelihood_function(recalls, 16)
        loglik(DEFAULT_PARAMETERS), jax.grad(loglik)(DEFAULT_PARAMETERS)
    """
    _check_retrieval(retrieval)
    list_length = _list_length(list_length)
    clean_np = clean_recalls(recalls, list_length)
    data = prepare_lists(clean_np.shape[0], list_length, study_items, sources, similarity)
    clean = jnp.asarray(clean_np)
    source_matrix = jnp.asarray(data.source_matrix(clean_np.shape[0], list_length))
    semantic = None if data.semantic is None else jnp.asarray(data.semantic)

    def loglik(parameters: Mapping[str, float]) -> jax.Array:
        params = as_full_parameters(parameters)
        if reduces_to_base(params, data.has_sources, data.has_semantics):
            return _log_likelihood(pack(params.base()), clean, list_length)
        return _source_log_likelihood(pack_luce(params), clean, source_matrix, semantic, data.n_sources)

    return loglik


def _check_retrieval(retrieval) -> None:
    if retrieval == "accumulator":
        raise ValueError(
            "the accumulator has no likelihood (its recall times and outcomes come from a "
            "noisy race that has no closed form): log_likelihood uses the Luce rule, "
            "retrieval='luce'. To fit the accumulator, compare simulated summary statistics "
            "with the data instead."
        )
    if retrieval != "luce":
        raise ValueError(f"retrieval must be 'luce' for the likelihood, got {retrieval!r}.")


def _list_length(value) -> int:
    return positive_int("list_length", value)
