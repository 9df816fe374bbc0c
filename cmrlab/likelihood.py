"""Log-probability of observed recall sequences under CMR."""

from __future__ import annotations

from functools import partial
from typing import Mapping

import jax
import jax.numpy as jnp

from cmrlab import recall_phase
from cmrlab.parameters import CMRParameters, as_parameters, pack, unpack
from cmrlab.recalls import clean_recalls
from cmrlab.simulation import studied_state


def trial_log_likelihoods(params: CMRParameters, recalls: jax.Array, list_length: int) -> jax.Array:
    """Per-trial log-likelihoods ``(n_trials,)`` of a *clean* recall matrix.

    Args:
        params: :class:`CMRParameters` (may be traced).
        recalls: int ``(n_trials, n_outputs)`` of serial positions ``1..L``,
            0-padded, without intrusions or repeats (see
            :func:`cmrlab.recalls.clean_recalls`).
        list_length: ``L``.

    Each trial contributes ``sum_t log P(recall_t) + log P(stop)``. The study
    phase, identical for every trial, is computed once; a scan over output
    positions then applies every trial's outcome at once
    (:mod:`cmrlab.recall_phase`).
    """
    n_trials = recalls.shape[0]
    state = studied_state(params, list_length)
    tables = recall_phase.recall_tables(state)
    # one extra 0 row so that every trial ends with a scored stop
    outcomes = jnp.concatenate(
        [recalls.T.astype(jnp.int32), jnp.zeros((1, n_trials), jnp.int32)], axis=0
    )

    def step(carry, choice):
        rs, active, total = carry
        log_p = recall_phase.outcome_log_probability(rs, params, choice)
        total = total + jnp.where(active, log_p, 0.0)
        return (recall_phase.apply(rs, tables, params, choice), active & (choice > 0), total), None

    init = (recall_phase.start(state, (n_trials,)), jnp.ones(n_trials, bool),
            jnp.zeros(n_trials, jnp.float32))
    (_, _, totals), _ = jax.lax.scan(step, init, outcomes)
    return totals


@partial(jax.jit, static_argnames=("list_length",))
def _log_likelihood(packed: jax.Array, recalls: jax.Array, list_length: int) -> jax.Array:
    return jnp.sum(trial_log_likelihoods(unpack(packed), recalls, list_length))


def log_likelihood(parameters: Mapping[str, float], recalls, list_length: int) -> jax.Array:
    """Total log-likelihood of a recall matrix under CMR (``docs/model.md``).

    .. math::

        \\log \\mathcal{L} = \\sum_{\\text{trials}} \\Big[\\sum_t \\log P(\\text{recall}_t)
        + \\log P(\\text{stop})\\Big]

    Intrusions (``-1``) and repeats are removed from each row first (the
    remaining recalls keep their order). Differentiable in ``parameters``::

        jax.grad(lambda p: log_likelihood(p, recalls, 16))(params)

    Args:
        parameters: dict of the 11 CMR parameters (floats or JAX scalars).
        recalls: int ``(n_trials, max_recalls)``: ``1..L`` serial positions in
            output order, ``0`` padding, ``-1`` intrusions.
        list_length: ``L``.

    Returns:
        A float32 JAX scalar. Compiled once per recall-matrix shape.
    """
    params = as_parameters(parameters)
    clean = clean_recalls(recalls, list_length)
    return _log_likelihood(pack(params), jnp.asarray(clean), int(list_length))


def log_likelihood_function(recalls, list_length: int):
    """Prepare a recall matrix once; return ``parameters -> log-likelihood``.

    The cleaning and transfer of the data happen here, not on every call:
    use this when evaluating many parameter sets on the same data (fitting,
    likelihood surfaces). The returned function is differentiable::

        loglik = log_likelihood_function(recalls, 16)
        loglik(DEFAULT_PARAMETERS), jax.grad(loglik)(DEFAULT_PARAMETERS)
    """
    clean = jnp.asarray(clean_recalls(recalls, list_length))
    list_length = int(list_length)

    def loglik(parameters: Mapping[str, float]) -> jax.Array:
        return _log_likelihood(pack(as_parameters(parameters)), clean, list_length)

    return loglik
