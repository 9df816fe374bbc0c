"""Training a next-recall network: Adam (optax) on the per-event negative log-likelihood.

The pattern of the JAX overview this package grew from, at work on real recall:

* the network, the optimizer state and the data are PyTrees;
* one ``jit``-compiled step (:func:`train_step`) takes a batch of list indices,
  ``vmap``s the network over the batch, differentiates the loss with ``grad``
  and applies an Adam update;
* every random choice (initialisation, the validation split, the order of the
  lists in each epoch, dropout) comes from a key split off the one ``key``
  given, so the same key gives the same network (on the same machine).

The loss is the negative log-likelihood per recall event (nats), the
conventions of ``cmrlab.log_likelihood``:

.. code-block:: text

    loss = - sum_lists sum_{t <= n_recalls} log P(outcome_t | recalls before t)
           / sum_lists (n_recalls + 1)
"""

from __future__ import annotations

import time
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cmrlab.neural.encoding import EncodedLists, check_list_length, condition_indices, encode_recalls
from cmrlab.neural.network import NetworkConfig, NextRecallNetwork
from cmrlab.neural.next_recall import NextRecallModel, TrainingRecord, list_log_likelihoods, trial_log_likelihoods


class TrainSettings(NamedTuple):
    """How to train (all plain numbers: the compiled step is cached by their values).

    Attributes:
        batch_size: lists per step.
        learning_rate: peak learning rate of Adam (with decoupled weight decay, AdamW).
        weight_decay: AdamW's weight decay.
        warmup_steps: linear warm-up of the learning rate, then cosine decay
            to 0 at ``max_epochs``.
        max_epochs: upper bound on passes over the training lists.
        patience: stop after this many epochs without a better validation loss.
        validation_fraction: share held out for early stopping: whole subjects
            when there are at least ``10`` training subjects, else lists.
        gradient_clip: global norm the gradient is clipped to.
    """

    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 50
    max_epochs: int = 10
    patience: int = 3
    validation_fraction: float = 0.1
    gradient_clip: float = 1.0

    def check(self) -> "TrainSettings":
        for name in ("batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainSettings.{name} must be a positive int, got {value!r}.")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"TrainSettings.validation_fraction must be in (0, 1), got {self.validation_fraction!r}.")
        for name in ("learning_rate", "gradient_clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainSettings.{name} must be positive, got {getattr(self, name)!r}.")
        if self.weight_decay < 0 or self.warmup_steps < 0:
            raise ValueError("TrainSettings.weight_decay and warmup_steps must be >= 0.")
        return self


SUBJECT_SPLIT_MINIMUM = 10
"""Training subjects needed to hold out whole subjects for validation (else lists are held out)."""


def optimizer(settings: TrainSettings) -> optax.GradientTransformation:
    """Gradient clipping, then AdamW whose learning rate is set at every step (see :func:`learning_rates`)."""
    return _optimizer(float(settings.gradient_clip), float(settings.weight_decay))


def _optimizer(gradient_clip: float, weight_decay: float) -> optax.GradientTransformation:
    return optax.chain(
        optax.clip_by_global_norm(gradient_clip),
        optax.inject_hyperparams(optax.adamw)(learning_rate=0.0, weight_decay=weight_decay))


def learning_rates(settings: TrainSettings, total_steps: int) -> np.ndarray:
    """``(total_steps,)`` linear warm-up to ``learning_rate``, then cosine decay to 0 (optax's schedule)."""
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, settings.learning_rate, max(settings.warmup_steps, 1), max(total_steps, settings.warmup_steps + 1))
    return np.asarray(jax.vmap(schedule)(jnp.arange(total_steps)), np.float32)


def loss(network: NextRecallNetwork, lists: EncodedLists, weight, key=None, inference: bool = True):
    """Weighted negative log-likelihood per recall event (nats); ``weight`` ``(n,)`` is 0 for padding."""
    log_likelihoods = list_log_likelihoods(network, lists, key=key, inference=inference)
    return -jnp.sum(weight * log_likelihoods) / jnp.sum(weight * lists.n_events)


@eqx.filter_jit
def train_step(network, opt_state, batch: EncodedLists, weight, key, learning_rate,
               gradient_clip: float, weight_decay: float):
    """One AdamW step on one batch; returns ``(network, opt_state, loss)``.

    Compiled once per network shape, batch size, ``gradient_clip`` and
    ``weight_decay``: the learning rate is an argument (a traced scalar), so
    runs of any length reuse the compiled step.
    """
    value, grads = eqx.filter_value_and_grad(loss)(network, batch, weight, key, False)
    clip_state, adam_state = opt_state
    adam_state = adam_state._replace(hyperparams={**adam_state.hyperparams, "learning_rate": learning_rate})
    params = eqx.filter(network, eqx.is_inexact_array)
    updates, opt_state = _optimizer(gradient_clip, weight_decay).update(grads, (clip_state, adam_state), params)
    return eqx.apply_updates(network, updates), opt_state, value


def split_validation(subject: np.ndarray, fraction: float, key) -> np.ndarray:
    """``(n_lists,)`` bool: lists held out for validation.

    Whole subjects (a ``fraction`` of them, at least one) when there are at
    least :data:`SUBJECT_SPLIT_MINIMUM` subjects, so that early stopping judges
    generalisation to new people; otherwise a ``fraction`` of the lists.
    """
    subjects = np.unique(subject)
    if len(subjects) >= SUBJECT_SPLIT_MINIMUM:
        n = max(1, int(round(fraction * len(subjects))))
        chosen = np.asarray(jax.random.permutation(key, len(subjects)))[:n]
        return np.isin(subject, subjects[chosen])
    n = max(1, int(round(fraction * subject.shape[0])))
    chosen = np.asarray(jax.random.permutation(key, subject.shape[0]))[:n]
    mask = np.zeros(subject.shape[0], bool)
    mask[chosen] = True
    return mask


def train_next_recall(dataset, *, key, config: NetworkConfig | None = None,
                      settings: TrainSettings = TrainSettings(), conditions=None,
                      progress: bool = True) -> NextRecallModel:
    """Train a next-recall transformer on the lists of a dataset.

    Args:
        dataset: a :class:`cmrlab.datasets.RecallDataset` (or several lists of
            one list length with ``.recalls``, ``.subject``, ``.list_length``).
            Every list is used (intrusions and repeats are removed first, as
            the likelihood does).
        key: a JAX PRNG key: the same key gives the same network on the same machine.
        config: the network's shape (:class:`NetworkConfig`); by default one
            built for the dataset's list length.
        settings: :class:`TrainSettings`.
        conditions: names of study conditions (values of ``dataset.condition``)
            the network should tell apart, the first being the default of later
            calls, e.g. ``("no task", "task 0", "task 1", "task 2")`` for Healey
            & Kahana (2014); every list's condition must be one of them. ``None``:
            one condition for all lists (or those of ``config``).
        progress: show a progress bar with the training and validation loss.

    Returns:
        A :class:`NextRecallModel` holding the network of the epoch with the
        lowest validation loss (nats per recall event), and its
        :class:`TrainingRecord`.

    Example:
        >>> data = cmrlab.datasets.load_healey_kahana2014()
        >>> model = train_next_recall(data, key=jax.random.PRNGKey(0))
        >>> model.log_likelihood(held_out.recalls, 16)
    """
    start = time.perf_counter()
    settings = TrainSettings(*settings).check()
    for attribute in ("recalls", "subject", "list_length"):
        if not hasattr(dataset, attribute):
            raise TypeError(f"dataset must be a cmrlab RecallDataset (with .{attribute}), got {type(dataset).__name__}.")
    config = NetworkConfig(*(config or NetworkConfig(max_list_length=int(dataset.list_length))))
    if conditions is not None:
        config = config._replace(conditions=tuple(conditions))
    config = config.check()
    check_list_length(dataset.list_length, config.max_list_length)
    subject = np.asarray(dataset.subject)
    if subject.shape[0] < 2:
        raise ValueError(f"need at least 2 lists to train (one for validation), got {subject.shape[0]}.")
    condition = None
    if config.conditions:
        if not hasattr(dataset, "condition"):
            raise TypeError("conditions were given but the dataset has no .condition column.")
        condition = np.asarray(dataset.condition).astype(str)
    lists = encode_recalls(dataset.recalls, dataset.list_length, config.max_list_length,
                           condition_indices(condition, config.conditions, subject.shape[0]))

    init_key, split_key, order_key, dropout_key = jax.random.split(key, 4)
    held_out = split_validation(subject, settings.validation_fraction, split_key)
    train = jax.tree_util.tree_map(lambda column: np.asarray(column)[~held_out], lists)
    validation = jax.tree_util.tree_map(lambda column: column[np.flatnonzero(held_out)], lists)
    n_train = int(train.outcomes.shape[0])
    batch_size = settings.batch_size
    steps_per_epoch = -(-n_train // batch_size)
    rates = learning_rates(settings, steps_per_epoch * settings.max_epochs)

    network = NextRecallNetwork(config, key=init_key)
    opt_state = optimizer(settings).init(eqx.filter(network, eqx.is_inexact_array))
    validation_events = float(np.sum(validation.outcomes > 0) + validation.outcomes.shape[0])

    def validation_loss(network):
        return -float(np.sum(trial_log_likelihoods(network, validation))) / validation_events

    best = (validation_loss(network), 0, network)
    bar = _progress_bar(len(rates), progress)
    epoch = 0
    for epoch in range(1, settings.max_epochs + 1):
        # a new order of the lists each epoch; the last batch is padded with weight-0 lists
        order = np.asarray(jax.random.permutation(jax.random.fold_in(order_key, epoch), n_train))
        order = np.concatenate([order, np.zeros(steps_per_epoch * batch_size - n_train, order.dtype)])
        weight = (np.arange(order.size) < n_train).astype(np.float32)
        losses = []
        for step in range(steps_per_epoch):
            index = order[step * batch_size: (step + 1) * batch_size]
            batch = jax.tree_util.tree_map(lambda column: column[index], train)  # gathered on the host
            number = (epoch - 1) * steps_per_epoch + step
            network, opt_state, value = train_step(
                network, opt_state, batch, weight[step * batch_size: (step + 1) * batch_size],
                jax.random.fold_in(dropout_key, number), rates[number],
                float(settings.gradient_clip), float(settings.weight_decay))
            losses.append(value)
            bar.update(1)
        current = validation_loss(network)
        if current < best[0] - 1e-4:
            best = (current, epoch, network)
        bar.set_postfix(train=f"{float(np.mean(jax.device_get(losses))):.3f}", validation=f"{current:.3f}",
                        best_epoch=best[1])
        if epoch - best[1] >= settings.patience:
            break
    bar.close()
    record = TrainingRecord(
        n_subjects=int(np.unique(subject).size), n_lists=int(subject.shape[0]),
        n_validation_lists=int(held_out.sum()), epochs=epoch, best_epoch=best[1],
        validation_loss=float(best[0]), seconds=time.perf_counter() - start,
        key=tuple(int(k) for k in np.asarray(jax.random.key_data(key)).ravel()),
        settings=tuple(settings._asdict().items()))
    return NextRecallModel(best[2], record)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step", disable=not enabled)
