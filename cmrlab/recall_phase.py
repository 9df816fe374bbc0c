"""The recall phase of many trials at once, tracked in activation coordinates.

During recall the matrices are fixed and the context only ever becomes a
weighted sum of itself and a normalized ``M^FC`` row. So instead of the
``(L + 1,)`` context we can carry, exactly, the linear quantities the spec
reads off it:

.. code-block:: text

    a = c @ M^CF            (L,)  activations (what the Luce rule needs)
    h = N c                 (L,)  h_i = c . norm(M^FC[i])  (the d of each input)
    s = c . c               ()    squared length (1 up to rounding)

where ``N`` stacks the normalized rows ``norm(M^FC[i])``. Recalling item ``i``
(``docs/model.md``: ``c = integrate(c, M^FC[i], beta_rec)``) becomes

.. code-block:: text

    d   = h_i
    rho = sqrt(1 + beta^2 (d^2 - 1)) - beta d
    |v|^2 = rho^2 s + 2 rho beta d + beta^2 H_ii        (v = rho c + beta N_i)
    k   = 1 / sqrt(|v|^2 + eps)                          (the final norm)
    a  <- k (rho a + beta A_i),   h <- k (rho h + beta H_i),   s <- k^2 |v|^2

with ``A = N M^CF`` and ``H = N N^T`` computed once per parameter set. This is
the same arithmetic as the spec, reordered: no ``(L + 1) x L`` product per
step, only ``O(L)`` work per trial.

Layout: the item axis comes first and trials last (``(L, n_trials)``), so the
per-step loops run along the long trial axis; every function also accepts a
single trial (``(L,)``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from cmrlab.model import CMRState, luce_supports, normalize, retention, stop_rule
from cmrlab.parameters import EPS, CMRParameters


class RecallTables(NamedTuple):
    """Per-parameter-set constants of the recall phase.

    Attributes:
        activation_inputs: ``(L, L)``, column ``i`` = ``norm(M^FC[i]) @ M^CF``.
        input_overlaps: ``(L, L)``, column ``i`` = ``N @ norm(M^FC[i])``.
    """

    activation_inputs: jax.Array
    input_overlaps: jax.Array


class RecallState(NamedTuple):
    """The recall-phase state of one or many trials (trials on the last axis).

    Attributes:
        activation: ``(L, ...)`` ``a = c @ M^CF``.
        overlap: ``(L, ...)`` ``h = N c``.
        norm_sq: ``(...)`` ``c . c``.
        recallable: ``(L, ...)`` bool.
        recall_count: ``(...)`` int32.
    """

    activation: jax.Array
    overlap: jax.Array
    norm_sq: jax.Array
    recallable: jax.Array
    recall_count: jax.Array


def recall_tables(state: CMRState) -> RecallTables:
    """``A^T`` and ``H`` from a studied state (the matrices do not change in recall)."""
    inputs = normalize(state.mfc)  # (L, L + 1), row i = norm(M^FC[i])
    return RecallTables(
        activation_inputs=(inputs @ state.mcf).T,
        input_overlaps=inputs @ inputs.T,
    )


def start(state: CMRState, batch_shape: tuple[int, ...] = ()) -> RecallState:
    """The recall state of a studied state after ``start_recall``, repeated over ``batch_shape``."""
    c = state.context
    inputs = normalize(state.mfc)

    def spread(x):
        return jnp.broadcast_to(x.reshape(x.shape + (1,) * len(batch_shape)), x.shape + batch_shape)

    return RecallState(
        activation=spread(c @ state.mcf),
        overlap=spread(inputs @ c),
        norm_sq=jnp.broadcast_to(c @ c, batch_shape),
        recallable=spread(state.recallable),
        recall_count=jnp.zeros(batch_shape, jnp.int32),
    )


def supports(rs: RecallState, params: CMRParameters) -> jax.Array:
    """``(L, ...)`` Luce-rule supports, zero where not recallable."""
    return luce_supports(rs.activation, rs.recallable, params, axis=0)


def stop_probability(rs: RecallState, params: CMRParameters) -> jax.Array:
    """``(...)`` ``P(stop)``."""
    return stop_rule(jnp.sum(rs.recallable, axis=0), rs.recall_count, params)


def outcome_probabilities(rs: RecallState, params: CMRParameters) -> jax.Array:
    """``(L + 1, ...)``: row 0 = stop, row ``i`` = item ``i``."""
    p_stop = stop_probability(rs, params)
    a = supports(rs, params)
    total = jnp.sum(a, axis=0)
    p_items = a * _row((1 - p_stop) / jnp.where(total > 0, total, 1.0))
    return jnp.concatenate([p_stop[None], p_items], axis=0)


def outcome_log_probability(rs: RecallState, params: CMRParameters, choice) -> jax.Array:
    """``(...)`` ``log P(choice)``; ``choice`` 0 = stop, ``i`` = item ``i``.

    ``log P(item i) = log(1 - p_stop) + log a_i - log sum(a)``.
    """
    p_stop = stop_probability(rs, params)
    a = supports(rs, params)
    chosen = _one_hot(choice, a.shape[0])
    is_stop = choice == 0
    # the unused branch is kept finite so that its gradient is 0, not NaN
    a_choice = jnp.where(is_stop, 1.0, jnp.sum(jnp.where(chosen, a, 0.0), axis=0))
    p_continue = jnp.where(is_stop, 1.0, 1 - p_stop)
    total = jnp.where(is_stop, 1.0, jnp.sum(a, axis=0))
    log_item = jnp.log(p_continue) + jnp.log(a_choice) - jnp.log(total)
    return jnp.where(is_stop, jnp.log(p_stop), log_item)


def apply(rs: RecallState, tables: RecallTables, params: CMRParameters, choice) -> RecallState:
    """Apply outcome ``choice`` (0 = stop, ``i`` = item ``i``) to every trial.

    After a stop nothing is recallable (``P(stop) = 1`` from then on).
    """
    beta = params.recall_drift_rate
    is_item = choice > 0
    index = jnp.maximum(choice - 1, 0)
    chosen = _one_hot(choice, rs.activation.shape[0])
    d = jnp.sum(jnp.where(chosen, rs.overlap, 0.0), axis=0)
    rho = retention(d, beta)
    input_sq = jnp.take(jnp.diagonal(tables.input_overlaps), index)
    v_sq = rho * rho * rs.norm_sq + 2 * rho * beta * d + beta * beta * input_sq
    k = 1 / jnp.sqrt(v_sq + EPS)
    activation = (_row(rho) * rs.activation + beta * jnp.take(tables.activation_inputs, index, axis=1)) * _row(k)
    overlap = (_row(rho) * rs.overlap + beta * jnp.take(tables.input_overlaps, index, axis=1)) * _row(k)
    item_row = _row(is_item)
    return RecallState(
        activation=jnp.where(item_row, activation, rs.activation),
        overlap=jnp.where(item_row, overlap, rs.overlap),
        norm_sq=jnp.where(is_item, v_sq * k * k, rs.norm_sq),
        recallable=item_row & rs.recallable & ~chosen,
        recall_count=rs.recall_count + is_item.astype(jnp.int32),
    )


def _one_hot(choice, n_items: int) -> jax.Array:
    """``(L, ...)`` bool, true at item ``choice`` (1-based); all false for 0."""
    items = jnp.arange(1, n_items + 1).reshape((n_items,) + (1,) * jnp.ndim(choice))
    return items == _row(choice)


def _row(x) -> jax.Array:
    """Give a per-trial value ``(...)`` a leading item axis ``(1, ...)``."""
    return jnp.expand_dims(x, 0)
