"""The benchmark analyses of free recall, on integer recall matrices.

Conventions of psifr (Morton 2020), as ``docs/analyses.md`` describes them: a
*valid* recall is a serial position ``1..L`` at its first appearance in the
row; intrusions (``-1``) and repeats are not valid, transitions into or out
of them are skipped, and counts are pooled over the trials given.

Every function is pure JAX: ``jit``-compiled (``list_length`` is static),
``vmap``-able over groups of trials of equal shape, and independent of the
padding width. Results are in JAX's default float type (float32, or float64
with ``jax_enable_x64``). A concrete recall matrix is validated first
(:func:`cmrlab.recalls.check_recalls`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab import _transitions as tr
from cmrlab.recalls import check_recalls

_checked = tr.checked


@partial(jax.jit, static_argnames="list_length")
def _spc(recalls, list_length):
    return _spc_of(tr.outputs(recalls, list_length), list_length)


def _spc_of(o: tr.Outputs, list_length: int):
    n_trials = o.recalls.shape[0]
    recalled = tr.unpack_bits(tr.recalled(o), list_length)  # (n, L)
    return tr.ratio(tr.count_over_trials(recalled), jnp.full(list_length, n_trials))


def spc(recalls, list_length: int) -> jax.Array:
    """Serial-position curve: fraction of trials recalling position ``i`` validly.

    Args:
        recalls: int ``(n_trials, max_recalls)`` recall matrix.
        list_length: ``L``.

    Returns:
        ``(L,)``; entry ``i - 1`` is ``P(position i recalled)``.
    """
    return _spc(_checked(recalls, list_length), list_length)


def _pnr_counts(o: tr.Outputs, list_length: int):
    # from the rank at which each item was recalled: item i is the k-th valid recall when
    # rank_i == k, and available at output k while k < rank_i + 1 (or k < K, the number
    # of valid recalls, if i was never recalled); histograms by scatter-add, no (n, L, L) table
    L = list_length
    n = o.recalls.shape[0]
    dtype = tr.float_type()
    rank = tr.recall_ranks(o, L)
    made = jnp.sum(o.valid, axis=1, dtype=jnp.int32)[:, None]  # K
    recalled = rank < L
    items = jnp.broadcast_to(jnp.arange(L)[None, :], (n, L))
    actual = jnp.zeros((L + 1, L), dtype).at[jnp.where(recalled, rank, L), items].add(1)[:L]
    until = jnp.where(recalled, rank + 1, made)  # available at valid ranks 0 .. until - 1
    ends = jnp.zeros((L + 1, L), dtype).at[until, items].add(1)
    possible = jnp.cumsum(ends[::-1], axis=0)[::-1][1:]  # possible[k] = #(until > k)
    return actual, possible


def _pfr_counts(o: tr.Outputs, list_length: int):
    first = o.valid & (o.rank == 0)
    first_item = jnp.sum(jnp.where(first, o.recalls, 0), axis=1)  # (n,), 0 = no valid recall
    actual = tr.count_over_trials(tr.one_hot_items(first_item, list_length))
    possible = jnp.full(list_length, jnp.sum(first_item > 0), actual.dtype)
    # XLA turns a division by a broadcast scalar into a multiplication by its reciprocal,
    # which can miss the correctly rounded quotient by one unit (0.1125 -> 0.112500004);
    # the barrier keeps a true division, as pnr's row 0 has
    return actual, jax.lax.optimization_barrier(possible)


@partial(jax.jit, static_argnames="list_length")
def _pnr(recalls, list_length):
    return tr.ratio(*_pnr_counts(tr.outputs(recalls, list_length), list_length))


def pnr(recalls, list_length: int) -> jax.Array:
    """Probability of nth recall, ``(L, L)``: ``[n - 1, i - 1]`` = ``P(item i at output n)``.

    ``actual[n, i]`` counts trials whose ``n``-th valid recall is ``i``;
    ``possible[n, j]`` counts trials that made an ``n``-th valid recall while
    ``j`` was still available (not validly recalled before). ``pnr =
    actual / possible`` pooled over trials; NaN where nothing was possible.
    """
    return _pnr(_checked(recalls, list_length), list_length)


@partial(jax.jit, static_argnames="list_length")
def _pfr(recalls, list_length):
    return tr.ratio(*_pfr_counts(tr.outputs(recalls, list_length), list_length))


def pfr(recalls, list_length: int) -> jax.Array:
    """Probability of first recall, ``(L,)``: row 0 of :func:`pnr` (sums to 1).

    Among trials with at least one valid recall, the fraction whose first
    valid recall is position ``i``.
    """
    return _pfr(_checked(recalls, list_length), list_length)


def _lag_counts(t: tr.Transitions, list_length: int):
    L = list_length
    dtype = tr.float_type()
    lag = jnp.where(t.counted, t.cur - t.prev + L - 1, 2 * L - 1)  # not counted: cut off
    actual = jnp.zeros(2 * L, dtype).at[lag.reshape(-1)].add(1)[:-1]
    # from_to[p, j]: counted transitions out of item p + 1 while item j + 1 was available
    available = tr.unpack_bits(t.available, L) & t.counted[..., None]
    from_to = tr.sum_by(available, t.prev - 1, L)
    return actual, tr.fold_lags(from_to, L)


@partial(jax.jit, static_argnames="list_length")
def _lag_crp(recalls, list_length):
    t = tr.transitions(tr.outputs(recalls, list_length), list_length)
    return tr.ratio(*_lag_counts(t, list_length))


def lag_crp(recalls, list_length: int) -> jax.Array:
    """Lag conditional response probability, ``(2L - 1,)`` for lags ``-(L-1)..L-1``.

    For each pair of consecutive valid responses ``prev -> cur``, ``actual``
    gains 1 at ``cur - prev`` and ``possible`` gains 1 at ``j - prev`` for
    every item ``j`` not yet recalled. ``lag_crp = actual / possible`` pooled
    over trials; NaN where nothing was possible (always at lag 0). Index
    ``L - 1`` is lag 0, ``L`` is lag +1.
    """
    return _lag_crp(_checked(recalls, list_length), list_length)


@partial(jax.jit, static_argnames="list_length")
def _temporal_factor(recalls, list_length):
    t = tr.transitions(tr.outputs(recalls, list_length), list_length)
    return _temporal_factor_of(t, list_length)


def _temporal_factor_of(t: tr.Transitions, list_length: int):
    # ranks by |lag| from the sets of available items: no (n, L, L) table
    L = list_length
    distance = jnp.abs(t.cur - t.prev)
    n_possible = tr.count_bits(t.available)
    closer = tr.count_bits(tr.bits_and(t.available, tr.span_bits(t.prev - distance + 1, t.prev + distance - 1, L)))
    # the actual item and, on the other side of prev, the item at the same |lag| if still available
    mirror = tr.count_bits(tr.bits_and(t.available, tr.item_bits(2 * t.prev - t.cur, L)))
    return tr.mean_rank_score(t.counted, closer, 1 + mirror, n_possible)


def temporal_factor(recalls, list_length: int) -> jax.Array:
    """Temporal clustering factor (psifr's ``lag_rank``), a scalar.

    Each transition counted by :func:`lag_crp` scores ``1 - (r - 1) / (m - 1)``
    where ``r`` is the average rank (ties share the mean rank, smallest
    absolute lag = rank 1) of the actual ``|lag|`` among the ``m`` available
    items' ``|lag|``; transitions with ``m = 1`` are not scored. Returns the
    mean score: 0.5 = no temporal organization, 1 = always the nearest item;
    NaN with nothing scored.
    """
    return _temporal_factor(_checked(recalls, list_length), list_length)


@partial(jax.jit, static_argnames="list_length")
def _mean_recalls(recalls, list_length):
    o = tr.outputs(recalls, list_length)
    return jnp.mean(jnp.sum(o.valid, axis=1))


def mean_recalls(recalls, list_length: int) -> jax.Array:
    """Mean number of valid recalls per trial."""
    return _mean_recalls(_checked(recalls, list_length), list_length)


class Summary(NamedTuple):
    """All benchmark curves of one recall matrix (see :func:`summarize`)."""

    spc: jax.Array
    pfr: jax.Array
    lag_crp: jax.Array
    temporal_factor: jax.Array
    mean_recalls: jax.Array


def _summary_of(recalls, list_length: int, n_items=None) -> Summary:
    """Every curve of :class:`Summary`; ``n_items`` (may be traced): only items ``1..n_items`` of the
    ``list_length`` were studied (a list-length bucket, :func:`summarize_padded`)."""
    o = tr.outputs(recalls, list_length)
    t = tr.transitions(o, list_length, n_items)
    return Summary(
        spc=_spc_of(o, list_length),
        pfr=tr.ratio(*_pfr_counts(o, list_length)),
        lag_crp=tr.ratio(*_lag_counts(t, list_length)),
        temporal_factor=_temporal_factor_of(t, list_length),
        mean_recalls=jnp.mean(jnp.sum(o.valid, axis=1)),
    )


@partial(jax.jit, static_argnames="list_length")
def _summarize(recalls, list_length):
    return _summary_of(recalls, list_length)


def summarize(recalls, list_length: int) -> Summary:
    """:func:`spc`, :func:`pfr`, :func:`lag_crp`, :func:`temporal_factor` and
    :func:`mean_recalls` in one compiled call (what the widgets redraw)."""
    return _summarize(_checked(recalls, list_length), list_length)


@partial(jax.jit, static_argnames="bucket")
def _summarize_bucket(recalls, n_items, bucket):
    return _summary_of(recalls, bucket, n_items)


def summarize_padded(recalls, list_length: int, bucket: int) -> Summary:
    """:func:`summarize` of lists of ``list_length`` items computed in lists of ``bucket`` items.

    For a live panel whose list length changes: one compiled function serves
    every ``list_length <= bucket``. ``recalls`` ``(n, W)`` may only name
    items ``1..list_length`` (as :func:`cmrlab.simulation.simulate_padded`
    returns); items beyond are padding, never available. The counts are
    exact, so the result is that of ``summarize(recalls, list_length)``
    (tested), as NumPy arrays: ``spc``/``pfr`` ``(L,)``, ``lag_crp``
    ``(2L - 1,)``.
    """
    if bucket < list_length:
        raise ValueError(f"bucket ({bucket}) must hold the list ({list_length} items).")
    if not isinstance(recalls, jax.core.Tracer):
        recalls = check_recalls(recalls, list_length)
    s = jax.device_get(_summarize_bucket(recalls, jnp.int32(list_length), bucket))
    L = list_length
    return Summary(spc=s.spc[:L], pfr=s.pfr[:L], lag_crp=s.lag_crp[bucket - L: bucket + L - 1],
                   temporal_factor=np.asarray(s.temporal_factor), mean_recalls=np.asarray(s.mean_recalls))
