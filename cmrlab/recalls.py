"""Checking and cleaning recall matrices (``docs/model.md``, "Recall data").

A recall matrix is an integer array ``(n_trials, max_recalls)``: ``1..L`` =
serial position recalled, ``0`` = padding (always trailing), ``-1`` =
intrusion. A serial position appearing a second time in a row is a repeat.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np


def check_recalls(recalls, list_length: int) -> np.ndarray:
    """Validate a recall matrix and return it as a NumPy int32 array.

    Raises:
        ValueError: the list length is not a positive int, or the matrix is
            not a 2-D integer array with values in ``{-1, 0, 1..L}`` and only
            trailing zero padding. The message says which row is wrong.
    """
    if isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    if isinstance(recalls, jax.core.Tracer):
        raise ValueError(
            "recalls must be concrete data (a NumPy or JAX array), not a traced "
            "value; clean the data outside jit and pass the array in."
        )
    array = np.asarray(recalls)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"recalls must be an integer array (serial positions 1..L, 0 padding, "
            f"-1 intrusions), got dtype {array.dtype}; convert with .astype(int) "
            "if the values are whole numbers."
        )
    if array.ndim != 2:
        raise ValueError(
            f"recalls must be 2-D (n_trials, max_recalls), got shape {array.shape}; "
            "for a single list use recalls[None, :]."
        )
    bad = (array < -1) | (array > list_length)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"recalls[{row}, {col}] = {array[row, col]} is outside -1..{list_length} "
            f"(1..L = serial positions, 0 = padding, -1 = intrusion) for "
            f"list_length={list_length}; map other codes to -1."
        )
    padding = array == 0
    after_padding = np.logical_or.accumulate(padding, axis=1) & ~padding
    if after_padding.any():
        row = int(np.argwhere(after_padding)[0][0])
        raise ValueError(
            f"row {row} of recalls has a recall after 0 padding: {array[row].tolist()}; "
            "0 means 'no further recall' and may only appear at the end of a row."
        )
    return array.astype(np.int32, copy=False)


def positive_int(name: str, value) -> int:
    """``value`` as a Python int if it is a positive integer (Python, NumPy or concrete JAX).

    Raises:
        ValueError: a bool, a float, a non-positive value or a traced value.
    """
    if isinstance(value, jax.core.Tracer):
        raise ValueError(
            f"{name} must be a concrete int (it sets array shapes), not a traced value; "
            "pass it as a static argument."
        )
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == () and np.issubdtype(value.dtype, np.integer):
        value = int(value)
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


class CleanedRecalls(NamedTuple):
    recalls: np.ndarray
    """int32 ``(n_trials, width)`` of valid recalls only, 0-padded."""
    n_intrusions: int
    n_repeats: int


def clean_recalls(recalls, list_length: int, return_counts: bool = False):
    """Remove intrusions and repeats from each row, keeping the order of the rest.

    This is what the likelihood sees (``docs/model.md``, "Likelihood").

    Args:
        recalls: a recall matrix (see :func:`check_recalls`).
        list_length: ``L``.
        return_counts: also return how many intrusions and repeats were removed.

    Returns:
        int32 ``(n_trials, min(max_recalls, L))``; with ``return_counts`` a
        :class:`CleanedRecalls`.
    """
    array = check_recalls(recalls, list_length)
    n_trials, width = array.shape
    valid = array > 0
    repeats = _repeats(array, valid, list_length)
    keep = valid & ~repeats
    out_width = min(width, list_length)
    out = np.zeros((n_trials, out_width), np.int32)
    position = np.cumsum(keep, axis=1) - 1
    r, c = np.nonzero(keep)
    out[r, position[r, c]] = array[r, c]
    if return_counts:
        return CleanedRecalls(out, int((array == -1).sum()), int(repeats.sum()))
    return out


def _repeats(array: np.ndarray, valid: np.ndarray, list_length: int) -> np.ndarray:
    """``(n_trials, width)`` bool: studied items already recalled earlier in the row."""
    if list_length < 63:
        # one bit per item; OR-accumulate along each row
        bit = np.left_shift(1, np.arange(list_length + 1, dtype=np.int64))
        bits = bit[np.where(valid, array, 0)]  # item 0 (not valid) gets bit 0
        seen = np.bitwise_or.accumulate(bits, axis=1)
        before = np.zeros_like(seen)
        before[:, 1:] = seen[:, :-1]
        return valid & ((before & bits) != 0)
    seen = np.zeros((array.shape[0], list_length + 1), bool)
    repeats = np.zeros_like(valid)
    rows = np.arange(array.shape[0])
    for t in range(array.shape[1]):
        item = np.where(valid[:, t], array[:, t], 0)
        repeats[:, t] = valid[:, t] & seen[rows, item]
        seen[rows, item] |= valid[:, t]
    return repeats
