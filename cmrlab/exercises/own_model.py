"""Build your own CMR: simulation and likelihood with the student's pieces plugged in.

cmrlab supplies the loop (which outcome to score or draw next, and the
bookkeeping of what was recalled); the model itself is the student's:

* ``study(list_length, parameters) -> (context, mfc, mcf)``, the study phase
  (as in :func:`~cmrlab.exercises.check_study`);
* ``update_context(context, context_input, drift_rate) -> context``, the
  context update (as in :func:`~cmrlab.exercises.check_context_update`);
* ``outcome_probabilities(context, mcf, recallable, recall_count, parameters)
  -> (L + 1,)``, the retrieval rule with stopping (as in
  :func:`~cmrlab.exercises.check_outcome_probabilities`).

Recall follows ``docs/model.md``: reinstate start context with
``update_context(context, e_0, start_drift_rate)``, then repeatedly take the
outcome probabilities (index 0 = stop); after recalling item ``i`` the
context is ``update_context(context, mfc[i - 1], recall_drift_rate)`` and
``i`` is no longer recallable.

The pieces run one list at a time in Python (NumPy or jax.numpy), so this is
slower than :func:`cmrlab.simulate` (a few seconds for 1,200 lists of 20
items with NumPy pieces, against milliseconds), but it gives the same outcomes: with pieces that
pass their checks, :func:`simulate_own` draws with the very uniform numbers
:func:`cmrlab.simulate` uses for the same key, and the two recall matrices
agree list for list (up to float32 rounding, which can flip a draw that
lands within about 1e-7 of a boundary between two outcomes).
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import numpy as np

from cmrlab.exercises.harness import check_callable
from cmrlab.parameters import as_dict, as_parameters
from cmrlab.recalls import clean_recalls

_STUDY_ARGS = ("list_length", "parameters")
_UPDATE_ARGS = ("context", "context_input", "drift_rate")
_RETRIEVAL_ARGS = ("context", "mcf", "recallable", "recall_count", "parameters")


def simulate_own(key, parameters: Mapping[str, float], list_length: int, n_trials: int, *,
                 study: Callable, update_context: Callable, outcome_probabilities: Callable) -> np.ndarray:
    """Simulate free recall with your own study phase, context update and retrieval rule.

    Every list is studied in serial order (once: ``study`` is called one
    time), then each list's recall draws outcomes from
    ``outcome_probabilities`` by inverse-CDF sampling with the uniform
    numbers of :func:`cmrlab.simulate` (``jax.random.uniform(key, (L,
    n_trials))``), until stop is drawn or nothing is left.

    Args:
        key: a JAX PRNG key; the same key gives the same lists (and, with
            correct pieces, the lists of ``cmrlab.simulate`` with that key).
        parameters: dict of the 11 CMR parameters.
        list_length: ``L``.
        n_trials: number of lists.
        study, update_context, outcome_probabilities: your functions (see
            the module docstring for their signatures).

    Returns:
        int ``(n_trials, L)`` recalled serial positions in output order, 0-padded.

    Raises:
        ValueError: bad arguments, or one of your functions returned
            something that is not a valid answer (the message says which,
            and on which list).
    """
    L, p = _setup(parameters, list_length, study, update_context, outcome_probabilities)
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int, got {n_trials!r}.")
    start, mfc, mcf = _studied(study, update_context, L, p)
    uniforms = np.asarray(jax.random.uniform(key, (L, int(n_trials))), np.float64)
    out = np.zeros((int(n_trials), L), np.int32)
    for trial in range(int(n_trials)):
        context, recallable, count = start, np.ones(L, bool), 0
        for step in range(L):
            probs = _probabilities(outcome_probabilities, context, mcf, recallable, count, p, trial)
            choice = _sample(probs, uniforms[step, trial])
            if choice == 0:
                break
            out[trial, count] = choice
            context = _update(update_context, context, mfc[choice - 1], p["recall_drift_rate"],
                              f"after recalling item {choice} in list {trial}")
            recallable[choice - 1] = False
            count += 1
    return out


def log_likelihood_own(parameters: Mapping[str, float], recalls, list_length: int, *,
                       study: Callable, update_context: Callable, outcome_probabilities: Callable) -> float:
    """Total log-likelihood of a recall matrix under your own CMR pieces.

    Intrusions and repeats are removed from each row first (as
    :func:`cmrlab.log_likelihood` does); each list adds ``sum_t log
    P(recall_t) + log P(stop)``.

    Args:
        parameters: dict of the 11 CMR parameters.
        recalls: int ``(n_trials, max_recalls)`` recall matrix.
        list_length: ``L``.
        study, update_context, outcome_probabilities: your functions.

    Returns:
        The log-likelihood, a float.
    """
    L, p = _setup(parameters, list_length, study, update_context, outcome_probabilities)
    clean = clean_recalls(recalls, L)
    start, mfc, mcf = _studied(study, update_context, L, p)
    total = 0.0
    for trial, row in enumerate(clean):
        context, recallable, count = start, np.ones(L, bool), 0
        for item in row:
            if item == 0:
                break
            probs = _probabilities(outcome_probabilities, context, mcf, recallable, count, p, trial)
            total += np.log(probs[item])
            context = _update(update_context, context, mfc[item - 1], p["recall_drift_rate"],
                              f"after recalling item {item} in list {trial}")
            recallable[item - 1] = False
            count += 1
        total += np.log(_probabilities(outcome_probabilities, context, mcf, recallable, count, p, trial)[0])
    return float(total)


def _setup(parameters, list_length, study, update_context, outcome_probabilities):
    if isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    for function, names, label in ((study, _STUDY_ARGS, "study"), (update_context, _UPDATE_ARGS, "update_context"),
                                   (outcome_probabilities, _RETRIEVAL_ARGS, "outcome_probabilities")):
        problem = check_callable(function, names, label)
        if problem:
            raise ValueError(f"{label}: {problem}")
    return int(list_length), as_dict(as_parameters(parameters))


def _studied(study, update_context, L, p):
    result = study(L, dict(p))
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise ValueError(f"study must return (context, mfc, mcf); it returned {type(result).__name__}. "
                         "Run check_study on it first.")
    context, mfc, mcf = (np.asarray(x, np.float64) for x in result)
    for name, array, shape in (("context", context, (L + 1,)), ("mfc", mfc, (L, L + 1)), ("mcf", mcf, (L + 1, L))):
        if array.shape != shape:
            raise ValueError(f"study returned {name} of shape {array.shape}; expected {shape}. Run check_study first.")
    mfc.flags.writeable = False
    mcf.flags.writeable = False
    start = _update(update_context, context, np.eye(L + 1)[0], p["start_drift_rate"], "reinstating start context")
    return start, mfc, mcf


def _update(update_context, context, context_input, drift_rate, when: str) -> np.ndarray:
    new = np.asarray(update_context(context.copy(), context_input.copy(), drift_rate), np.float64)
    if new.shape != context.shape or not np.all(np.isfinite(new)):
        raise ValueError(f"update_context returned {np.array2string(new, precision=4)} {when}; expected a finite "
                         f"context of shape {context.shape}. Run check_context_update on it first.")
    return new


def _probabilities(outcome_probabilities, context, mcf, recallable, count, p, trial) -> np.ndarray:
    probs = np.asarray(outcome_probabilities(context.copy(), mcf, recallable.copy(), count, dict(p)), np.float64)
    if (probs.shape != (mcf.shape[1] + 1,) or not np.all(np.isfinite(probs)) or np.any(probs < 0)
            or abs(probs.sum() - 1) > 1e-4):
        raise ValueError(f"outcome_probabilities returned {np.array2string(probs, precision=4)} in list {trial} "
                         f"after {count} recall(s); expected {mcf.shape[1] + 1} probabilities (index 0 = stop) "
                         "that are finite, non-negative and sum to 1. Run check_outcome_probabilities on it first.")
    return probs


def _sample(probs: np.ndarray, u: float) -> int:
    """Inverse-CDF draw, as :func:`cmrlab.simulation.sample_outcome` does it."""
    cdf = np.cumsum(probs)
    index = int(np.sum(cdf <= u * cdf[-1]))
    last = len(probs) - 1 - int(np.argmax(probs[::-1] > 0))
    return min(index, last)
