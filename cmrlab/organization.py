"""How recall is organized by what the items share: source, meaning, task train.

The analyses Polyn, Norman & Kahana (2009) used to show that recall clusters
by encoding task and by meaning, with psifr's names and conventions (Morton
2020): the transitions counted are those of :func:`cmrlab.lag_crp` (between
two consecutive valid recalls; transitions into or out of intrusions and
repeats are skipped, and recalled items stay unavailable), and counts are
pooled over the lists given. psifr reports a group's figure as the mean of
subject means: compute per subject (``RecallDataset.per_subject``) and
average.

Every function is pure JAX (``jit``-compiled, ``list_length`` static,
``vmap``-able over groups of lists of equal shape); concrete inputs are
checked first and refused with a ``ValueError`` that says what to pass.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab import _transitions as tr


# ----------------------------------------------------------------------------- input checks


def _concrete(*values) -> bool:
    return not any(isinstance(v, jax.core.Tracer) for v in values)


def check_per_item(values, recalls, list_length: int, label: str, what: str) -> np.ndarray:
    """Check an ``(n_lists, L)`` integer array of one value per studied item; returns it."""
    array = np.asarray(values)
    expected = (np.shape(recalls)[0], list_length)
    if array.shape != expected:
        raise ValueError(
            f"{label} must have shape {expected} (one {what} per studied position of each list "
            f"of recalls), got {array.shape}."
        )
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{label} must be an integer array ({what}s), got dtype {array.dtype}.")
    return array


def check_distances(distances, study_items) -> np.ndarray:
    """Check a square, finite ``(P, P)`` matrix and that ``study_items`` index into it."""
    matrix = np.asarray(distances)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"distances must be a square (P, P) matrix over the word pool, got shape {matrix.shape}.")
    if matrix.dtype == bool or not np.issubdtype(matrix.dtype, np.number):
        raise ValueError(f"distances must be numbers, got dtype {matrix.dtype}.")
    if not np.isfinite(matrix).all():
        raise ValueError("distances hold NaN or infinity; pass a finite matrix (e.g. 1 - similarity).")
    items = np.asarray(study_items)
    if items.size and (items.min() < 0 or items.max() >= matrix.shape[0]):
        bad = items.min() if items.min() < 0 else items.max()
        raise ValueError(
            f"study_items holds {bad}, outside the distance matrix: pool indices must be "
            f"0..{matrix.shape[0] - 1} (0-based rows of distances)."
        )
    return matrix


def _item_values(values, items):
    """``values`` ``(n, L)`` at 1-based ``items`` ``(n, K)`` (clipped where not an item)."""
    return jnp.take_along_axis(values, jnp.clip(items - 1, 0, values.shape[1] - 1), axis=1)


# ----------------------------------------------------------------------------- category_crp


@partial(jax.jit, static_argnames="list_length")
def _category_counts(recalls, categories, list_length):
    t = tr.transitions(tr.outputs(recalls, list_length), list_length)
    previous = _item_values(categories, t.prev)
    actual = t.counted & (_item_values(categories, t.cur) == previous)
    same = categories[:, None, :] == previous[..., None]  # (n, W - 1, L)
    possible = t.counted & jnp.any(same & tr.unpack_bits(t.available, list_length), axis=-1)
    return jnp.sum(actual), jnp.sum(possible)


def category_crp(recalls, categories, list_length: int) -> jax.Array:
    """Category clustering: the conditional probability of a same-category transition.

    psifr's ``category_crp``. Over the transitions ``prev -> cur`` between
    consecutive valid recalls, ``actual`` counts those where ``cur`` has the
    category of ``prev``, and ``possible`` those where some item of that
    category was still available (not yet recalled; ``cur`` included)::

        category_crp = sum(actual) / sum(possible)      (NaN if nothing was possible)

    With the encoding task as the category this is *source clustering*
    (Polyn et al. 2009, task-shift lists).

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix.
        categories: int ``(n_lists, L)``: the category of each studied
            position (e.g. ``data.sources``).
        list_length: ``L``.

    Returns:
        A scalar in the float type.
    """
    recalls = tr.checked(recalls, list_length)
    if _concrete(categories):
        categories = check_per_item(categories, recalls, list_length, "categories", "category code")
    actual, possible = _category_counts(recalls, jnp.asarray(categories), list_length)
    return tr.ratio(actual, possible)


# ----------------------------------------------------------------------------- distance_rank


@partial(jax.jit, static_argnames="list_length")
def _distance_rank(recalls, study_items, distances, list_length):
    # each list's (L, L) block of distances first (gathering rows of it is cheap)
    block = distances[study_items[:, :, None], study_items[:, None, :]]
    return distance_rank_in_blocks(recalls, block, list_length)


def distance_rank_in_blocks(recalls, block, list_length: int) -> jax.Array:
    """:func:`distance_rank` from each list's own ``(n, L, L)`` distances between its serial positions.

    ``block[k, i, j]`` is the distance from the item studied at position
    ``i + 1`` of list ``k`` to the one at ``j + 1``. Pure JAX, for use inside
    ``jit`` (a fit's summary objective); no input checks.
    """
    L = list_length
    t = tr.transitions(tr.outputs(recalls, L), L)
    row = jnp.take_along_axis(block, jnp.clip(t.prev - 1, 0, L - 1)[..., None], axis=1)  # (n, W - 1, L)
    actual = jnp.take_along_axis(row, jnp.clip(t.cur - 1, 0, L - 1)[..., None], axis=2)[..., 0]
    available = tr.unpack_bits(t.available, L)
    closer = jnp.sum(available & (row < actual[..., None]), axis=-1)
    tied = jnp.sum(available & (row == actual[..., None]), axis=-1)  # includes the actual item
    return tr.mean_rank_score(t.counted, closer, tied, tr.count_bits(t.available))


def distance_rank(recalls, study_items, distances, list_length: int) -> jax.Array:
    """Distance rank of transitions: the semantic clustering factor with ``1 - similarity``.

    psifr's ``distance_rank``. For each transition ``prev -> cur`` between
    consecutive valid recalls, rank the distance ``D[prev, cur]`` among the
    distances ``D[prev, j]`` of the ``m`` items ``j`` still available
    (``cur`` included); ties share their average rank, the smallest distance
    has rank 1. The transition scores ``1 - (r - 1) / (m - 1)`` (1 = the
    closest available item, 0 = the farthest); transitions with ``m = 1``
    are not scored. Returns the mean score over the transitions of the lists
    given: 0.5 = no organization by distance (NaN with nothing scored).

    Pass *distances* (small = close): for the LSA similarities of Polyn et
    al. (2009), ``1 - data.similarity``. The row is the previous item, so an
    asymmetric matrix is read ``D[prev, candidate]``. Distances compare in
    the precision JAX computes in (float32 unless ``jax_enable_x64``).
    Converting a large NumPy matrix takes longer than the analysis itself:
    to call this often, convert once (``D = jnp.asarray(1 - data.similarity)``).

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix.
        study_items: int ``(n_lists, L)``: the 0-based row of ``distances``
            of the item studied at each serial position.
        distances: ``(P, P)`` finite distances between the pool's items.
        list_length: ``L``.

    Returns:
        A scalar in the float type.
    """
    recalls = tr.checked(recalls, list_length)
    if _concrete(study_items):
        study_items = check_per_item(study_items, recalls, list_length, "study_items", "pool index")
        if _concrete(distances):
            distances = check_distances(distances, study_items)
    dtype = tr.float_type()
    return _distance_rank(recalls, jnp.asarray(study_items), jnp.asarray(distances, dtype), list_length)


# ----------------------------------------------------------------------------- lag-CRP by task train


class TrainLagCRP(NamedTuple):
    """The lag-CRP split by task train (see :func:`lag_crp_by_train`); each ``(2L - 1,)``."""

    within: jax.Array
    across: jax.Array


def task_trains(sources: jax.Array) -> jax.Array:
    """``(n, L)`` int: the train of each serial position (0, 1, ...: a new train at every change of source)."""
    change = (sources[:, 1:] != sources[:, :-1]).astype(jnp.int32)
    return jnp.concatenate([jnp.zeros_like(change[:, :1]), jnp.cumsum(change, axis=1)], axis=1)


@partial(jax.jit, static_argnames="list_length")
def _train_lag_counts(recalls, sources, list_length):
    L = list_length
    dtype = tr.float_type()
    t = tr.transitions(tr.outputs(recalls, L), L)
    trains = task_trains(sources)
    previous = _item_values(trains, t.prev)
    within = _item_values(trains, t.cur) == previous
    # actual: bins 0..2L-2 within, 2L-1..4L-3 across, the last one for transitions not counted
    lag = t.cur - t.prev + L - 1
    bin_ = jnp.where(t.counted, jnp.where(within, lag, lag + 2 * L - 1), 4 * L - 2)
    actual = jnp.zeros(4 * L - 1, dtype).at[bin_.reshape(-1)].add(1)[:-1]
    # possible: each available item counts where its own train relation to prev puts it
    same = trains[:, None, :] == previous[..., None]  # (n, W - 1, L)
    available = tr.unpack_bits(t.available, L) & t.counted[..., None]
    within_from_to = tr.sum_by(available & same, t.prev - 1, L)
    across_from_to = tr.sum_by(available, t.prev - 1, L) - within_from_to  # exact: integer counts
    possible_within, possible_across = tr.fold_lags(within_from_to, L), tr.fold_lags(across_from_to, L)
    return actual[: 2 * L - 1], possible_within, actual[2 * L - 1:], possible_across


def lag_crp_by_train(recalls, sources, list_length: int) -> TrainLagCRP:
    """The lag-CRP of transitions within a task train and across a task shift.

    A *train* is a run of consecutive serial positions studied with the same
    source (task); a task-shift list of Polyn et al. (2009) has several.
    Every transition and every possible transition of :func:`cmrlab.lag_crp`
    is counted in exactly one of the two curves, by whether the two items lie
    in the same train: for a transition ``prev -> cur`` between consecutive
    valid recalls, ``actual_within`` (or ``actual_across``) gains 1 at lag
    ``cur - prev``, and each item ``j`` still available adds 1 to
    ``possible_within[j - prev]`` if ``j`` is in ``prev``'s train, else to
    ``possible_across[j - prev]``. So ``actual_within + actual_across`` and
    ``possible_within + possible_across`` are the counts of the ordinary
    lag-CRP, and each curve is ``P(recall the item at lag k | it is available
    and in the same train)`` (or in another train)::

        within = actual_within / possible_within,  across = actual_across / possible_across

    pooled over lists, NaN where nothing was possible (always at lag 0; on
    one-task lists every lag of ``across``). This differs from psifr's
    ``lag_crp(..., test=...)``, which counts possible transitions only on
    transitions that themselves pass the test; the two agree on ``actual``.

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix.
        sources: int ``(n_lists, L)``: the source (task) of each studied position.
        list_length: ``L``.

    Returns:
        :class:`TrainLagCRP` ``(within, across)``, each ``(2L - 1,)`` for lags
        ``-(L-1)..L-1`` (index ``L`` is lag +1).
    """
    recalls = tr.checked(recalls, list_length)
    if _concrete(sources):
        sources = check_per_item(sources, recalls, list_length, "sources", "source code")
    actual_within, possible_within, actual_across, possible_across = _train_lag_counts(
        recalls, jnp.asarray(sources), list_length)
    return TrainLagCRP(tr.ratio(actual_within, possible_within), tr.ratio(actual_across, possible_across))
