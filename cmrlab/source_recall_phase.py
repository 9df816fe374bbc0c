"""The full model for many lists at once: per-list study, then recall in activation coordinates.

The model is defined in ``docs/source_model.md``. Every list of the full
model has its own items and tasks, so the study
phase cannot be shared as in the base model. It is cheap all the same:
each item is studied once, so ``M^FC_t[i]`` is ``(1 - gamma) e_i`` when item
``i`` is studied and ``M^FC_s[i] = 0``, and study only has to carry the two
context vectors; the matrices follow from the contexts seen at study
(:func:`study`).

Recall then runs in activation coordinates, as the base model does in
:mod:`cmrlab.recall_phase`, once per context. For the temporal context
(the source context the same way, with ``beta_source``):

.. code-block:: text

    a_t = c_t @ M^CF_t    (L,)   h_t = N_t c_t   (L,)   s_t = c_t . c_t
    N_t[i] = norm(M^FC_t[i]),  A_t = N_t @ M^CF_t,  H_t = N_t @ N_t^T   (L, L) per list

    recall of item i:  d = h_t[i],  rho = sqrt(1 + beta^2 (d^2 - 1)) - beta d
                       |v|^2 = rho^2 s_t + 2 rho beta d + beta^2 H_t[i, i]
                       k = 1 / sqrt(|v|^2 + eps)
                       a_t <- k (rho a_t + beta A_t[i]),  h_t <- k (rho h_t + beta H_t[i]),
                       s_t <- k^2 |v|^2

and the retrieval cue is ``a = a_t + a_s``. ``O(L)`` work per list and step.

Layout: lists first, items last (``(n_lists, L)``; tables ``(n_lists, L, L)``
with row ``i`` belonging to recalled item ``i``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from cmrlab.model import integrate, luce_supports, normalize, primacy_gradient, retention, stop_rule
from cmrlab.parameters import EPS, FullParameters


class SourceTables(NamedTuple):
    """Per-list constants of the recall phase (row ``i`` = what recalling item ``i`` adds).

    Attributes:
        activation_temporal: ``(n, L, L)`` ``A_t[i] = norm(M^FC_t[i]) @ M^CF_t``.
        overlap_temporal: ``(n, L, L)`` ``H_t = N_t N_t^T``.
        activation_source: ``(n, L, L)`` ``A_s[i] = norm(M^FC_s[i]) @ M^CF_s``.
        overlap_source: ``(n, L, L)`` ``H_s = N_s N_s^T``.
    """

    activation_temporal: jax.Array
    overlap_temporal: jax.Array
    activation_source: jax.Array
    overlap_source: jax.Array


class SourceRecallState(NamedTuple):
    """The recall-phase state of many lists.

    Attributes:
        activation_temporal, overlap_temporal: ``(n, L)`` ``a_t``, ``h_t``.
        norm_sq_temporal: ``(n,)`` ``c_t . c_t``.
        activation_source, overlap_source: ``(n, L)`` ``a_s``, ``h_s``.
        norm_sq_source: ``(n,)`` ``c_s . c_s``.
        recallable: ``(n, L)`` bool.
        recall_count: ``(n,)`` int32.
    """

    activation_temporal: jax.Array
    overlap_temporal: jax.Array
    norm_sq_temporal: jax.Array
    activation_source: jax.Array
    overlap_source: jax.Array
    norm_sq_source: jax.Array
    recallable: jax.Array
    recall_count: jax.Array


class TableRows(NamedTuple):
    """The rows of :class:`SourceTables` for each list's recalled item, ``(n, L)`` each."""

    activation_temporal: jax.Array
    overlap_temporal: jax.Array
    activation_source: jax.Array
    overlap_source: jax.Array


def study(params: FullParameters, sources: jax.Array, semantic: jax.Array | None,
          n_sources: int) -> tuple[SourceTables, SourceRecallState]:
    """Study every list in serial order and reinstate start context.

    Args:
        params: :class:`~cmrlab.parameters.FullParameters` (may be traced).
        sources: int32 ``(n, L)`` each list's sources.
        semantic: float32 ``(n, L, L)`` each list's similarity block, or ``None``.
        n_sources: ``S``.

    Returns:
        The lists' :class:`SourceTables` and their :class:`SourceRecallState`
        at the start of recall.

    Study of serial position ``k`` (item ``i = k + 1``, source ``q``):

    .. code-block:: text

        shift:  c_t = integrate(c_t, e_{L+m}, d)  when q differs from the previous source
        c_t = integrate(c_t, (1 - gamma) e_i, beta_enc)      (M^FC_t[i] before learning)
        c_s = integrate(c_s, (1 - gamma) e_q, beta_source)   (M^FC_s[i] = 0 before learning)

    and, from the contexts ``c_t^(k)``, ``c_s^(k)`` after each study:
    ``M^FC_t[i] = (1 - gamma) e_i + gamma c_t^(k)``, ``M^FC_s[i] = gamma c_s^(k)``,
    ``M^CF_t[:, i] = pre[:, i] + phi_k c_t^(k)``, ``M^CF_s[:, i] = phi_k L_sw c_s^(k)``.
    """
    n, L = sources.shape
    gamma = params.learning_rate
    units = 2 * L
    previous = jnp.concatenate([sources[:, :1], sources[:, :-1]], axis=1)
    # Every item is studied once, and each shift has its own placeholder unit:
    # both inputs of temporal context land on a unit that is still exactly 0,
    # so d = c . c_in = 0 and integrate(c, v e_j, beta) is exactly
    # norm(rho c + beta norm(v) e_j) with rho = sqrt(1 - beta^2) (spec arithmetic).
    zero = jnp.zeros((), jnp.float32)
    rho_shift = retention(zero, params.shift_drift_rate)
    rho_enc = retention(zero, params.encoding_drift_rate)
    placeholder_input = 1 / jnp.sqrt(1 + EPS)  # norm(e_{L+m})
    item_input = (1 - gamma) / jnp.sqrt((1 - gamma) ** 2 + EPS)  # norm((1 - gamma) e_i)

    def step(carry, inputs):
        temporal, source, shifts = carry
        k, q, q_previous = inputs
        shift = (k > 0) & (q != q_previous)
        shifts = shifts + shift.astype(jnp.int32)
        placeholder = jax.nn.one_hot(L + shifts, units, dtype=jnp.float32)
        shifted = normalize(rho_shift * temporal + params.shift_drift_rate * placeholder_input * placeholder)
        temporal = jnp.where(shift[:, None], shifted, temporal)
        item = jax.nn.one_hot(k + 1, units, dtype=jnp.float32)[None, :]
        temporal = normalize(rho_enc * temporal + params.encoding_drift_rate * item_input * item)
        source = integrate(source, (1 - gamma) * jax.nn.one_hot(q, n_sources, dtype=jnp.float32),
                           params.source_drift_rate)
        return (temporal, source, shifts), (temporal, source)

    init = (
        jnp.zeros((n, units), jnp.float32).at[:, 0].set(1.0),
        jax.nn.one_hot(sources[:, 0], n_sources, dtype=jnp.float32),
        jnp.zeros(n, jnp.int32),
    )
    (temporal, source, _), (studied_t, studied_s) = jax.lax.scan(
        step, init, (jnp.arange(L), sources.T, previous.T))
    studied_t = jnp.swapaxes(studied_t, 0, 1)  # (n, L, 2L): row k = c_t after studying item k + 1
    studied_s = jnp.swapaxes(studied_s, 0, 1)  # (n, L, S)
    e0 = jnp.zeros(units, jnp.float32).at[0].set(1.0)
    temporal = integrate(temporal, jnp.broadcast_to(e0, temporal.shape), params.start_drift_rate)

    phi = primacy_gradient(jnp.arange(L, dtype=jnp.float32), params)[None, :, None]  # (1, L, 1)
    inputs_t = normalize((1 - gamma) * jnp.eye(L, units, k=1, dtype=jnp.float32)[None] + gamma * studied_t)
    eye = jnp.eye(L, dtype=jnp.float32)[None]
    item_rows = params.shared_support * (1 - eye) + params.item_support * eye  # (1, L, L)
    if semantic is not None:
        item_rows = item_rows + params.semantic_scale * semantic
    item_rows = jnp.broadcast_to(item_rows, (n, L, L))
    mcf_t = jnp.concatenate(
        [jnp.zeros((n, 1, L), jnp.float32), item_rows, jnp.zeros((n, L - 1, L), jnp.float32)], axis=1)
    mcf_t = mcf_t + jnp.swapaxes(phi * studied_t, 1, 2)  # (n, 2L, L)
    inputs_s = normalize(gamma * studied_s)  # (n, L, S)
    mcf_s = params.source_learning_rate * jnp.swapaxes(phi * studied_s, 1, 2)  # (n, S, L)

    tables = SourceTables(
        activation_temporal=inputs_t @ mcf_t,
        overlap_temporal=inputs_t @ jnp.swapaxes(inputs_t, 1, 2),
        activation_source=inputs_s @ mcf_s,
        overlap_source=inputs_s @ jnp.swapaxes(inputs_s, 1, 2),
    )
    state = SourceRecallState(
        activation_temporal=jnp.einsum("nc,nci->ni", temporal, mcf_t),
        overlap_temporal=jnp.einsum("nic,nc->ni", inputs_t, temporal),
        norm_sq_temporal=jnp.sum(temporal * temporal, axis=-1),
        activation_source=jnp.einsum("nc,nci->ni", source, mcf_s),
        overlap_source=jnp.einsum("nic,nc->ni", inputs_s, source),
        norm_sq_source=jnp.sum(source * source, axis=-1),
        recallable=jnp.ones((n, L), bool),
        recall_count=jnp.zeros(n, jnp.int32),
    )
    return tables, state


def activations(rs: SourceRecallState) -> jax.Array:
    """``(n, L)`` the retrieval cue ``a = a_t + a_s``."""
    return rs.activation_temporal + rs.activation_source


def stop_probability(rs: SourceRecallState, params: FullParameters) -> jax.Array:
    """``(n,)`` ``P(stop)``."""
    return stop_rule(jnp.sum(rs.recallable, axis=-1), rs.recall_count, params)


def outcome_probabilities(rs: SourceRecallState, params: FullParameters) -> jax.Array:
    """``(n, L + 1)`` Luce-rule probabilities: column 0 = stop, column ``i`` = item ``i``."""
    p_stop = stop_probability(rs, params)
    a = luce_supports(activations(rs), rs.recallable, params, axis=-1)
    total = jnp.sum(a, axis=-1)
    p_items = a * ((1 - p_stop) / jnp.where(total > 0, total, 1.0))[:, None]
    return jnp.concatenate([p_stop[:, None], p_items], axis=-1)


def outcome_log_probability(rs: SourceRecallState, params: FullParameters, choice) -> jax.Array:
    """``(n,)`` Luce-rule ``log P(choice)``; ``choice`` 0 = stop, ``i`` = item ``i``.

    ``log P(item i) = log(1 - p_stop) + log a_i - log sum(a)``.
    """
    p_stop = stop_probability(rs, params)
    a = luce_supports(activations(rs), rs.recallable, params, axis=-1)
    chosen = one_hot_items(choice, a.shape[-1])
    is_stop = choice == 0
    # the unused branch is kept finite so that its gradient is 0, not NaN
    a_choice = jnp.where(is_stop, 1.0, jnp.sum(jnp.where(chosen, a, 0.0), axis=-1))
    p_continue = jnp.where(is_stop, 1.0, 1 - p_stop)
    total = jnp.where(is_stop, 1.0, jnp.sum(a, axis=-1))
    log_item = jnp.log(p_continue) + jnp.log(a_choice) - jnp.log(total)
    return jnp.where(is_stop, jnp.log(p_stop), log_item)


def table_rows(tables: SourceTables, choice) -> TableRows:
    """Each list's table rows for its item ``choice`` (``(n,)``, 1-based; 0 gives row 1, unused)."""
    index = jnp.maximum(choice - 1, 0)[:, None, None]
    return TableRows(*(jnp.take_along_axis(t, index, axis=1)[:, 0] for t in tables))


def apply(rs: SourceRecallState, rows: TableRows, params: FullParameters, choice) -> SourceRecallState:
    """Apply outcome ``choice`` ``(n,)`` (0 = stop, ``i`` = item ``i``) to every list.

    ``rows`` holds the table rows of the chosen items (:func:`table_rows`).
    Both contexts drift: temporal with ``beta_rec``, source with
    ``beta_source``. After a stop nothing is recallable.
    """
    is_item = choice > 0
    chosen = one_hot_items(choice, rs.recallable.shape[-1])
    a_t, h_t, s_t = _drift(rs.activation_temporal, rs.overlap_temporal, rs.norm_sq_temporal,
                           rows.activation_temporal, rows.overlap_temporal, chosen,
                           params.recall_drift_rate)
    a_s, h_s, s_s = _drift(rs.activation_source, rs.overlap_source, rs.norm_sq_source,
                           rows.activation_source, rows.overlap_source, chosen,
                           params.source_drift_rate)
    keep = is_item[:, None]
    return SourceRecallState(
        activation_temporal=jnp.where(keep, a_t, rs.activation_temporal),
        overlap_temporal=jnp.where(keep, h_t, rs.overlap_temporal),
        norm_sq_temporal=jnp.where(is_item, s_t, rs.norm_sq_temporal),
        activation_source=jnp.where(keep, a_s, rs.activation_source),
        overlap_source=jnp.where(keep, h_s, rs.overlap_source),
        norm_sq_source=jnp.where(is_item, s_s, rs.norm_sq_source),
        recallable=keep & rs.recallable & ~chosen,
        recall_count=rs.recall_count + is_item.astype(jnp.int32),
    )


def _drift(activation, overlap, norm_sq, activation_row, overlap_row, chosen, beta):
    """``c = integrate(c, norm(M^FC[i]), beta)`` in activation coordinates."""
    d = jnp.sum(jnp.where(chosen, overlap, 0.0), axis=-1)
    input_sq = jnp.sum(jnp.where(chosen, overlap_row, 0.0), axis=-1)
    rho = retention(d, beta)
    v_sq = rho * rho * norm_sq + 2 * rho * beta * d + beta * beta * input_sq
    # v = 0 only when context has collapsed to the zero vector (learning_rate 1
    # with encoding_drift_rate 1: items then have no input to context), and it
    # stays 0. The value k * 0 = 0 does not depend on k; k = 0 there keeps the
    # gradient from being multiplied by 1 / sqrt(eps) at every recall.
    k = jnp.where(v_sq > 0, 1 / jnp.sqrt(v_sq + EPS), 0.0)
    activation = (rho[:, None] * activation + beta * activation_row) * k[:, None]
    overlap = (rho[:, None] * overlap + beta * overlap_row) * k[:, None]
    return activation, overlap, v_sq * k * k


def one_hot_items(choice, n_items: int) -> jax.Array:
    """``(n, L)`` bool, true at item ``choice`` (1-based); all false for 0."""
    return jnp.arange(1, n_items + 1)[None, :] == choice[:, None]
