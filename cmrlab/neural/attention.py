"""Where the network looks after a recall, next to the context CMR retrieves.

After recalling item ``j``, CMR's context drifts toward the context that
``j`` retrieves, ``norm(M^FC[j])``; how much that overlaps the context each
item ``i`` was studied in decides how strongly ``i`` is cued next (contiguity
and its forward asymmetry). The network's counterpart is the attention its
query at the token of the recall of ``j`` pays to the study token of ``i``.
Both become ``(L, L)`` matrices indexed ``[j - 1, i - 1]``, and
:func:`by_lag` averages either along its diagonals (``lag = i - j``).
"""

from __future__ import annotations

from functools import partial
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.model import initial_state, normalize, study
from cmrlab.neural.encoding import check_list_length, encode_recalls
from cmrlab.parameters import as_parameters, pack, unpack


def attention_to_study(model, recalls, list_length: int, condition=None) -> np.ndarray:
    """``(depth, heads, L, L)`` mean attention from the token of a recall of item ``j`` to study item ``i``.

    Entry ``[layer, head, j - 1, i - 1]`` averages, over every valid recall of
    ``j`` in ``recalls``, the weight the query at that recall's token (the
    query of the next decision) puts on the study token of item ``i``. A row
    sums to less than 1 where attention also goes to the recall-start token or
    to earlier recalls; a row of an item never recalled is NaN.

    Args:
        model: a :class:`~cmrlab.neural.NextRecallModel`.
        recalls: int ``(n_lists, max_recalls)`` recall matrix (cleaned as the likelihood does).
        list_length: ``L``.
        condition: the lists' study condition(s), for a network built with conditions.
    """
    L = check_list_length(list_length, model.max_list_length)
    M = model.max_list_length
    maps = model.attention(recalls, L, condition)  # (n, depth, heads, S, S)
    outcomes = np.asarray(encode_recalls(recalls, L, M).outcomes)[:, :M]  # (n, M): recall t, 0 after the stop
    rows = maps[:, :, :, M + 1: 2 * M + 1, :L]  # (n, depth, heads, M, L): query at recall t -> study tokens
    one_hot = (outcomes[:, :, None] == np.arange(1, L + 1)[None, None, :]).astype(np.float64)  # (n, M, L)
    total = np.einsum("ntj,ndhti->dhji", one_hot, rows.astype(np.float64))
    count = one_hot.sum(axis=(0, 1))  # (L,) recalls of each item
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count[None, None, :, None]


def cmr_context_similarity(parameters: Mapping[str, float], list_length: int) -> np.ndarray:
    """``(L, L)``: ``[j - 1, i - 1] = norm(M^FC[j]) . c_i``, CMR's retrieved context of ``j`` against item ``i``'s study context.

    ``c_i`` is the context right after studying item ``i`` (the one ``M^CF``
    learned it with) and ``M^FC`` the item-to-context matrix at the end of
    study (``docs/model.md``).
    """
    if isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    return np.asarray(_similarity(pack(as_parameters(parameters)), int(list_length)), np.float64)


@partial(jax.jit, static_argnames=("list_length",))
def _similarity(packed, list_length: int):
    params = unpack(packed)

    def step(state, item):
        state = study(state, params, item)
        return state, state.context

    state, contexts = jax.lax.scan(step, initial_state(list_length, params), jnp.arange(1, list_length + 1))
    return normalize(state.mfc) @ contexts.T


def by_lag(matrix: np.ndarray) -> np.ndarray:
    """``(2L - 1,)`` the mean of ``matrix[j, j + lag]`` over ``j``, lags ``-(L-1) .. L-1`` (NaNs skipped)."""
    matrix = np.asarray(matrix, np.float64)
    L = matrix.shape[-1]
    if matrix.shape[-2:] != (L, L):
        raise ValueError(f"matrix must be square in its last two axes, got shape {matrix.shape}.")
    out = np.full(matrix.shape[:-2] + (2 * L - 1,), np.nan)
    for lag in range(-(L - 1), L):
        diagonal = np.diagonal(matrix, offset=lag, axis1=-2, axis2=-1)
        finite = np.isfinite(diagonal)
        count = finite.sum(axis=-1)
        total = np.where(finite, diagonal, 0.0).sum(axis=-1)
        out[..., lag + L - 1] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out
