"""Exercise: the log-likelihood of one recalled list."""

from __future__ import annotations

import numpy as np

from cmrlab.exercises import _wrong_cmr
from cmrlab.exercises.harness import (
    DEFAULT_TIME_LIMIT,
    Case,
    CheckResult,
    Mistake,
    as_scalar,
    format_value,
    run_check,
)
from cmrlab.likelihood import log_likelihood
from cmrlab.parameters import DEFAULT_PARAMETERS

ARGUMENTS = ("recalls", "list_length", "parameters")
_L = 6  # one list length (and row width) for every case: the reference compiles once

SPEC_PARAMETERS = {
    "encoding_drift_rate": 0.5, "start_drift_rate": 0.4, "recall_drift_rate": 0.6, "shared_support": 1.0,
    "item_support": 1.5, "learning_rate": 0.3, "primacy_scale": 1.0, "primacy_decay": 0.1,
    "stop_probability_scale": 0.05, "stop_probability_growth": 0.2, "choice_sensitivity": 2.0,
}
"""The parameters of ``docs/model.md``'s known answer (total -14.955646 for its two lists)."""


def list_log_likelihood(recalls, list_length: int, parameters) -> float:
    """cmrlab's log-likelihood of one row (:func:`cmrlab.log_likelihood` of a one-row matrix)."""
    return float(log_likelihood(parameters, np.asarray(recalls)[None, :], list_length))


def check_list_log_likelihood(fn, *, seed: int = 0, n_random: int = 10,
                              time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(recalls, list_length, parameters) -> float`` against :func:`cmrlab.log_likelihood`.

    The function to write (``docs/model.md``, "Likelihood"): study the list,
    reinstate start context, then walk the recalls in order; intrusions
    (``-1``) and repeats are removed first (the rest keep their order), ``0``
    ends the row. The answer is

    .. code-block:: text

        sum over valid recalls of log P(recall)   (then recall it: context drifts, item used up)
        + log P(stop)                              (log 1 = 0 once all L items are recalled)

    with the outcome probabilities of the Luce rule with stopping.

    Args:
        fn: the student's function; ``recalls`` is one row, a 1-D int array
            (serial positions ``1..L``, ``0`` padding, ``-1`` intrusions),
            ``list_length`` an int, ``parameters`` the dict of 11 CMR
            parameters. It returns one number.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    def convert(value, case):
        return np.float64(as_scalar(value, "your answer"))

    def compare(got, expected):
        return bool(np.isclose(got, expected, rtol=1e-4, atol=1e-3)) or (np.isinf(got) and got == expected)

    return run_check(
        "check_list_log_likelihood", fn, _cases(seed, n_random), ARGUMENTS,
        convert=convert, compare=compare, mistakes=MISTAKES, general_hint=_general_hint,
        time_limit=time_limit, show=_show, show_value=lambda value, case: f"{float(value):.6f}",
    )


def _row(*items):
    row = np.zeros(_L, np.int64)
    row[: len(items)] = items
    return row


def _cases(seed: int, n_random: int) -> list[Case]:
    p = SPEC_PARAMETERS
    edge = [
        ("the spec's known answer, list 1: 6 5 1 2", _row(6, 5, 1, 2), p),
        ("the spec's known answer, list 2: every item recalled (the final stop has P = 1)", _row(1, 2, 3, 4, 5, 6), p),
        ("an empty recall (stop before the first recall)", _row(), p),
        ("an intrusion (-1) in the middle", _row(3, -1, 4, 5), p),
        ("a repeat in the middle", _row(5, 6, 5, 4), p),
        ("an intrusion first, then a repeat, default parameters", _row(-1, 6, 1, 6, 2), dict(DEFAULT_PARAMETERS)),
    ]
    cases = [Case(f"edge case: {label}", (row, _L, q), list_log_likelihood(row, _L, q), edge=True)
             for label, row, q in edge]
    rng = np.random.default_rng(seed)
    for index in range(n_random):
        q = {**DEFAULT_PARAMETERS, **{name: float(np.round(value * rng.uniform(0.6, 1.4), 3))
                                      for name, value in SPEC_PARAMETERS.items()}}
        n = int(rng.integers(0, _L + 1))
        items = [int(i) for i in rng.permutation(_L)[:n] + 1]
        if items and rng.random() < 0.5:
            items.insert(int(rng.integers(0, len(items) + 1)), -1 if rng.random() < 0.5 else items[0])
        row = _row(*items[:_L])
        cases.append(Case(f"random case {index + 1} (random parameters)", (row, _L, q),
                          list_log_likelihood(row, _L, q)))
    return cases


def _show(case: Case) -> dict[str, str]:
    row, L, p = case.args
    return {"recalls": format_value(row), "list_length": str(L),
            "parameters": "{" + ", ".join(f"'{k}': {v:.4g}" for k, v in p.items()) + "}"}


def _general_hint(case: Case, got) -> str:
    if np.isneginf(got):
        return ("log(0): your function logged a probability of 0, e.g. for a repeat or an intrusion "
                "(remove them first) or for an item already recalled.")
    if np.isnan(got):
        return "NaN: a probability was 0 / 0 or negative; check the outcome probabilities on this list."
    if got > 0:
        return "A log-likelihood is never positive (log of a probability): return the sum of log P, not minus it."
    return ("Check the order of each step: study the list, reinstate start context, then for each valid "
            "recall add log P(item) and recall it (context drift, item used up, one more recall); finally "
            "add log P(stop).")


def _wrong(**mistake):
    def wrong(recalls, list_length, parameters):
        return _wrong_cmr.list_log_likelihood(recalls, list_length, parameters, **mistake)
    return wrong


MISTAKES = (
    Mistake("The final stop is missing: after the last recall, add log P(stop) (it is log 1 = 0 only when "
            "every item was recalled).", _wrong(no_final_stop=True)),
    Mistake("Start context is not reinstated before recall: c = integrate(c, e_0, start_drift_rate) after "
            "study, before the first outcome.", _wrong(no_start_reinstatement=True)),
    Mistake("The context does not drift after a recall: c = integrate(c, M^FC[i], recall_drift_rate) after "
            "recalling item i.", _wrong(no_recall_drift=True)),
    Mistake("A recalled item stays recallable: after recalling item i, set recallable[i - 1] = False.",
            _wrong(recalled_stay_recallable=True)),
    Mistake("recall_count does not grow: the stop probability uses r = the number of items recalled so far.",
            _wrong(recall_count_fixed=True)),
    Mistake("Repeats are scored as recalls: remove repeats (and intrusions) from the row first; an item "
            "already recalled has probability 0.", _wrong(repeats_kept=True)),
    Mistake("Your answer is minus the log-likelihood: return the sum of log P itself (a negative number).",
            _wrong(negated=True)),
)
