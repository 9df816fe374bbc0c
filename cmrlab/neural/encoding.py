"""Recall matrices as the network reads them: one row of outcomes per list.

The likelihood conventions are ``cmrlab.log_likelihood``'s (``docs/model.md``,
"Likelihood"): intrusions (``-1``) and repeats are removed from each row
(:func:`cmrlab.clean_recalls`), the remaining recalls keep their order, and
every list ends with a scored stop. A list with ``n`` valid recalls is ``n + 1``
*recall events* (its recalls and its stop; the stop after all ``L`` items
has probability 1 and scores ``log 1 = 0``):

.. code-block:: text

    recalls  [3, -1, 4, 3, 5, 0]   (L = 6)
    outcomes [3, 4, 5, 0, 0, 0, 0]  (M + 1 = 7 columns, M = 6)
    scored   [T, T, T, T, F, F, F]  decision t is scored while t <= n (= 3)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.recalls import clean_recalls


class EncodedLists(NamedTuple):
    """Lists encoded for the network (a PyTree of arrays; index it to batch).

    Attributes:
        outcomes: int32 ``(n, M + 1)``: the valid recalls in order, then 0 (the stop) and 0 padding.
        list_length: int32 ``(n,)`` items studied in each list (``L <= M``).
        condition: int32 ``(n,)`` index of each list's study condition (0 if the network has none).
    """

    outcomes: jax.Array
    list_length: jax.Array
    condition: jax.Array

    @property
    def n_recalls(self) -> jax.Array:
        """``(n,)`` valid recalls per list."""
        return jnp.sum(self.outcomes > 0, axis=-1)

    @property
    def n_events(self) -> jax.Array:
        """``(n,)`` recall events per list: its recalls and its stop."""
        return self.n_recalls + 1


def check_list_length(list_length, max_list_length: int) -> int:
    """Return ``list_length`` as an int, or say why the network cannot read such lists."""
    if isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    if list_length > max_list_length:
        raise ValueError(
            f"list_length={list_length} is longer than this network was built for "
            f"(max_list_length={max_list_length}); train a network with "
            f"NetworkConfig(max_list_length={list_length}) or more to read such lists."
        )
    return int(list_length)


def condition_indices(condition, conditions: tuple[str, ...], n_lists: int) -> np.ndarray:
    """``(n_lists,)`` int32 indices of study conditions into the network's ``conditions``.

    Args:
        condition: ``None`` (the network's first condition, or its only one),
            one name for every list, or a sequence of ``n_lists`` names.
        conditions: the names the network was built with (``()``: none).

    Raises:
        ValueError: a name the network does not know, a condition given to a
            network without conditions, or a sequence of the wrong length.
    """
    if condition is None:
        return np.zeros(n_lists, np.int32)
    if not conditions:
        raise ValueError("this network was trained without study conditions; call it without `condition`.")
    names = np.full(n_lists, condition) if isinstance(condition, str) else np.asarray(condition)
    if names.shape != (n_lists,):
        raise ValueError(f"condition must be one name or one per list ({n_lists}), got shape {names.shape}.")
    unknown = sorted(set(names.tolist()) - set(conditions))
    if unknown:
        raise ValueError(f"unknown study condition(s) {unknown}; this network knows {list(conditions)}.")
    lookup = {name: index for index, name in enumerate(conditions)}
    return np.array([lookup[name] for name in names.tolist()], np.int32)


def encode_recalls(recalls, list_length: int, max_list_length: int, condition=0) -> EncodedLists:
    """Encode a recall matrix for a network built for lists of up to ``max_list_length`` items.

    Args:
        recalls: int ``(n_lists, max_recalls)``: serial positions ``1..L`` in
            output order, ``0`` padding, ``-1`` intrusions (validated by
            :func:`cmrlab.check_recalls`: any other code is an error).
        list_length: ``L``, at most ``max_list_length``.
        max_list_length: ``M`` of the network.
        condition: study-condition index of every list, or ``(n_lists,)`` indices
            (see :func:`condition_indices`).

    Returns:
        :class:`EncodedLists` with ``outcomes`` ``(n_lists, M + 1)``.
    """
    L = check_list_length(list_length, max_list_length)
    clean = clean_recalls(recalls, L)  # raises a clear error for codes outside -1..L
    outcomes = np.zeros((clean.shape[0], max_list_length + 1), np.int32)
    outcomes[:, : clean.shape[1]] = clean
    condition = np.broadcast_to(np.asarray(condition, np.int32), (clean.shape[0],)).copy()
    # NumPy arrays: batches and chunks are gathered on the host, so no JAX op is compiled per data size
    return EncodedLists(outcomes, np.full(clean.shape[0], L, np.int32), condition)


def scored(outcomes: jax.Array) -> jax.Array:
    """``(..., M + 1)`` bool: decision ``t`` is scored while ``t <= n_recalls``."""
    n = jnp.sum(outcomes > 0, axis=-1, keepdims=True)
    decision = jnp.arange(outcomes.shape[-1]).reshape((1,) * (outcomes.ndim - 1) + (-1,))
    return decision <= n
