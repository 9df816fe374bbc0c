"""The full CMR model of one list: source and semantic context, task-shift disruption.

Polyn, Norman & Kahana (2009) as released with the authors' code; the page
``docs/source_model.md`` gives every equation. Pure functions over a
:class:`SourceState`, state in, new state out, exactly as :mod:`cmrlab.model`
does for the base model (whose ``integrate``, primacy gradient, Luce rule
and stop rule are reused unchanged).

Shapes, with ``L`` items and ``S`` sources: temporal context ``(2L,)`` (unit
0 = start, unit ``i`` = item ``i``, unit ``L + m`` = the placeholder of the
``m``-th task shift); source context ``(S,)``; ``M^FC_t`` ``(L, 2L)``,
``M^FC_s`` ``(L, S)``, ``M^CF_t`` ``(2L, L)``, ``M^CF_s`` ``(S, L)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.model import integrate, luce_supports, primacy_gradient, stop_rule
from cmrlab.parameters import FullParameters, is_off


class SourceState(NamedTuple):
    """The state of one list in the full model.

    Attributes:
        temporal: ``(2L,)`` unit-length temporal context ``c_t``.
        source: ``(S,)`` unit-length source context ``c_s``.
        mfc_temporal: ``(L, 2L)`` item -> temporal context ``M^FC_t``.
        mfc_source: ``(L, S)`` item -> source context ``M^FC_s``.
        mcf_temporal: ``(2L, L)`` temporal context -> item ``M^CF_t``.
        mcf_source: ``(S, L)`` source context -> item ``M^CF_s``.
        sources: ``(L,)`` int32, the source (task) of each item.
        recallable: ``(L,)`` bool, items that may still be recalled.
        study_count: int32 ``k``, items studied so far.
        recall_count: int32 ``r``, items recalled so far.
        shift_count: int32 ``m``, task shifts so far.
        previous_source: int32, the source of the last studied item.
    """

    temporal: jax.Array
    source: jax.Array
    mfc_temporal: jax.Array
    mfc_source: jax.Array
    mcf_temporal: jax.Array
    mcf_source: jax.Array
    sources: jax.Array
    recallable: jax.Array
    study_count: jax.Array
    recall_count: jax.Array
    shift_count: jax.Array
    previous_source: jax.Array


def reduces_to_base(params: FullParameters, has_sources: bool, has_semantics: bool) -> bool:
    """True if these parameters and list data make the full model the base model.

    That is the case when no source associations are learned
    (``source_learning_rate`` 0), there are no task shifts to disrupt
    context (no ``sources``, or ``shift_drift_rate`` 0) and no semantic term
    (no similarity, or ``semantic_scale`` 0). Source drift alone changes
    nothing then: source context reaches the items only through ``M^CF_s``.
    A traced value (inside ``jit``, ``vmap``, ``grad``) is never taken as 0,
    so gradients with respect to the new parameters are those of the full
    model.
    """
    return (
        is_off(params.source_learning_rate)
        and (not has_sources or is_off(params.shift_drift_rate))
        and (not has_semantics or is_off(params.semantic_scale))
    )


def initial_state(list_length: int, params: FullParameters, sources=None, semantic=None,
                  n_sources: int | None = None) -> SourceState:
    """The state before the first study item.

    .. code-block:: text

        c_t = e_0                 c_s = e_{sources[0]}
        M^FC_t[i-1, i] = 1 - gamma,  M^FC_s = 0,  M^CF_s = 0
        M^CF_t[j, i] = (item_support if j == i else shared_support) + s Sim[j, i]
                       for item units j = 1..L; start and placeholder rows 0

    Args:
        list_length: ``L``.
        params: :class:`~cmrlab.parameters.FullParameters`.
        sources: ``(L,)`` ints ``0..S-1``, the source of each item in serial
            order (default: every item has source 0).
        semantic: ``(L, L)`` the list's similarity block ``Sim``, symmetric
            with a zero diagonal (see :func:`cmrlab.study_lists.similarity_blocks`);
            default: no semantic term.
        n_sources: ``S`` (default: ``max(sources) + 1``; needed when
            ``sources`` is traced).
    """
    L = list_length
    if sources is None:
        sources = jnp.zeros(L, jnp.int32)
        n_sources = 1 if n_sources is None else n_sources
    elif n_sources is None:
        if isinstance(sources, jax.core.Tracer):
            raise ValueError("pass n_sources when sources are traced (inside jit or vmap).")
        n_sources = int(np.max(np.asarray(sources))) + 1
    sources = jnp.asarray(sources, jnp.int32)
    temporal = jnp.zeros(2 * L, jnp.float32).at[0].set(1.0)
    source = jax.nn.one_hot(sources[0], n_sources, dtype=jnp.float32)
    mfc_temporal = jnp.eye(L, 2 * L, k=1, dtype=jnp.float32) * (1 - params.learning_rate)
    eye = jnp.eye(L, dtype=jnp.float32)
    item_rows = params.shared_support * (1 - eye) + params.item_support * eye
    if semantic is not None:
        item_rows = item_rows + params.semantic_scale * jnp.asarray(semantic, jnp.float32)
    mcf_temporal = jnp.concatenate(
        [jnp.zeros((1, L), jnp.float32), item_rows, jnp.zeros((L - 1, L), jnp.float32)], axis=0)
    zero = jnp.zeros((), jnp.int32)
    return SourceState(
        temporal=temporal,
        source=source,
        mfc_temporal=mfc_temporal,
        mfc_source=jnp.zeros((L, n_sources), jnp.float32),
        mcf_temporal=mcf_temporal,
        mcf_source=jnp.zeros((n_sources, L), jnp.float32),
        sources=sources,
        recallable=jnp.zeros(L, bool),
        study_count=zero,
        recall_count=zero,
        shift_count=zero,
        previous_source=sources[0],
    )


def study(state: SourceState, params: FullParameters, item) -> SourceState:
    """Study ``item`` (1-based) at the next serial position ``k``, with source ``q``.

    .. code-block:: text

        if k > 0 and q != previous source:            (a task shift)
            m = m + 1;  c_t = integrate(c_t, e_{L+m}, d)
        c_t = integrate(c_t, M^FC_t[i], beta_enc)
        c_s = integrate(c_s, M^FC_s[i] + (1 - gamma) e_q, beta_source)
        phi_k = phi_s exp(-phi_d k) + 1
        M^FC_t[i] += gamma c_t;           M^FC_s[i] += gamma c_s
        M^CF_t[:, i] += phi_k c_t;        M^CF_s[:, i] += phi_k L_sw c_s

    A shift learns nothing and does not advance the primacy counter.
    """
    index = jnp.asarray(item, jnp.int32) - 1
    L = state.recallable.shape[-1]
    q = state.sources[index]
    shift = (state.study_count > 0) & (q != state.previous_source)
    shift_count = state.shift_count + shift.astype(jnp.int32)
    placeholder = jax.nn.one_hot(L + shift_count, 2 * L, dtype=jnp.float32)
    temporal = jnp.where(shift, integrate(state.temporal, placeholder, params.shift_drift_rate),
                         state.temporal)
    temporal = integrate(temporal, state.mfc_temporal[index], params.encoding_drift_rate)
    e_q = jax.nn.one_hot(q, state.source.shape[-1], dtype=jnp.float32)
    source = integrate(state.source, state.mfc_source[index] + (1 - params.learning_rate) * e_q,
                       params.source_drift_rate)
    phi = primacy_gradient(state.study_count, params)
    return state._replace(
        temporal=temporal,
        source=source,
        mfc_temporal=state.mfc_temporal.at[index].add(params.learning_rate * temporal),
        mfc_source=state.mfc_source.at[index].add(params.learning_rate * source),
        mcf_temporal=state.mcf_temporal.at[:, index].add(phi * temporal),
        mcf_source=state.mcf_source.at[:, index].add(phi * params.source_learning_rate * source),
        recallable=state.recallable.at[index].set(True),
        study_count=state.study_count + 1,
        shift_count=shift_count,
        previous_source=q,
    )


def study_list(state: SourceState, params: FullParameters) -> SourceState:
    """Study items ``1..L`` in serial order."""

    def step(state, item):
        return study(state, params, item), None

    L = state.recallable.shape[-1]
    return jax.lax.scan(step, state, jnp.arange(1, L + 1))[0]


def start_recall(state: SourceState, params: FullParameters) -> SourceState:
    """``c_t = integrate(c_t, e_0, beta_start)``; source context unchanged."""
    e0 = jnp.zeros_like(state.temporal).at[0].set(1.0)
    return state._replace(temporal=integrate(state.temporal, e0, params.start_drift_rate))


def activations(state: SourceState) -> jax.Array:
    """The retrieval cue ``(L,)``: ``a_i = c_t . M^CF_t[:, i] + c_s . M^CF_s[:, i]``.

    Semantic similarities can make an activation negative.
    """
    return state.temporal @ state.mcf_temporal + state.source @ state.mcf_source


def outcome_probabilities(state: SourceState, params: FullParameters) -> jax.Array:
    """Luce-rule ``(L + 1,)`` probabilities: index 0 = stop, index ``i`` = item ``i``.

    The base model's rule on ``a = max(a, eps)``:
    ``a = exp(tau (log a - max log a))``, ``a = (a + eps) * recallable``,
    ``P(stop) = min(1 - eps n, theta_s exp(theta_r r))`` (1 when nothing is
    recallable), ``P(item i) = (1 - P(stop)) a_i / sum(a)``.
    """
    p_stop = stop_rule(jnp.sum(state.recallable, axis=-1), state.recall_count, params)
    a = luce_supports(activations(state), state.recallable, params, axis=-1)
    total = jnp.sum(a, axis=-1, keepdims=True)
    p_items = (1 - p_stop)[..., None] * a / jnp.where(total > 0, total, 1.0)
    return jnp.concatenate([p_stop[..., None], p_items], axis=-1)


def recall(state: SourceState, params: FullParameters, choice) -> SourceState:
    """Apply a recall outcome: ``choice`` 0 = stop, ``i`` = recall item ``i``.

    .. code-block:: text

        c_t = integrate(c_t, M^FC_t[i], beta_rec)
        c_s = integrate(c_s, M^FC_s[i], beta_source)

    and item ``i`` is no longer recallable; the matrices do not change.
    After a stop nothing is recallable any more.
    """
    choice = jnp.asarray(choice, jnp.int32)
    is_item = choice > 0
    index = jnp.maximum(choice - 1, 0)
    temporal = integrate(state.temporal, state.mfc_temporal[index], params.recall_drift_rate)
    source = integrate(state.source, state.mfc_source[index], params.source_drift_rate)
    L = state.recallable.shape[-1]
    chosen = jnp.arange(L) == index
    return state._replace(
        temporal=jnp.where(is_item, temporal, state.temporal),
        source=jnp.where(is_item, source, state.source),
        recallable=jnp.where(is_item, state.recallable & ~chosen, False),
        recall_count=state.recall_count + is_item.astype(jnp.int32),
    )

