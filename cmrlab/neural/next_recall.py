"""A trained next-recall network with the calls of CMR: likelihood, simulation, attention.

:class:`NextRecallModel` holds a :class:`~cmrlab.neural.network.NextRecallNetwork`
and a record of how it was trained. Its calls follow ``cmrlab``'s conventions,
so that numbers compare directly with CMR's:

* ``model.log_likelihood(recalls, L)`` is ``cmrlab.log_likelihood``'s sum
  ``sum_trials [sum_t log P(recall_t) + log P(stop)]`` over the cleaned rows.
* ``model.outcome_probabilities(recalled, L)`` is ``(L + 1,)``: index 0 = stop,
  ``i`` = item ``i`` (0 once recalled), as ``CMR.outcome_probabilities``.
* ``model.simulate(key, L, n_trials)`` is a recall matrix like ``cmrlab.simulate``'s.

A network built with study conditions (``NetworkConfig.conditions``, e.g. the
encoding tasks of Healey & Kahana 2014) takes ``condition=`` in each call:
one name, or one per list; by default its first condition.

Every computation is a module-level function compiled once per shape
(``eqx.filter_jit``), so calling them thousands of times does not grow memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.neural.encoding import EncodedLists, check_list_length, condition_indices, encode_recalls, scored
from cmrlab.neural.network import NetworkConfig, NextRecallNetwork

CHUNK = 512
"""Lists per compiled likelihood call; larger sets are evaluated chunk by chunk."""


class TrainingRecord(NamedTuple):
    """How a network was trained (saved in the model file's header).

    Attributes:
        n_subjects, n_lists: training data (validation lists included).
        n_validation_lists: lists held out for early stopping.
        epochs: epochs run; ``best_epoch`` the one whose network was kept.
        validation_loss: its validation loss, nats per recall event.
        seconds: wall time of training (compilation included).
        key: the PRNG key data it was trained with (``jax.random.key_data``), as a tuple.
        settings: the training settings as ``((name, value), ...)``.
    """

    n_subjects: int
    n_lists: int
    n_validation_lists: int
    epochs: int
    best_epoch: int
    validation_loss: float
    seconds: float
    key: tuple[int, ...] = ()
    settings: tuple = ()


class NextRecallModel(eqx.Module):
    """A next-recall network and how it was trained (``training`` is ``None`` if untrained).

    Make one with :func:`cmrlab.neural.train_next_recall`, or
    :func:`cmrlab.neural.load_next_recall`; ``NextRecallModel.untrained(config, key=...)``
    gives a freshly initialised one (useful to see what training changes).
    """

    network: NextRecallNetwork
    training: TrainingRecord | None = eqx.field(static=True, default=None)

    @classmethod
    def untrained(cls, config: NetworkConfig = NetworkConfig(), *, key) -> "NextRecallModel":
        return cls(NextRecallNetwork(config, key=key), None)

    @property
    def config(self) -> NetworkConfig:
        return self.network.config

    @property
    def max_list_length(self) -> int:
        return self.network.config.max_list_length

    def __repr__(self) -> str:
        c = self.config
        state = ("untrained" if self.training is None else
                 f"trained on {self.training.n_lists} lists of {self.training.n_subjects} subjects")
        return (f"NextRecallModel(max_list_length={c.max_list_length}, width={c.width}, depth={c.depth}, "
                f"heads={c.heads}, {n_parameters(self):,} parameters, {state})")

    # ----------------------------------------------------------------- likelihood

    def encode(self, recalls, list_length: int, condition=None) -> EncodedLists:
        """A recall matrix as this network reads it (validated; see :func:`~cmrlab.neural.encode_recalls`)."""
        lists = encode_recalls(recalls, list_length, self.max_list_length)
        n = int(lists.outcomes.shape[0])
        return lists._replace(condition=condition_indices(condition, self.config.conditions, n))

    def trial_log_likelihoods(self, recalls, list_length: int, condition=None) -> np.ndarray:
        """``(n_trials,)`` float64 per-list log-likelihoods (conventions of :meth:`log_likelihood`)."""
        return trial_log_likelihoods(self.network, self.encode(recalls, list_length, condition))

    def decision_log_probabilities(self, recalls, list_length: int, condition=None) -> np.ndarray:
        """``(n_trials, L + 1)`` float64 ``log P`` of each decision (0 after the list's stop); rows sum
        to :meth:`trial_log_likelihoods`."""
        lists = self.encode(recalls, list_length, condition)
        return _chunked(_chunk_decision_log_probabilities, self.network, lists)[:, : int(list_length) + 1]

    def log_likelihood(self, recalls, list_length: int, condition=None) -> float:
        """Total log-likelihood of a recall matrix, with ``cmrlab.log_likelihood``'s conventions.

        .. math::

            \\log \\mathcal{L} = \\sum_{\\text{trials}} \\Big[\\sum_t \\log P(\\text{recall}_t)
            + \\log P(\\text{stop})\\Big]

        Intrusions (``-1``) and repeats are removed from each row first; the stop
        after all ``L`` items were recalled has probability 1.

        Args:
            recalls: int ``(n_trials, max_recalls)``: ``1..L``, ``0`` padding, ``-1`` intrusions.
            list_length: ``L`` (at most the network's ``max_list_length``).
            condition: the lists' study condition(s), for a network built with conditions.

        Returns:
            A Python float (summed in float64 over per-list float32 values).
        """
        return float(np.sum(self.trial_log_likelihoods(recalls, list_length, condition)))

    def outcome_probabilities(self, recalled, list_length: int, condition=None) -> np.ndarray:
        """``(L + 1,)`` probabilities of the next outcome after the recalls ``recalled`` (in order).

        Index 0 = stop, ``i`` = item ``i``; items already recalled get 0; after all
        ``L`` items, stop gets 1.
        """
        L = check_list_length(list_length, self.max_list_length)
        recalled = np.asarray(recalled, np.int64).reshape(-1)
        if recalled.size and ((recalled < 1) | (recalled > L)).any():
            raise ValueError(f"recalled must hold items 1..{L}, got {recalled.tolist()}.")
        if len(set(recalled.tolist())) != recalled.size:
            raise ValueError(f"recalled holds a repeat: {recalled.tolist()}; each item can be recalled once.")
        outcomes = np.zeros(self.max_list_length + 1, np.int32)
        outcomes[: recalled.size] = recalled
        index = condition_indices(condition, self.config.conditions, 1)[0]
        log_p = _decision_log_probabilities(self.network, jnp.asarray(outcomes), jnp.int32(L), jnp.int32(index))
        return np.exp(np.asarray(log_p[recalled.size, : L + 1], np.float64))

    # ----------------------------------------------------------------- simulation

    def simulate(self, key, list_length: int, n_trials: int, condition=None) -> jax.Array:
        """Sample ``n_trials`` recall sequences of lists of ``list_length`` items.

        Outcome ``t`` is drawn from the network's distribution given the recalls
        so far (``jax.random.categorical`` on the masked log-probabilities),
        until stop is drawn or nothing is left.

        Returns:
            int32 ``(n_trials, list_length)``: recalled serial positions in output
            order, 0-padded, like :func:`cmrlab.simulate`. Compiled once per
            ``(list_length, n_trials)``; the same key gives the same array.
        """
        L = check_list_length(list_length, self.max_list_length)
        if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
            raise ValueError(f"n_trials must be a positive int, got {n_trials!r}.")
        if condition is not None and not isinstance(condition, str):
            raise ValueError(f"simulate takes one condition name, got {condition!r}.")
        index = condition_indices(condition, self.config.conditions, 1)[0]
        return _simulate(self.network, key, L, int(n_trials), jnp.int32(index))

    # ----------------------------------------------------------------- attention

    def attention(self, recalls, list_length: int, condition=None) -> np.ndarray:
        """Attention weights ``(n_trials, depth, heads, S, S)`` on each list (``S = 2 M + 1``).

        Token layout (:mod:`cmrlab.neural.network`): positions ``0..M-1`` study
        items ``1..M``, ``M`` the recall start, ``M + 1 + t`` the ``t``-th valid
        recall. Row ``M + t`` is what the network looks at when it makes decision ``t``.
        """
        return np.asarray(_attention(self.network, self.encode(recalls, list_length, condition)))

    # ----------------------------------------------------------------- files

    def save(self, path) -> Path:
        """Write the model to one file (see :func:`cmrlab.neural.save_next_recall`)."""
        from cmrlab.neural.serialization import save_next_recall

        return save_next_recall(self, path)


def n_parameters(model: NextRecallModel | NextRecallNetwork) -> int:
    """Number of trainable numbers in a model."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(leaf.size for leaf in leaves))


# --------------------------------------------------------------------- compiled functions


def decision_log_probabilities(network: NextRecallNetwork, lists: EncodedLists, *, key=None,
                               inference: bool = True) -> jax.Array:
    """``(n, M + 1)`` ``log P`` of each list's outcome at each decision, 0 where no decision was made.

    Pure and traceable (training differentiates it); ``key`` drives dropout when
    ``inference`` is False.
    """
    n = lists.outcomes.shape[0]
    keys = jax.random.split(key, n) if key is not None else None

    def one(outcomes, list_length, condition, one_key):
        log_p = network(outcomes, list_length, condition, key=one_key, inference=inference)  # (M+1, M+1)
        chosen = jnp.take_along_axis(log_p, outcomes[:, None], axis=1)[:, 0]
        return jnp.where(scored(outcomes), chosen, 0.0)

    if keys is None:
        return jax.vmap(lambda o, length, c: one(o, length, c, None))(*lists)
    return jax.vmap(one)(*lists, keys)


def list_log_likelihoods(network: NextRecallNetwork, lists: EncodedLists, *, key=None,
                         inference: bool = True) -> jax.Array:
    """``(n,)`` log-likelihood of each encoded list: its decisions' log-probabilities summed."""
    return jnp.sum(decision_log_probabilities(network, lists, key=key, inference=inference), axis=1)


@eqx.filter_jit
def _chunk_log_likelihoods(network: NextRecallNetwork, lists: EncodedLists) -> jax.Array:
    return list_log_likelihoods(network, lists)


@eqx.filter_jit
def _chunk_decision_log_probabilities(network: NextRecallNetwork, lists: EncodedLists) -> jax.Array:
    return decision_log_probabilities(network, lists)


def _chunked(function, network: NextRecallNetwork, lists: EncodedLists) -> np.ndarray:
    """Apply a compiled ``function(network, chunk)`` :data:`CHUNK` lists at a time (one compiled shape)."""
    lists = EncodedLists(*(np.asarray(column) for column in lists))  # gathered on the host below
    n = int(lists.outcomes.shape[0])
    if n == 0:  # no lists: run one empty list to learn the output's shape
        lists = EncodedLists(np.zeros((1,) + lists.outcomes.shape[1:], np.int32), np.ones(1, np.int32),
                             np.zeros(1, np.int32))
    parts = []
    for first in range(0, max(n, 1), CHUNK):
        index = np.arange(first, first + CHUNK)
        real = index < n
        index = np.where(real, index, 0)  # pad the last chunk with copies of list 0
        chunk = jax.tree_util.tree_map(lambda a: a[index], lists)
        parts.append(np.asarray(function(network, chunk), np.float64)[real])
    return np.concatenate(parts)


def trial_log_likelihoods(network: NextRecallNetwork, lists: EncodedLists) -> np.ndarray:
    """``(n,)`` float64 log-likelihoods, evaluated :data:`CHUNK` lists per compiled call."""
    return _chunked(_chunk_log_likelihoods, network, lists)


@eqx.filter_jit
def _decision_log_probabilities(network: NextRecallNetwork, outcomes, list_length, condition):
    return network(outcomes, list_length, condition)


@eqx.filter_jit
def _attention(network: NextRecallNetwork, lists: EncodedLists):
    return jax.vmap(network.attention_weights)(*lists)


@eqx.filter_jit
def _simulate(network: NextRecallNetwork, key, list_length: int, n_trials: int, condition) -> jax.Array:
    M = network.config.max_list_length
    lengths = jnp.full(n_trials, list_length, jnp.int32)
    conditions = jnp.full(n_trials, condition, jnp.int32)

    def step(carry, t):
        outcomes, stopped = carry
        log_p = jax.vmap(network)(outcomes, lengths, conditions)  # (n, M+1, M+1); row t sees outcomes[:t] only
        row = jax.lax.dynamic_index_in_dim(log_p, t, axis=1, keepdims=False)
        choice = jax.random.categorical(jax.random.fold_in(key, t), row, axis=-1).astype(jnp.int32)
        choice = jnp.where(stopped, 0, choice)
        outcomes = jax.lax.dynamic_update_index_in_dim(outcomes, choice, t, axis=1)
        return (outcomes, stopped | (choice == 0)), None

    init = (jnp.zeros((n_trials, M + 1), jnp.int32), jnp.zeros(n_trials, bool))
    (outcomes, _), _ = jax.lax.scan(step, init, jnp.arange(list_length + 1))
    return outcomes[:, :list_length]
