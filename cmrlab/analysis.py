"""The benchmark analyses of free recall, on integer recall matrices.

Conventions of psifr (Morton 2020), as ``CMR_SPEC.md`` defines them: a
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

from cmrlab.recalls import check_recalls


class _Compacted(NamedTuple):
    items: jax.Array      # (n, L) valid recalls in order, 0 after the last
    positions: jax.Array  # (n, L) output position (0-based) of each valid recall
    one_hot: jax.Array    # (n, L, L) bool, [n, k, i]: k-th valid recall is item i + 1
    before: jax.Array     # (n, L, L) bool, [n, k, i]: item i + 1 validly recalled before the k-th


def _valid_mask(recalls: jax.Array, list_length: int) -> jax.Array:
    """``(n, W)`` bool: studied item at its first appearance in the row."""
    studied = (recalls >= 1) & (recalls <= list_length)
    width = recalls.shape[1]
    same = recalls[:, :, None] == recalls[:, None, :]
    earlier = jnp.tril(jnp.ones((width, width), bool), k=-1)[None]
    repeat = jnp.any(same & earlier & studied[:, None, :], axis=2)
    return studied & ~repeat


def _compact(recalls: jax.Array, list_length: int) -> _Compacted:
    recalls = jnp.asarray(recalls, jnp.int32)
    L = list_length
    valid = _valid_mask(recalls, L)
    rank = jnp.cumsum(valid, axis=1) - 1
    # slot[n, t, k]: output t holds the k-th valid recall (one-hot, no scatter)
    slot = valid[:, :, None] & (rank[:, :, None] == jnp.arange(L)[None, None, :])
    items = jnp.sum(jnp.where(slot, recalls[:, :, None], 0), axis=1)
    outputs = jnp.arange(recalls.shape[1], dtype=jnp.int32)[None, :, None]
    positions = jnp.sum(jnp.where(slot, outputs, 0), axis=1)
    one_hot = items[:, :, None] == jnp.arange(1, L + 1)[None, None, :]
    running, before = jnp.zeros_like(one_hot[:, 0]), []
    for k in range(L):  # exclusive running OR along the short output axis
        before.append(running)
        running = running | one_hot[:, k]
    return _Compacted(items, positions, one_hot, jnp.stack(before, axis=1))


def _count_over_trials(x: jax.Array) -> jax.Array:
    """Sum a bool ``(n, ...)`` over its first axis as a matrix product.

    XLA on the CPU reduces over leading axes several times slower than it
    multiplies matrices; counts stay exact (below 2**24).
    """
    dtype = jnp.result_type(float)
    flat = x.reshape(x.shape[0], -1).astype(dtype)
    return (jnp.ones((1, x.shape[0]), dtype) @ flat).reshape(x.shape[1:])


def _ratio(actual, possible):
    dtype = jnp.result_type(float)
    actual, possible = actual.astype(dtype), possible.astype(dtype)
    return jnp.where(possible > 0, actual / jnp.where(possible > 0, possible, 1), jnp.nan)


def _checked(recalls, list_length: int):
    if not isinstance(recalls, jax.core.Tracer):
        recalls = check_recalls(recalls, list_length)
    return recalls


@partial(jax.jit, static_argnames="list_length")
def _spc(recalls, list_length):
    return _spc_of(_compact(recalls, list_length), recalls.shape[0])


def _spc_of(c: _Compacted, n_trials: int):
    return _ratio(jnp.sum(_count_over_trials(c.one_hot), axis=0), jnp.full(c.items.shape[1], n_trials))


def spc(recalls, list_length: int) -> jax.Array:
    """Serial-position curve: fraction of trials recalling position ``i`` validly.

    Args:
        recalls: int ``(n_trials, max_recalls)`` recall matrix.
        list_length: ``L``.

    Returns:
        ``(L,)``; entry ``i - 1`` is ``P(position i recalled)``.
    """
    return _spc(_checked(recalls, list_length), list_length)


def _pnr_counts(c: _Compacted):
    has = c.items > 0  # (n, L): the trial made a k-th valid recall
    actual = _count_over_trials(c.one_hot)
    possible = _count_over_trials(has[:, :, None] & ~c.before)
    return actual, possible


@partial(jax.jit, static_argnames="list_length")
def _pnr(recalls, list_length):
    return _ratio(*_pnr_counts(_compact(recalls, list_length)))


def pnr(recalls, list_length: int) -> jax.Array:
    """Probability of nth recall, ``(L, L)``: ``[n - 1, i - 1]`` = ``P(item i at output n)``.

    ``actual[n, i]`` counts trials whose ``n``-th valid recall is ``i``;
    ``possible[n, j]`` counts trials that made an ``n``-th valid recall while
    ``j`` was still available (not validly recalled before). ``pnr =
    actual / possible`` pooled over trials; NaN where nothing was possible.
    """
    return _pnr(_checked(recalls, list_length), list_length)


def pfr(recalls, list_length: int) -> jax.Array:
    """Probability of first recall, ``(L,)``: row 0 of :func:`pnr` (sums to 1).

    Among trials with at least one valid recall, the fraction whose first
    valid recall is position ``i``.
    """
    return pnr(recalls, list_length)[0]


class _Transitions(NamedTuple):
    counted: jax.Array   # (n, L - 1) bool: valid -> valid, consecutive outputs
    lag: jax.Array       # (n, L - 1) int: cur - prev
    current_item: jax.Array  # (n, L - 1) int: cur
    available: jax.Array  # (n, L - 1, L) bool: items not yet recalled


def _transitions(c: _Compacted) -> _Transitions:
    cur, prev = c.items[:, 1:], c.items[:, :-1]
    consecutive = c.positions[:, 1:] - c.positions[:, :-1] == 1
    counted = (cur > 0) & consecutive
    return _Transitions(counted, cur - prev, cur, ~c.before[:, 1:])


def _lag_counts(t: _Transitions, list_length: int):
    L = list_length
    dtype = jnp.result_type(float)
    weight = t.counted.reshape(-1).astype(dtype)
    actual = jnp.zeros(2 * L - 1, dtype).at[(t.lag + L - 1).reshape(-1)].add(weight)
    # from_to[p, j]: counted transitions out of item p + 1 while item j + 1 was available
    previous = jnp.clip((t.current_item - t.lag).reshape(-1) - 1, 0, L - 1)
    available = t.available.reshape(-1, L).astype(dtype) * weight[:, None]
    from_to = jax.ops.segment_sum(available, previous, num_segments=L)
    # fold the (L, L) table onto its 2L - 1 diagonals, lag = j - p
    offsets = jnp.arange(L)[None, :] - jnp.arange(L)[:, None]
    fold = (offsets.reshape(-1, 1) == jnp.arange(-(L - 1), L)[None, :]).astype(dtype)
    possible = (from_to.reshape(1, -1) @ fold)[0]
    return actual, possible


@partial(jax.jit, static_argnames="list_length")
def _lag_crp(recalls, list_length):
    t = _transitions(_compact(recalls, list_length))
    return _ratio(*_lag_counts(t, list_length))


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
    return _temporal_factor_of(_transitions(_compact(recalls, list_length)), list_length)


def _temporal_factor_of(t: _Transitions, list_length: int):
    prev = t.current_item - t.lag
    distance = jnp.abs(jnp.arange(1, list_length + 1)[None, None, :] - prev[:, :, None])
    actual = jnp.abs(t.lag)[:, :, None]
    n_possible = jnp.sum(t.available, axis=-1)
    closer = jnp.sum(t.available & (distance < actual), axis=-1)
    tied = jnp.sum(t.available & (distance == actual), axis=-1)  # includes the actual
    dtype = jnp.result_type(float)
    rank = closer.astype(dtype) + (tied.astype(dtype) + 1) / 2
    scored = t.counted & (n_possible > 1)
    score = 1 - (rank - 1) / jnp.maximum(n_possible - 1, 1).astype(dtype)
    total = jnp.sum(jnp.where(scored, score, 0))
    count = jnp.sum(scored)
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)


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


def mean_recalls(recalls, list_length: int) -> jax.Array:
    """Mean number of valid recalls per trial."""
    recalls = _checked(recalls, list_length)
    return jnp.mean(jnp.sum(_valid_mask(jnp.asarray(recalls), list_length), axis=1))


class Summary(NamedTuple):
    """All benchmark curves of one recall matrix (see :func:`summarize`)."""

    spc: jax.Array
    pfr: jax.Array
    lag_crp: jax.Array
    temporal_factor: jax.Array
    mean_recalls: jax.Array


@partial(jax.jit, static_argnames="list_length")
def _summarize(recalls, list_length):
    c = _compact(recalls, list_length)
    t = _transitions(c)
    actual, possible = _pnr_counts(c)
    return Summary(
        spc=_spc_of(c, recalls.shape[0]),
        pfr=_ratio(actual[0], possible[0]),
        lag_crp=_ratio(*_lag_counts(t, list_length)),
        temporal_factor=_temporal_factor_of(t, list_length),
        mean_recalls=jnp.mean(jnp.sum(c.items > 0, axis=1)),
    )


def summarize(recalls, list_length: int) -> Summary:
    """:func:`spc`, :func:`pfr`, :func:`lag_crp`, :func:`temporal_factor` and
    :func:`mean_recalls` in one compiled call (what the widgets redraw)."""
    return _summarize(_checked(recalls, list_length), list_length)
