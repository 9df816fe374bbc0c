"""Checking and preparing what each list of the full model needs: sources and semantics.

A list of the full model (``docs/source_model.md``) is studied in serial
order ``1..L`` like a base-model list, and may also have

- ``sources``: the source (encoding task) of each serial position, ints
  ``0..S-1``;
- ``study_items``: each serial position's word, as a 0-based index into a
  word pool, together with ``similarity``, the pool's ``(P, P)`` semantic
  similarity matrix (LSA cosines in Polyn et al., 2009).

:func:`prepare_lists` validates them against the recall matrix (or the
number of simulated trials) and returns a :class:`ListData`: the sources as
an ``(n_lists, L)`` int32 array and, per list, the similarity block the model
uses, ``Sim[i, j] = (sim[w_i, w_j] + sim[w_j, w_i]) / 2`` with a zero
diagonal.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

MAX_SOURCES = 1024
"""The largest number of sources accepted (codes ``0..1023``)."""


class ListData(NamedTuple):
    """The per-list data of the full model, validated.

    Attributes:
        sources: int32 ``(n_lists, L)`` source of each serial position, or
            ``None`` when no sources were given (every item has source 0).
        semantic: float32 ``(n_lists, L, L)`` each list's similarity block
            (symmetric, zero diagonal), or ``None`` without semantics.
        n_sources: ``S``, the number of source units (``max(sources) + 1``;
            1 without sources).
    """

    sources: np.ndarray | None
    semantic: np.ndarray | None
    n_sources: int

    @property
    def has_sources(self) -> bool:
        return self.sources is not None

    @property
    def has_semantics(self) -> bool:
        return self.semantic is not None

    def source_matrix(self, n_lists: int, list_length: int) -> np.ndarray:
        """``(n_lists, L)`` int32 sources, zeros when none were given."""
        if self.sources is None:
            return np.zeros((n_lists, list_length), np.int32)
        return self.sources


NO_LIST_DATA = ListData(None, None, 1)


def prepare_lists(n_lists: int, list_length: int, study_items=None, sources=None, similarity=None,
                  rows_name: str = "recalls") -> ListData:
    """Validate ``study_items``, ``sources`` and ``similarity``; return a :class:`ListData`.

    Args:
        n_lists: the number of lists (rows of the recall matrix, or simulated trials).
        list_length: ``L``.
        study_items: int ``(n_lists, L)`` 0-based indices into the rows of
            ``similarity``, or ``(L,)`` for one list shared by all; ``None``
            for no semantics.
        sources: int ``(n_lists, L)`` (or ``(L,)``) codes ``0..S-1``; ``None``
            for no sources.
        similarity: ``(P, P)`` finite similarity matrix (given with
            ``study_items``).
        rows_name: how the caller calls its rows, for error messages.

    Raises:
        ValueError: with what was wrong and what to pass instead.
    """
    if (study_items is None) != (similarity is None):
        given, missing = ("study_items", "similarity") if similarity is None else ("similarity", "study_items")
        raise ValueError(
            f"{given} was given without {missing}: the semantic term needs both, "
            "study_items (n_lists, L) of 0-based word-pool indices and similarity, "
            "the pool's (P, P) similarity matrix. Pass both, or neither for no semantics."
        )
    semantic = None
    if similarity is not None:
        sim = _check_similarity(similarity)
        items = _check_list_matrix("study_items", study_items, n_lists, list_length, rows_name)
        _check_indices(items, sim.shape[0])
        if n_lists > 1 and items.strides[0] == 0:  # one list shared by all: one block
            semantic = np.broadcast_to(similarity_blocks(sim, items[:1]), (n_lists, list_length, list_length))
        else:
            semantic = similarity_blocks(sim, items)
    source_codes, n_sources = None, 1
    if sources is not None:
        source_codes = _check_list_matrix("sources", sources, n_lists, list_length, rows_name)
        if source_codes.min() < 0:
            row, col = np.argwhere(source_codes < 0)[0]
            raise ValueError(
                f"sources[{row}, {col}] = {source_codes[row, col]} is negative; sources are "
                "codes 0..S-1 (0 size, 1 animacy in Polyn et al., 2009)."
            )
        if source_codes.max() >= MAX_SOURCES:
            raise ValueError(
                f"sources go up to {source_codes.max()}; at most {MAX_SOURCES} sources (codes "
                f"0..{MAX_SOURCES - 1}) are supported. Relabel them with "
                "np.unique(sources, return_inverse=True)."
            )
        distinct = np.unique(source_codes)
        if len(distinct) < 2:
            raise ValueError(
                f"sources given without a second source: every item has source {distinct[0]}, "
                "so there is no task to shift to or to cluster by. Pass sources=None for "
                "lists without sources (the same model), or codes 0..S-1 with at least two sources."
            )
        n_sources = int(source_codes.max()) + 1
    return ListData(source_codes, semantic, n_sources)


def similarity_blocks(similarity: np.ndarray, study_items: np.ndarray) -> np.ndarray:
    """Each list's similarity block, float32 ``(n_lists, L, L)``.

    ``Sim[i, j] = (sim[w_i, w_j] + sim[w_j, w_i]) / 2`` for ``i != j`` and
    ``Sim[i, i] = 0``, where ``w`` are the list's ``study_items``. (Polyn et
    al.'s published matrix has 1 on its diagonal and two asymmetric columns;
    keeping the diagonal would give every item a large self-support.)
    """
    block = similarity[study_items[:, :, None], study_items[:, None, :]].astype(np.float64)
    block = (block + np.swapaxes(block, 1, 2)) / 2
    L = study_items.shape[1]
    block[:, np.arange(L), np.arange(L)] = 0.0
    return block.astype(np.float32)


def _check_similarity(similarity) -> np.ndarray:
    if isinstance(similarity, jax.core.Tracer):
        raise ValueError("similarity must be concrete data (a NumPy or JAX array), not a traced value.")
    sim = np.asarray(similarity)
    if sim.dtype == bool or not (np.issubdtype(sim.dtype, np.floating) or np.issubdtype(sim.dtype, np.integer)):
        raise ValueError(f"similarity must be a numeric (P, P) matrix, got dtype {sim.dtype}.")
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise ValueError(
            f"similarity must be a square (P, P) matrix over the word pool, got shape {sim.shape}; "
            "pass the pool's full similarity matrix (e.g. the 1297 x 1297 LSA matrix) and index "
            "words with study_items."
        )
    if not np.isfinite(sim).all():
        row, col = np.argwhere(~np.isfinite(sim))[0]
        raise ValueError(
            f"similarity[{row}, {col}] = {sim[row, col]}: the similarity matrix must be finite. "
            "Replace missing similarities (e.g. with 0, no association) before passing it."
        )
    return sim


def _check_list_matrix(name: str, value, n_lists: int, list_length: int, rows_name: str) -> np.ndarray:
    if isinstance(value, jax.core.Tracer):
        raise ValueError(f"{name} must be concrete data (a NumPy or JAX array), not a traced value.")
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"{name} must be an integer array, got dtype {array.dtype}; convert with "
            ".astype(int) if the values are whole numbers."
        )
    if array.shape == (list_length,):
        array = np.broadcast_to(array, (n_lists, list_length))
    if array.shape != (n_lists, list_length):
        raise ValueError(
            f"{name} has shape {array.shape}, but there are {n_lists} lists ({rows_name}) of "
            f"list_length {list_length}: pass one row per list, shape ({n_lists}, {list_length}), "
            f"or a single list, shape ({list_length},), shared by all of them."
        )
    if array.strides[0] == 0:  # a broadcast single list stays a view
        return np.broadcast_to(array[:1].astype(np.int32), array.shape)
    return np.ascontiguousarray(array, dtype=np.int32)


def _check_indices(items: np.ndarray, pool_size: int) -> None:
    bad = (items < 0) | (items >= pool_size)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"study_items[{row}, {col}] = {items[row, col]} is outside the similarity matrix "
            f"({pool_size} x {pool_size}): study_items are 0-based pool indices 0..{pool_size - 1} "
            "(subtract 1 from 1-based MATLAB item numbers such as pres_itemnos)."
        )
