"""Polyn et al.'s (2009) retrieval rule: a leaky competitive accumulator race, with times.

Each recall is a race between ``L`` accumulators ``x`` driven by the
retrieval cue ``a`` (clipped at 0), in steps of ``dt = 100`` ms:

.. code-block:: text

    x = x + (a - kappa x - lambda (sum(x) - x)) dt / tau_acc + eta sqrt(dt / tau_acc) N(0, 1)
    x = max(x, 0)
    x[i] = 0.95 for every already recalled item with x[i] >= 1   (it can never win)

The first not-yet-recalled item at or above the threshold 1 wins (one of
them, uniformly at random, when several cross in the same step). A race
that starts at time ``t`` may take ``n_max - 1`` steps, ``n_max =
ceil((90000 - t) / dt)``; with a winner after ``j`` steps the clock moves to
``t + (j + 1) dt``, and the winner is recalled at that time if it is before
90 s. Then context drifts as for any recall, the accumulators restart at 0
and the next race begins. Recall ends when a race has no winner or the 90 s
are over. ``docs/source_model.md`` tells the whole rule.

All lists run on one clock of 100 ms slots: slot ``g`` is the time from
``g dt`` to ``(g + 1) dt``. A list either takes a race step in a slot, or
spends it recalling the winner found in the slot before (the ``+ dt`` of the
rule). Steps can happen in slots ``0 .. 898``; a winner found in slot ``g``
is recalled at ``(g + 2) dt`` if ``g <= 897``.

Randomness: list ``j`` draws from its own key ``split(key, n)[j]``; its step
in slot ``g`` uses ``z = normal(fold_in(key_j, g), (L + 1,))``: ``z[:L]`` is
the noise and ``Phi(z[L])`` (the normal CDF, a uniform draw) picks among
simultaneous winners the ``floor(u n_crossed)``-th in item order. So each
list's recall depends only on its key: simulating in chunks gives the same
numbers as one call.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

from cmrlab import source_recall_phase as srp
from cmrlab.parameters import FullParameters

DT_MS = 100
"""The accumulator's time step in ms."""
THRESHOLD = 1.0
"""The level an accumulator must reach to win."""
RECALLED_LEVEL = 0.95
"""Where an already recalled item's accumulator is put back when it reaches the threshold."""
RECALL_PERIOD_MS = 90_000
"""The length of the recall period in ms."""
N_SLOTS = RECALL_PERIOD_MS // DT_MS - 1
"""Slots in which a race step can happen (0 .. 898)."""


def step(x: jax.Array, drive: jax.Array, recalled: jax.Array, noise: jax.Array,
         params: FullParameters) -> jax.Array:
    """One 100 ms step of the race, for ``(..., L)`` accumulators.

    .. code-block:: text

        x = x + (a - kappa x - lambda (sum(x) - x)) dt / tau_acc + eta sqrt(dt / tau_acc) noise
        x = max(x, 0);   x = 0.95 where recalled and x >= 1

    Args:
        x: ``(..., L)`` accumulators.
        drive: ``(..., L)`` the race's input ``a = max(cue, 0)``.
        recalled: ``(..., L)`` bool, items already recalled.
        noise: ``(..., L)`` standard normal draws.
        params: uses ``accumulator_leak`` (kappa), ``accumulator_inhibition``
            (lambda), ``accumulator_noise`` (eta), ``accumulator_time_constant``
            (tau_acc, ms).
    """
    dt_tau = DT_MS / params.accumulator_time_constant
    others = jnp.sum(x, axis=-1, keepdims=True) - x
    x = (x + (drive - params.accumulator_leak * x - params.accumulator_inhibition * others) * dt_tau
         + params.accumulator_noise * jnp.sqrt(dt_tau) * noise)
    x = jnp.maximum(x, 0.0)
    return jnp.where(recalled & (x >= THRESHOLD), RECALLED_LEVEL, x)


def slot_draws(list_keys: jax.Array, slot, list_length: int) -> jax.Array:
    """``(n, L + 1)`` standard normals of slot ``slot`` for each list's key."""
    return jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, slot), (list_length + 1,)))(list_keys)


def pick_winner(crossed: jax.Array, u: jax.Array) -> jax.Array:
    """``(n,)`` 1-based winner among the ``crossed`` items ``(n, L)`` (0 if none).

    The ``floor(u n_crossed)``-th crossed item in item order, ``u`` uniform in [0, 1).
    """
    count = jnp.sum(crossed, axis=-1)
    pick = jnp.minimum(jnp.floor(u * count).astype(jnp.int32), jnp.maximum(count - 1, 0))
    # rank of each crossed item among the crossed ones before it; a product with
    # a triangular matrix (exact small integers) is far faster on CPU than cumsum
    L = crossed.shape[-1]
    before = jnp.triu(jnp.ones((L, L), jnp.float32), k=1)
    rank = (crossed.astype(jnp.float32) @ before).astype(jnp.int32)
    hit = crossed & (rank == pick[:, None])
    return jnp.where(count > 0, jnp.argmax(hit, axis=-1) + 1, 0).astype(jnp.int32)


class RaceState(NamedTuple):
    """The state of every list's recall period.

    Attributes:
        recall: the lists' :class:`~cmrlab.source_recall_phase.SourceRecallState`.
        x: ``(n, L)`` accumulators.
        drive: ``(n, L)`` the current race's input ``max(a, 0)``.
        pending: ``(n,)`` int32, a winner (1-based) to recall in this slot, 0 if none.
        done: ``(n,)`` bool, recall is over.
        recalls: ``(n, L)`` int32 recalled items in output order, 0-padded.
        times: ``(n, L)`` int32 their recall times in ms, 0-padded.
    """

    recall: srp.SourceRecallState
    x: jax.Array
    drive: jax.Array
    pending: jax.Array
    done: jax.Array
    recalls: jax.Array
    times: jax.Array


def start(rs: srp.SourceRecallState) -> RaceState:
    """The race state at the start of recall (time 0)."""
    n, L = rs.recallable.shape
    zeros = jnp.zeros((n, L), jnp.int32)
    return RaceState(rs, jnp.zeros((n, L), jnp.float32), jnp.maximum(srp.activations(rs), 0.0),
                     jnp.zeros(n, jnp.int32), jnp.zeros(n, bool), zeros, zeros)


def run_slot(race: RaceState, tables: srp.SourceTables, params: FullParameters, slot,
             draws: jax.Array) -> RaceState:
    """Advance every list by one 100 ms slot.

    A list with a pending winner recalls it (context drifts, the time is
    ``(slot + 1) dt``, the accumulators restart at 0 with the new cue);
    every other list still recalling takes one race step with ``draws``
    (``(n, L + 1)``, see :func:`slot_draws`).
    """
    L = race.x.shape[-1]
    applying = race.pending > 0
    rows = srp.table_rows(tables, race.pending)
    rs = _where_lists(applying, srp.apply(race.recall, rows, params, race.pending), race.recall)
    slot_of_output = applying[:, None] & (jnp.arange(L)[None, :] == rs.recall_count[:, None] - 1)
    recalls = jnp.where(slot_of_output, race.pending[:, None], race.recalls)
    times = jnp.where(slot_of_output, (slot + 1) * DT_MS, race.times)
    drive = jnp.where(applying[:, None], jnp.maximum(srp.activations(rs), 0.0), race.drive)
    x = jnp.where(applying[:, None], 0.0, race.x)

    racing = ~race.done & ~applying
    stepped = step(x, drive, ~rs.recallable, draws[:, :L], params)
    x = jnp.where(racing[:, None], stepped, x)
    crossed = racing[:, None] & rs.recallable & (x >= THRESHOLD)
    winner = pick_winner(crossed, ndtr(draws[:, L]))
    in_time = slot <= N_SLOTS - 2  # recalled at (slot + 2) dt < 90 s
    pending = jnp.where(in_time, winner, 0)
    done = race.done | ((winner > 0) & ~in_time)
    return RaceState(rs, x, drive, pending, done, recalls, times)


def simulate_lists(params: FullParameters, tables: srp.SourceTables, rs: srp.SourceRecallState,
                   list_keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Run the recall period of every list; return ``(recalls, times_ms)``, ``(n, L)`` int32 each."""
    L = rs.recallable.shape[-1]

    def body(race, slot):
        return run_slot(race, tables, params, slot, slot_draws(list_keys, slot, L)), None

    race, _ = jax.lax.scan(body, start(rs), jnp.arange(N_SLOTS))
    return race.recalls, race.times


def _where_lists(mask, new, old):
    """Per list (leading axis), ``new`` where ``mask`` else ``old``, for every leaf."""
    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, new, old)
