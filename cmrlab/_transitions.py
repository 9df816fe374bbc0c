"""Shared machinery of the analyses: valid recalls, transitions, sets of items as bits.

Everything works in the recall matrix's own output order, ``(n, W)``: no
compaction of the valid recalls and no ``(n, L, L)`` tables of which items
were recalled before which. The set of items recalled so far in a trial is a
bit mask (bit ``i - 1`` for item ``i``), held as a tuple of ``uint32`` words
(``ceil(L / 32)`` of them) of shape ``(n, W)`` each, so that "is item ``j``
still available", "how many available items lie closer than the actual one"
and "how many items are left" are a few integer operations per transition
(``lax.population_count`` counts the bits). Counts per item, per lag or per
output position are scatter-adds (``.at[].add``, ``segment_sum``), which XLA
runs on the CPU faster than one-hot matrix products or reductions over the
leading axis; counts stay exact below 2**24.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from cmrlab.recalls import check_recalls

Bits = tuple  # of uint32 arrays of one shape: word w holds items 32 w + 1 .. 32 w + 32

_U32 = jnp.uint32
_ALL = 0xFFFFFFFF


def n_words(list_length: int) -> int:
    return (list_length + 31) // 32


def item_bits(items: jax.Array, list_length: int) -> Bits:
    """The set ``{items}`` (one item per entry; outside ``1..L`` = empty set)."""
    words = []
    for w in range(n_words(list_length)):
        local = items - 1 - 32 * w
        inside = (items >= 1) & (items <= list_length) & (local >= 0) & (local < 32)
        words.append(jnp.where(inside, jnp.left_shift(_U32(1), jnp.clip(local, 0, 31).astype(_U32)), _U32(0)))
    return tuple(words)


def _low(k: jax.Array) -> jax.Array:
    """A word with its ``k`` lowest bits set, ``0 <= k <= 32``."""
    shifted = jnp.left_shift(_U32(1), jnp.clip(k, 0, 31).astype(_U32)) - _U32(1)
    return jnp.where(k >= 32, _U32(_ALL), shifted)


def span_bits(first: jax.Array, last: jax.Array, list_length: int) -> Bits:
    """The set of items ``first..last`` (inclusive, clipped to ``1..L``; empty if ``first > last``)."""
    first = jnp.maximum(first, 1)
    last = jnp.minimum(last, list_length)
    words = []
    for w in range(n_words(list_length)):
        start = jnp.clip(first - 1 - 32 * w, 0, 32)  # first local bit
        stop = jnp.clip(last - 32 * w, 0, 32)  # one past the last local bit
        words.append(jnp.where(stop > start, _low(stop) & ~_low(start), _U32(0)))
    return tuple(words)


def all_bits(list_length: int) -> Bits:
    return span_bits(jnp.int32(1), jnp.int32(list_length), list_length)


def bits_and(a: Bits, b: Bits) -> Bits:
    return tuple(x & y for x, y in zip(a, b))


def count_bits(a: Bits) -> jax.Array:
    """Number of items in each set (int32)."""
    return sum(lax.population_count(x).astype(jnp.int32) for x in a)


def _along_last(values: jax.Array, ndim: int) -> jax.Array:
    """``values`` ``(k,)`` shaped ``(1, ..., 1, k)`` to broadcast against ``ndim`` leading axes."""
    return values.reshape((1,) * ndim + values.shape)


def unpack_bits(a: Bits, list_length: int) -> jax.Array:
    """``(..., L)`` bool: ``[..., j]`` is item ``j + 1`` in the set."""
    unpacked = []
    for w, x in enumerate(a):
        positions = jnp.arange(min(32, list_length - 32 * w), dtype=_U32)
        unpacked.append((jnp.right_shift(x[..., None], _along_last(positions, x.ndim)) & _U32(1)) == 1)
    return jnp.concatenate(unpacked, axis=-1)


class Outputs(NamedTuple):
    """A recall matrix read in output order."""

    recalls: jax.Array  # (n, W) int32
    valid: jax.Array  # (n, W) bool: a studied item at its first appearance in the row
    rank: jax.Array  # (n, W) int32: the number of valid recalls before output t
    seen: Bits  # (n, W): items validly recalled at outputs 0..t (inclusive)


def outputs(recalls: jax.Array, list_length: int) -> Outputs:
    """Valid recalls and the running set of recalled items: one scan along the outputs."""
    recalls = jnp.asarray(recalls, jnp.int32)
    n = recalls.shape[0]
    bits = item_bits(recalls, list_length)  # intrusions and padding: empty
    studied = (recalls >= 1) & (recalls <= list_length)

    def step(carry, output):
        running, count = carry
        now, fresh = output
        for r, b in zip(running, now):
            fresh = fresh & ((r & b) == 0)  # a studied item not recalled before
        running = tuple(r | b for r, b in zip(running, now))
        return (running, count + fresh.astype(jnp.int32)), (fresh, count, running)

    start = (tuple(jnp.zeros((n,), _U32) for _ in bits), jnp.zeros((n,), jnp.int32))
    _, (valid, rank, seen) = lax.scan(step, start, (tuple(b.T for b in bits), studied.T))
    return Outputs(recalls, valid.T, rank.T, tuple(w.T for w in seen))


def recalled(o: Outputs) -> Bits:
    """``(n,)`` the set of items each trial recalled validly."""
    if o.recalls.shape[1] == 0:
        return tuple(jnp.zeros(w.shape[:1], _U32) for w in o.seen)
    return tuple(w[:, -1] for w in o.seen)


def recall_ranks(o: Outputs, list_length: int) -> jax.Array:
    """``(n, L)`` int32: the valid rank (0-based) at which each item was recalled; ``L`` if never."""
    n, width = o.recalls.shape
    rows = jnp.broadcast_to(jnp.arange(n)[:, None], (n, width))
    columns = jnp.where(o.valid, o.recalls - 1, list_length)  # invalid outputs: a column that is cut off
    ranks = jnp.full((n, list_length + 1), list_length, jnp.int32)
    return ranks.at[rows, columns].set(o.rank, mode="drop")[:, :list_length]


class Transitions(NamedTuple):
    """Every pair of consecutive outputs ``t -> t + 1``, arrays ``(n, W - 1)``."""

    counted: jax.Array  # bool: both outputs valid (a transition the analyses count)
    prev: jax.Array  # int32: the item at output t
    cur: jax.Array  # int32: the item at output t + 1
    available: Bits  # items not validly recalled at outputs 0..t (cur included, prev not)


def transitions(o: Outputs, list_length: int, n_items=None) -> Transitions:
    """The transitions of ``o``; ``n_items`` (``<= list_length``, may be traced): only items
    ``1..n_items`` were studied, the rest of the ``list_length`` are padding, never available."""
    studied = all_bits(list_length) if n_items is None else span_bits(jnp.int32(1), n_items, list_length)
    available = bits_and(tuple(~w[:, :-1] for w in o.seen), studied)
    return Transitions(o.valid[:, :-1] & o.valid[:, 1:], o.recalls[:, :-1], o.recalls[:, 1:], available)


def one_hot_items(items: jax.Array, list_length: int) -> jax.Array:
    """``(..., L)`` bool: ``[..., j] = (items == j + 1)``."""
    return items[..., None] == _along_last(jnp.arange(1, list_length + 1, dtype=items.dtype), items.ndim)


def float_type():
    return jnp.result_type(float)


def count_over_trials(x: jax.Array) -> jax.Array:
    """Sum ``(n, ...)`` over its first axis as a matrix product (in the float type)."""
    dtype = float_type()
    flat = x.reshape(x.shape[0], -1).astype(dtype)
    return (jnp.ones((1, x.shape[0]), dtype) @ flat).reshape(x.shape[1:])


def sum_by(rows: jax.Array, groups: jax.Array, n_groups: int) -> jax.Array:
    """Sum the rows ``(..., K)`` by group ``(...)`` (ids ``0..n_groups-1``) -> ``(n_groups, K)``.

    Rows that must not count should be zero (their ids are clipped into range).

    ``segment_sum`` (a scatter-add of whole rows): on the CPU faster than the
    equivalent one-hot matrix product. Counts stay exact below 2**24.
    """
    dtype = float_type()
    flat = rows.reshape(-1, rows.shape[-1]).astype(dtype)
    return jax.ops.segment_sum(flat, jnp.clip(groups.reshape(-1), 0, n_groups - 1), num_segments=n_groups)


def row_sum(x: jax.Array) -> jax.Array:
    """``(n, W) -> (n,)``, added left to right: padding columns of zeros leave it bit for bit the same."""

    def add(total, column):
        return total + column, None

    return lax.scan(add, jnp.zeros(x.shape[:1], x.dtype), x.T)[0]


def fold_lags(from_to: jax.Array, list_length: int) -> jax.Array:
    """``(L, L)`` table ``[p, j]`` (from item p + 1 to item j + 1) -> ``(2L - 1,)`` sums per lag ``j - p``."""
    L = list_length
    dtype = from_to.dtype
    offsets = jnp.arange(L)[None, :] - jnp.arange(L)[:, None]
    fold = (offsets.reshape(-1, 1) == jnp.arange(-(L - 1), L)[None, :]).astype(dtype)
    return (from_to.reshape(1, -1) @ fold)[0]


def ratio(actual, possible):
    """``actual / possible``, NaN where ``possible`` is 0."""
    dtype = float_type()
    actual, possible = jnp.asarray(actual).astype(dtype), jnp.asarray(possible).astype(dtype)
    return jnp.where(possible > 0, actual / jnp.where(possible > 0, possible, 1), jnp.nan)


def mean_rank_score(counted, closer, tied, n_possible):
    """Mean percentile score ``1 - (r - 1) / (m - 1)`` over counted transitions with ``m > 1``.

    ``r = closer + (tied + 1) / 2`` is the actual's average rank (ties share
    the mean rank, rank 1 = smallest); NaN when nothing is scored.
    """
    dtype = float_type()
    rank = closer.astype(dtype) + (tied.astype(dtype) + 1) / 2
    scored = counted & (n_possible > 1)
    score = 1 - (rank - 1) / jnp.maximum(n_possible - 1, 1).astype(dtype)
    # per trial first, in output order, so that the padding width cannot change the sum
    total = jnp.sum(row_sum(jnp.where(scored, score, 0)))
    count = jnp.sum(scored)
    return jnp.where(count > 0, total / jnp.maximum(count, 1).astype(dtype), jnp.nan)


def checked(recalls, list_length: int):
    """Validate a concrete recall matrix (traced values inside jit/vmap pass as they are)."""
    if not isinstance(recalls, jax.core.Tracer):
        recalls = check_recalls(recalls, list_length)
    return recalls
