"""Exercise: the outcome probabilities of recall (Luce choice rule with stopping)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.exercises import _wrong_cmr
from cmrlab.exercises.harness import (
    DEFAULT_TIME_LIMIT,
    Case,
    CheckResult,
    Mistake,
    StudentProblem,
    as_float_array,
    close,
    format_value,
    run_check,
)
from cmrlab.exercises.study import studied
from cmrlab.exercises.context import reference_update
from cmrlab.model import CMRState, outcome_probabilities
from cmrlab.parameters import DEFAULT_PARAMETERS, as_parameters, pack, unpack

ARGUMENTS = ("context", "mcf", "recallable", "recall_count", "parameters")


@jax.jit
def _probabilities(packed, context, mcf, recallable, recall_count):
    L = recallable.shape[0]
    state = CMRState(context=context, mfc=jnp.zeros((L, L + 1), context.dtype), mcf=mcf, recallable=recallable,
                     study_count=jnp.int32(L), recall_count=recall_count)
    return outcome_probabilities(state, unpack(packed))


def probabilities(context, mcf, recallable, recall_count, parameters) -> np.ndarray:
    """cmrlab's outcome probabilities ``(L + 1,)`` (0 = stop) for this state, as float64 NumPy."""
    out = _probabilities(pack(as_parameters(parameters)), jnp.asarray(context, jnp.float32),
                         jnp.asarray(mcf, jnp.float32), jnp.asarray(recallable, bool), jnp.int32(recall_count))
    return np.asarray(out, np.float64)


def check_outcome_probabilities(fn, *, seed: int = 0, n_random: int = 10,
                                time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(context, mcf, recallable, recall_count, parameters) -> (L + 1,)`` against cmrlab.

    The function to write (``docs/model.md``, "Recall"), with ``r =
    recall_count`` items recalled so far and ``n`` still recallable:

    .. code-block:: text

        if n == 0:                  P(stop) = 1, P(item) = 0
        p_stop = min(1 - eps * n, theta_s * exp(theta_r * r))
        a      = c @ M^CF                              (activation of each item)
        a      = (a / max a)^tau
        a      = (a + eps) * recallable
        P(stop)   = p_stop                               (index 0)
        P(item i) = (1 - p_stop) * a_i / sum(a)          (index i)

    Args:
        fn: the student's function; ``context`` is ``(L + 1,)``, ``mcf``
            ``(L + 1, L)``, ``recallable`` a bool array ``(L,)``,
            ``recall_count`` an int, ``parameters`` the dict of 11 CMR
            parameters. It returns the ``(L + 1,)`` probabilities.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    def convert(value, case):
        L = case.args[2].shape[0]
        try:
            return as_float_array(value, (L + 1,), "your answer")
        except StudentProblem as problem:
            if np.shape(value) == (L,):
                problem.hint = ("Index 0 holds the probability of stopping, indexes 1..L the items: "
                                "np.concatenate([[p_stop], p_items]).")
            raise

    return run_check(
        "check_outcome_probabilities", fn, _cases(seed, n_random), ARGUMENTS,
        convert=convert, compare=lambda got, expected: close(got, expected, rtol=1e-4, atol=1e-5),
        mistakes=MISTAKES, general_hint=_general_hint, time_limit=time_limit, show=_show,
        nan_hint=("NaN comes from 0 / 0: when nothing is left to recall (n = 0), P(stop) = 1 and every "
                  "item has probability 0; don't divide by the sum of zero supports."),
        labels=lambda index, case: "index 0 (stop)" if index[0] == 0 else f"index {index[0]} (item {index[0]})",
    )


def _case(label, L, p, recalled=(), recall_count=None, context=None, edge=False) -> Case:
    c, _, mcf = studied(L, p)
    if context is None:
        context = reference_update(c, np.eye(L + 1)[0], p["start_drift_rate"])
    recallable = np.ones(L, bool)
    recallable[[i - 1 for i in recalled]] = False
    r = len(recalled) if recall_count is None else recall_count
    args = (context, mcf, recallable, int(r), p)
    return Case(label, args, probabilities(*args), edge=edge)


def _cases(seed: int, n_random: int) -> list[Case]:
    p = dict(DEFAULT_PARAMETERS)
    L = 4
    cases = [
        _case("edge case: start of recall, every item recallable, nothing recalled yet", L, p, edge=True),
        _case("edge case: items 4 and 3 already recalled (recall_count 2)", L, p, recalled=(4, 3), edge=True),
        _case("edge case: one item left to recall", L, p, recalled=(1, 2, 4), edge=True),
        _case("edge case: nothing left to recall", L, p, recalled=(1, 2, 3, 4), edge=True),
        _case("edge case: stop probability past its cap (theta_s exp(theta_r r) > 1)", L,
              {**p, "stop_probability_scale": 0.5, "stop_probability_growth": 1.0}, recalled=(4, 3), edge=True),
        _case("edge case: choice sensitivity 1 (supports proportional to activations)", L,
              {**p, "choice_sensitivity": 1.0}, recalled=(3,), edge=True),
    ]
    rng = np.random.default_rng(seed)
    for index in range(n_random):
        L = int(rng.choice([4, 7]))  # few list lengths (as in check_study): each compiles the reference once
        q = {**p, "encoding_drift_rate": _pick(rng, 0.1, 0.95), "shared_support": _pick(rng, 0.01, 2.0),
             "item_support": _pick(rng, 0.5, 5.0), "primacy_scale": _pick(rng, 0.0, 10.0),
             "stop_probability_scale": _pick(rng, 0.005, 0.2), "stop_probability_growth": _pick(rng, 0.05, 1.0),
             "choice_sensitivity": _pick(rng, 0.5, 10.0)}
        n_recalled = int(rng.integers(0, L))
        recalled = tuple(int(i) for i in rng.choice(np.arange(1, L + 1), n_recalled, replace=False))
        context = np.abs(rng.normal(size=L + 1))
        context /= np.linalg.norm(context)
        cases.append(_case(f"random case {index + 1} ({L} items, {n_recalled} recalled)", L, q, recalled,
                           context=context))
    return cases


def _pick(rng, low, high) -> float:
    return float(np.round(rng.uniform(low, high), 3))


def _show(case: Case) -> dict[str, str]:
    context, mcf, recallable, r, p = case.args
    used = ("stop_probability_scale", "stop_probability_growth", "choice_sensitivity")
    return {"context": format_value(context), "mcf": format_value(mcf), "recallable": format_value(recallable),
            "recall_count": str(r), "parameters": "{" + ", ".join(f"'{k}': {p[k]:.4g}" for k in used) + ", ...}"}


def _general_hint(case: Case, got: np.ndarray) -> str:
    total = float(np.sum(got))
    if abs(total - 1) > 1e-4:
        return f"The probabilities should sum to 1 (stop and every item); yours sum to {total:.4f}."
    if abs(got[0] - case.expected[0]) > 1e-5:
        return ("P(stop) (index 0) differs: p_stop = min(1 - eps n, theta_s exp(theta_r r)) with r items "
                "recalled and n still recallable, and 1 when n = 0.")
    return ("P(stop) is right; the items differ: a = (context @ mcf / its max)^tau, plus eps, times "
            "recallable; then share 1 - p_stop in proportion to a.")


def _wrong(**mistake):
    def wrong(context, mcf, recallable, recall_count, parameters):
        return _wrong_cmr.probabilities(context, mcf, recallable, recall_count, parameters, **mistake)
    return wrong


MISTAKES = (
    Mistake("P(stop) is missing: index 0 holds the probability of stopping, p_stop, and the items share "
            "1 - p_stop.", _wrong(no_stop=True)),
    Mistake("Index 0 holds the probability of stopping, indexes 1..L the items (stop comes first, "
            "not last).", _wrong(stop_last=True)),
    Mistake("Items already recalled can't be recalled again: multiply the supports by `recallable` "
            "(their probability is 0).", _wrong(ignore_recallable=True)),
    Mistake("The Luce rule raises the activations to the power tau (choice_sensitivity) before "
            "normalising: (a / max a)^tau.", _wrong(no_exponent=True)),
    Mistake("When nothing is left to recall (n = 0), P(stop) = 1 and every item has probability 0.",
            _wrong(stop_not_forced=True)),
    Mistake("P(stop) is capped: min(1 - eps n, theta_s exp(theta_r r)); without the cap it passes 1 "
            "and the item probabilities turn negative.", _wrong(stop_not_capped=True)),
)

