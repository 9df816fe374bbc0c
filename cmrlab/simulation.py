"""Sampling recall sequences from CMR: a scan over output positions, all trials at once."""

from __future__ import annotations

from functools import partial
from typing import Mapping

import jax
import jax.numpy as jnp

from cmrlab import recall_phase
from cmrlab.model import CMRState, initial_state, start_recall, study_list
from cmrlab.parameters import CMRParameters, as_parameters, pack, unpack


def studied_state(params: CMRParameters, list_length: int) -> CMRState:
    """The state after studying items ``1..L`` in order and reinstating start context.

    Every list of a recall matrix is studied in serial order, so this state is
    shared by all trials with the same parameters and is computed once.
    """
    state = initial_state(list_length, params)
    state = study_list(state, params, jnp.arange(1, list_length + 1))
    return start_recall(state, params)


def sample_outcome(probabilities: jax.Array, u: jax.Array) -> jax.Array:
    """Draw an outcome index from ``(K, ...)`` ``probabilities`` with one uniform ``u``.

    Inverse-CDF sampling along axis 0: the first index whose cumulative
    probability exceeds ``u * total``. Outcomes of probability 0 are never drawn.
    """
    cdf = _cumsum_rows(probabilities)
    index = jnp.sum(cdf <= jnp.expand_dims(u * cdf[-1], 0), axis=0)
    # u * total can round up to total: fall back on the last possible outcome
    n = probabilities.shape[0]
    last = n - 1 - jnp.argmax(probabilities[::-1] > 0, axis=0)
    return jnp.minimum(index, last).astype(jnp.int32)


def _cumsum_rows(x: jax.Array) -> jax.Array:
    # A running sum row by row; XLA's cumsum (reduce_window) is several times
    # slower on CPU for the short item axis.
    if x.shape[0] > 128:
        return jnp.cumsum(x, axis=0)
    rows = [x[0]]
    for row in x[1:]:
        rows.append(rows[-1] + row)
    return jnp.stack(rows)


@partial(jax.jit, static_argnames=("list_length", "n_trials"))
def _simulate(key, packed: jax.Array, list_length: int, n_trials: int) -> jax.Array:
    params = unpack(packed)
    state = studied_state(params, list_length)
    tables = recall_phase.recall_tables(state)
    uniforms = jax.random.uniform(key, (list_length, n_trials))

    def step(rs, u):
        choice = sample_outcome(recall_phase.outcome_probabilities(rs, params), u)
        return recall_phase.apply(rs, tables, params, choice), choice

    _, choices = jax.lax.scan(step, recall_phase.start(state, (n_trials,)), uniforms)
    return choices.T


def simulate(key, parameters: Mapping[str, float], list_length: int, n_trials: int) -> jax.Array:
    """Simulate free recall of ``n_trials`` lists of ``list_length`` items.

    Each list is studied in serial order; recall samples outcomes (0 = stop,
    ``i`` = item ``i``) (:func:`cmrlab.model.outcome_probabilities`, computed for all
    trials at once by :mod:`cmrlab.recall_phase`) until
    stop is drawn or nothing is left.

    Args:
        key: a JAX PRNG key; the same key gives the same array.
        parameters: dict of the 11 CMR parameters.
        list_length: ``L``, items per list.
        n_trials: number of lists.

    Returns:
        int32 array ``(n_trials, list_length)`` of recalled serial positions
        in output order, 0-padded. Compiled once per ``(list_length,
        n_trials)``; new parameter values reuse the compiled code.

    Example:
        >>> recalls = simulate(jax.random.PRNGKey(0), DEFAULT_PARAMETERS, 16, 1000)
    """
    _check_positive_int("list_length", list_length)
    _check_positive_int("n_trials", n_trials)
    return _simulate(key, pack(as_parameters(parameters)), int(list_length), int(n_trials))


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")


def trace_trial(key, parameters: Mapping[str, float], list_length: int) -> list[dict]:
    """Every state of one simulated list, study then recall, for teaching displays.

    Uses the step-by-step :class:`~cmrlab.model.CMR` API (slow but transparent).

    Returns:
        A list of steps, each a dict with ``phase`` (``"start"``, ``"study"``,
        ``"retrieval start"``, ``"recall"``, ``"stop"``), ``event`` (a sentence),
        ``context`` ``(L + 1,)``, ``mfc`` ``(L, L + 1)``, ``mcf`` ``(L + 1, L)``,
        ``probabilities`` ``(L + 1,)`` (recall phase only, else ``None``) and
        ``recalled`` (the items recalled so far).
    """
    from cmrlab.model import CMR
    import numpy as np

    _check_positive_int("list_length", list_length)
    model = CMR(list_length, parameters)
    steps = []

    def record(phase, event, probabilities=None, recalled=()):
        steps.append({
            "phase": phase, "event": event, "context": np.asarray(model.context),
            "mfc": np.asarray(model.mfc), "mcf": np.asarray(model.mcf),
            "probabilities": None if probabilities is None else np.asarray(probabilities),
            "recalled": tuple(recalled),
        })

    record("start", "Before study: context is the start-of-list unit.")
    for item in range(1, list_length + 1):
        model = model.experience(item)
        record("study", f"Studied item {item}: context drifted toward it, both memories learned.")
    model = model.start_retrieving()
    recalled: list[int] = []
    probabilities = np.asarray(model.outcome_probabilities())
    record("retrieval start", "Start context reinstated; the bars show the first outcome's probabilities.",
           probabilities)
    for u in np.asarray(jax.random.uniform(key, (list_length + 1,))):
        choice = int(sample_outcome(jnp.asarray(probabilities), jnp.float32(u)))
        chance = float(probabilities[choice])
        if choice == 0:
            record("stop", f"Stop drawn (P = {chance:.2f}) after {len(recalled)} recall(s).",
                   probabilities, recalled)
            break
        recalled.append(choice)
        model = model.retrieve(choice)
        probabilities = np.asarray(model.outcome_probabilities())
        record("recall", f"Recalled item {choice} (P = {chance:.2f}); context drifted toward it.",
               probabilities, recalled)
    return steps
