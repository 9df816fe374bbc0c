"""Comparing models of free recall on held-out people, decision by decision.

Every model here scores a list the same way (``cmrlab.log_likelihood``'s
conventions), so scores compare directly. A list with ``n`` valid recalls is
``n + 1`` *recall events*: its recalls and its final stop. The score reported
is the log-likelihood per recall event, in nats:

.. code-block:: text

    score = sum_lists log P(list) / sum_lists (n_recalls + 1)

:func:`decision_log_probabilities` of each model (``(n_lists, L + 1)``: the
log-probability of decision ``t``, 0 where no decision was made) splits the
score by kind of decision (first recall, later recalls, stop) to show where
two models differ.

The saved results of ``benchmarks/neural_heldout.py`` (the comparison table,
the learning curve) and the network trained there ship with the package:
:func:`load_results`, :func:`load_pretrained`.
"""

from __future__ import annotations

import json
from functools import partial
from importlib import resources
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab import recall_phase
from cmrlab.neural.baselines import decisions
from cmrlab.parameters import as_parameters, pack, unpack
from cmrlab.recalls import clean_recalls
from cmrlab.simulation import studied_state

PRETRAINED = "hk2014_next_recall.eqx"
RESULTS = "hk2014_heldout.json"


def split_subjects(subjects, n_train: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split subject ids into ``n_train`` training subjects and the rest (held out).

    The split is a NumPy permutation of the sorted ids from ``seed``: the same
    seed gives the same split on any machine.
    """
    subjects = np.unique(np.asarray(subjects))
    if not 0 < n_train < subjects.size:
        raise ValueError(f"n_train must be between 1 and {subjects.size - 1} (there are {subjects.size} subjects), "
                         f"got {n_train!r}.")
    order = np.random.default_rng(seed).permutation(subjects.size)
    return np.sort(subjects[order[:n_train]]), np.sort(subjects[order[n_train:]])


def n_events(recalls, list_length: int) -> int:
    """Recall events of a recall matrix: valid recalls (after cleaning) plus one stop per list."""
    clean = clean_recalls(recalls, list_length)
    return int((clean > 0).sum() + clean.shape[0])


def per_event(log_likelihood: float, recalls, list_length: int) -> float:
    """Log-likelihood per recall event (nats) of a recall matrix scored ``log_likelihood``."""
    return float(log_likelihood) / n_events(recalls, list_length)


def cmr_decision_log_probabilities(parameters: Mapping[str, float], recalls, list_length: int) -> np.ndarray:
    """``(n_lists, L + 1)`` CMR's ``log P`` of each decision (0 after the list's stop).

    Row sums are ``cmrlab.log_likelihood``'s per-list values (the same
    recall-phase arithmetic, :mod:`cmrlab.recall_phase`, kept step by step).
    """
    clean = clean_recalls(recalls, list_length)
    outcomes = np.zeros((clean.shape[0], list_length + 1), np.int32)
    outcomes[:, : clean.shape[1]] = clean
    return np.asarray(_cmr_decisions(pack(as_parameters(parameters)), jnp.asarray(outcomes), int(list_length)),
                      np.float64)


@partial(jax.jit, static_argnames=("list_length",))
def _cmr_decisions(packed, outcomes, list_length: int):
    params = unpack(packed)
    state = studied_state(params, list_length)
    tables = recall_phase.recall_tables(state)

    def step(carry, choice):
        rs, active = carry
        log_p = recall_phase.outcome_log_probability(rs, params, choice)
        return (recall_phase.apply(rs, tables, params, choice), active & (choice > 0)), jnp.where(active, log_p, 0.0)

    init = (recall_phase.start(state, (outcomes.shape[0],)), jnp.ones(outcomes.shape[0], bool))
    _, log_p = jax.lax.scan(step, init, outcomes.T)
    return log_p.T


def breakdown(decision_log_p: np.ndarray, recalls, list_length: int) -> dict[str, dict[str, float]]:
    """Split a model's score by kind of decision.

    Args:
        decision_log_p: ``(n_lists, L + 1)`` the model's ``log P`` of each decision.
        recalls, list_length: the lists it scored.

    Returns:
        ``{"first recall" | "later recalls" | "stop": {"events": count,
        "nats": mean log P of those decisions}}`` plus ``"all"`` (the score
        per recall event).
    """
    d = decisions(recalls, list_length)
    decision_log_p = np.asarray(decision_log_p, np.float64)
    if decision_log_p.shape != d.outcomes.shape:
        raise ValueError(f"decision_log_p must have shape {d.outcomes.shape}, got {decision_log_p.shape}.")
    first = np.zeros_like(d.scored)
    first[:, 0] = True
    kinds = {
        "first recall": d.scored & first & (d.outcomes > 0),
        "later recalls": d.scored & ~first & (d.outcomes > 0),
        "stop": d.scored & (d.outcomes == 0),
        "all": d.scored,
    }
    return {name: {"events": int(mask.sum()), "nats": float(decision_log_p[mask].mean()) if mask.any() else np.nan}
            for name, mask in kinds.items()}


def _data_file(name: str):
    return resources.files("cmrlab.neural").joinpath("data", name)


def load_results() -> dict:
    """The saved results of ``benchmarks/neural_heldout.py`` (comparison table, learning curve, split)."""
    return json.loads(_data_file(RESULTS).read_text())


def load_pretrained():
    """The network ``benchmarks/neural_heldout.py`` trained on the 100 training subjects of HK2014."""
    from cmrlab.neural.serialization import load_next_recall

    with resources.as_file(_data_file(PRETRAINED)) as path:
        return load_next_recall(path)
