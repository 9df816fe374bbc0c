"""Exercises: the serial-position curve, the probability of first recall and the lag-CRP.

The student writes ``fn(recalls, list_length) -> array`` with the conventions
of :func:`cmrlab.spc`, :func:`cmrlab.pfr` and :func:`cmrlab.lag_crp`: a
*valid* recall is a serial position ``1..L`` at its first appearance in the
row; ``0`` pads the end of a row, ``-1`` is an intrusion; repeats and
intrusions are not valid, and a transition into or out of one is not counted.
"""

from __future__ import annotations

import numpy as np

from cmrlab.analysis import summarize
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

ARGUMENTS = ("recalls", "list_length")
_EDGE_LENGTH, _EDGE_WIDTH = 6, 8
_RANDOM_LENGTH, _RANDOM_TRIALS, _RANDOM_WIDTH = 8, 10, 12


def _rows(*rows, width=_EDGE_WIDTH):
    out = np.zeros((len(rows), width), np.int64)
    for index, row in enumerate(rows):
        out[index, : len(row)] = row
    return out


EDGE_CASES = (
    ("lists recalled in full (forward, backward, from the middle)",
     _rows([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [3, 4, 5, 6, 1, 2])),
    ("an empty recall (the first list has no recall at all)",
     _rows([], [2, 3], [5, 6, 1])),
    ("an intrusion (-1) in the middle of a list",
     _rows([4, -1, 5, 6], [1, 2, -1, 3], [6, 5])),
    ("a repeat in the middle of a list",
     _rows([3, 4, 3, 5], [6, 1, 2, 1, 3], [2])),
    ("intrusions and repeats at the start of a list",
     _rows([-1, 5, 6], [-1, -1, 2, 3, 2], [4, 4, 5])),
    ("a list with only an intrusion, and one ending in an intrusion",
     _rows([-1], [1, 2, 3, -1], [6, 4, 5])),
)


def _random_matrix(rng: np.random.Generator) -> np.ndarray:
    """Recall sequences with intrusions and repeats sprinkled in, 0-padded."""
    L, width = _RANDOM_LENGTH, _RANDOM_WIDTH
    rows = []
    for _ in range(_RANDOM_TRIALS):
        n = int(rng.integers(0, L + 1))
        start = int(rng.integers(1, L + 1))
        # mostly forward neighbours, as people do, then a random rest
        order = [((start - 1 + k) % L) + 1 for k in range(L)] if rng.random() < 0.5 else list(rng.permutation(L) + 1)
        row = [int(x) for x in order[:n]]
        for _ in range(int(rng.integers(0, 3))):
            position = int(rng.integers(0, len(row) + 1))
            if row and rng.random() < 0.5:
                row.insert(position, row[int(rng.integers(0, len(row)))])  # a repeat (or an early copy)
            else:
                row.insert(position, -1)
        rows.append(row[:width])
    return _rows(*rows, width=width)


def _cases(reference, seed: int, n_random: int) -> list[Case]:
    cases = [Case(f"edge case: {label}", (recalls, _EDGE_LENGTH), reference(recalls, _EDGE_LENGTH), edge=True)
             for label, recalls in EDGE_CASES]
    rng = np.random.default_rng(seed)
    for index in range(n_random):
        recalls = _random_matrix(rng)
        cases.append(Case(f"random case {index + 1} ({_RANDOM_TRIALS} lists of {_RANDOM_LENGTH} items)",
                          (recalls, _RANDOM_LENGTH), reference(recalls, _RANDOM_LENGTH)))
    return cases


def _reference(field: str):
    """cmrlab's ``field`` of :func:`cmrlab.summarize` (one compiled call serves all three checks)."""
    def reference(recalls, list_length):
        return np.asarray(getattr(summarize(recalls, list_length), field), np.float64)
    return reference


def _show(case: Case) -> dict[str, str]:
    recalls, list_length = case.args
    return {"recalls": format_value(recalls), "list_length": str(list_length)}


def _check(name, fn, field, width, mistakes, general_hint, shape_hint, labels, seed, n_random, time_limit):
    def convert(value, case: Case) -> np.ndarray:
        L = case.args[1]
        try:
            got = as_float_array(value, (width(L),), "your answer")
        except StudentProblem as problem:
            problem.hint = problem.hint or shape_hint(L)
            raise
        return got

    def show_value(value, case):
        return format_value(np.asarray(value))

    return run_check(
        name, fn, _cases(_reference(field), seed, n_random), ARGUMENTS,
        convert=convert, compare=lambda got, expected: close(got, expected, rtol=1e-5, atol=1e-6),
        mistakes=mistakes, general_hint=general_hint, time_limit=time_limit, show=_show, show_value=show_value,
        nan_hint=("0 / 0 gives NaN: it should only happen where nothing was possible. "
                  "Check which lists and items you count in the denominator."),
        labels=lambda index, case: labels(index[0], case.args[1]),
    )


def _position_label(index: int, list_length: int) -> str:
    return f"serial position {index + 1}"


def _lag_label(index: int, list_length: int) -> str:
    return f"lag {index - (list_length - 1):+d} (index {index})"


# ----------------------------------------------------------------------------- spc


def check_spc(fn, *, seed: int = 0, n_random: int = 6, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(recalls, list_length) -> (L,)`` against :func:`cmrlab.spc`.

    Entry ``i - 1`` is the fraction of lists (rows, all of them) in which
    serial position ``i`` was recalled validly: once, however often it was
    said; intrusions (``-1``) and padding (``0``) are not positions.

    Args:
        fn: the student's function; ``recalls`` is an int array
            ``(n_lists, max_recalls)``, ``list_length`` an int.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    return _check("check_spc", fn, "spc", lambda L: L, SPC_MISTAKES, _spc_hint,
                  lambda L: f"The serial-position curve has one entry per serial position: shape ({L},).",
                  _position_label, seed, n_random, time_limit)


def _valid_items(row, list_length):
    """The valid recalls of one row, in order (first appearances of 1..L)."""
    seen, items = set(), []
    for r in row:
        r = int(r)
        if 1 <= r <= list_length and r not in seen:
            seen.add(r)
            items.append(r)
    return items


def _spc_repeats_counted(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in row:
            if 1 <= r <= L:
                counts[r - 1] += 1
    return counts / len(recalls)


def _spc_codes_counted(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in set(int(x) for x in row):
            counts[r - 1] += 1  # 0 -> last position, -1 -> second to last
    return counts / len(recalls)


def _spc_intrusions_counted(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in set(int(x) for x in row if x != 0):
            counts[r - 1] += 1
    return counts / len(recalls)


def _spc_over_lists_with_recall(recalls, L):
    counts = np.zeros(L)
    n = 0
    for row in recalls:
        items = _valid_items(row, L)
        n += bool(items)
        for r in items:
            counts[r - 1] += 1
    return counts / n


def _spc_counts(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in _valid_items(row, L):
            counts[r - 1] += 1
    return counts


SPC_MISTAKES = (
    Mistake("Repeats are counted twice: count a serial position once per list, however often it was "
            "recalled (only its first appearance is a valid recall).", _spc_repeats_counted),
    Mistake("Padding (0) and intrusions (-1) are counted as positions: in Python counts[0 - 1] is the "
            "last position and counts[-1 - 1] the second to last. Count only the values 1..L.",
            _spc_codes_counted),
    Mistake("Intrusions (-1) are counted: in Python counts[-1 - 1] is the second-to-last position. "
            "Count only the values 1..L.", _spc_intrusions_counted),
    Mistake("Divide by the number of all lists, including lists with no recall at all.",
            _spc_over_lists_with_recall),
    Mistake("These are counts: divide by the number of lists to get probabilities.", _spc_counts),
)


def _spc_hint(case, got):
    return ("Entry i - 1 is the number of lists in which position i was recalled (once per list, "
            "ignoring repeats, intrusions and padding), divided by the number of lists.")


# ----------------------------------------------------------------------------- pfr


def check_pfr(fn, *, seed: int = 0, n_random: int = 6, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(recalls, list_length) -> (L,)`` against :func:`cmrlab.pfr`.

    Among the lists with at least one valid recall, entry ``i - 1`` is the
    fraction whose first valid recall (intrusions skipped) is position ``i``;
    it sums to 1.

    Args:
        fn: the student's function; ``recalls`` is an int array
            ``(n_lists, max_recalls)``, ``list_length`` an int.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    return _check("check_pfr", fn, "pfr", lambda L: L, PFR_MISTAKES, _pfr_hint,
                  lambda L: f"The PFR has one entry per serial position: shape ({L},).",
                  _position_label, seed, n_random, time_limit)


def _pfr_first_output(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        if 1 <= row[0] <= L:
            counts[row[0] - 1] += 1
    return counts / counts.sum()


def _pfr_first_output_indexed(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        if row[0] != 0:
            counts[row[0] - 1] += 1
    return counts / counts.sum()


def _pfr_over_all_lists(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        items = _valid_items(row, L)
        if items:
            counts[items[0] - 1] += 1
    return counts / len(recalls)


def _pfr_counts(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        items = _valid_items(row, L)
        if items:
            counts[items[0] - 1] += 1
    return counts


PFR_MISTAKES = (
    Mistake("The first recall is the first *valid* one: when a list starts with an intrusion (-1), "
            "skip the intrusion and take the next valid recall, instead of skipping the list.",
            _pfr_first_output),
    Mistake("A list that starts with an intrusion (-1) is counted at counts[-1 - 1], the second-to-last "
            "position: skip intrusions and take the first valid recall.", _pfr_first_output_indexed),
    Mistake("Divide by the number of lists with at least one valid recall (a list with no recall has no "
            "first recall), so that the PFR sums to 1.", _pfr_over_all_lists),
    Mistake("These are counts: divide by the number of lists with at least one valid recall.", _pfr_counts),
)


def _pfr_hint(case, got):
    total = float(np.nansum(got))
    if abs(total - 1) > 1e-6:
        return f"Your PFR sums to {total:.4f}; it should sum to 1 (over lists with at least one valid recall)."
    return ("For each list with a valid recall, find its first valid recall (skip intrusions), count it, "
            "and divide by the number of such lists.")


# ----------------------------------------------------------------------------- lag-CRP


def check_lag_crp(fn, *, seed: int = 0, n_random: int = 6, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(recalls, list_length) -> (2L - 1,)`` against :func:`cmrlab.lag_crp`.

    Index ``k`` holds lag ``k - (L - 1)``. For each pair of consecutive
    responses ``prev -> cur`` that are both valid, ``actual[cur - prev]`` gains
    1 and ``possible[j - prev]`` gains 1 for every item ``j`` not yet recalled
    (``prev`` and earlier valid recalls excluded). A transition into or out of
    an intrusion or repeat is not counted (recall goes on after it). The
    lag-CRP is ``actual / possible`` pooled over lists, NaN where ``possible``
    is 0 (always at lag 0).

    Args:
        fn: the student's function; ``recalls`` is an int array
            ``(n_lists, max_recalls)``, ``list_length`` an int.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    return _check("check_lag_crp", fn, "lag_crp", lambda L: 2 * L - 1, LAG_CRP_MISTAKES, _lag_crp_hint,
                  lambda L: (f"The lag-CRP has one entry per lag -(L-1)..L-1: shape ({2 * L - 1},) for "
                             f"L = {L}, with lag 0 at index L - 1."),
                  _lag_label, seed, n_random, time_limit)


def _lag_crp_variant(recalls, L, *, keep_recalled=False, include_prev=False, across_intrusions=False,
                     repeats_valid=False, zero_for_nan=False, shift=0):
    """Pooled lag-CRP by loops, with one classic mistake switched on."""
    actual, possible = np.zeros(2 * L - 1), np.zeros(2 * L - 1)
    for row in recalls:
        sequence = [int(r) for r in row if r != 0]
        if across_intrusions:
            sequence = _valid_items(sequence, L)
        recalled: set[int] = set()
        prev = None
        for r in sequence:
            valid = 1 <= r <= L and (repeats_valid or r not in recalled)
            if valid and prev is not None:
                actual[(r - prev + L - 1 + shift) % (2 * L - 1)] += 1
                unavailable = {prev} if keep_recalled else (recalled - {prev} if include_prev else recalled)
                for j in range(1, L + 1):
                    if j not in unavailable:
                        possible[(j - prev + L - 1 + shift) % (2 * L - 1)] += 1
            if valid:
                recalled.add(r)
                prev = r
            else:
                prev = None
    if zero_for_nan:
        return np.divide(actual, possible, out=np.zeros_like(actual), where=possible > 0)
    return np.where(possible > 0, actual / np.where(possible > 0, possible, 1), np.nan)


def _variant(**mistake):
    def wrong(recalls, list_length):
        return _lag_crp_variant(recalls, list_length, **mistake)
    return wrong


LAG_CRP_MISTAKES = (
    Mistake("Already-recalled items are left in the denominator: possible[j - prev] should only count "
            "items j not recalled yet (prev and every earlier valid recall excluded).",
            _variant(keep_recalled=True)),
    Mistake("The item just recalled (prev) is still counted as possible: lag 0 can never happen, so it "
            "must stay NaN. Mark prev as recalled before counting the possible transitions.",
            _variant(include_prev=True)),
    Mistake("Transitions are counted across an intrusion: when an intrusion (or a repeat) comes between "
            "two valid recalls, that pair is not a transition. Don't drop intrusions first; skip the "
            "transitions into and out of them.", _variant(across_intrusions=True)),
    Mistake("Repeats are treated as valid recalls: a serial position said a second time is a repeat; "
            "transitions into or out of it are not counted.", _variant(repeats_valid=True)),
    Mistake("Where no transition was possible (lag 0, and lags no list could make) the lag-CRP is NaN "
            "(0 / 0), not 0.", _variant(zero_for_nan=True)),
    Mistake("The lags are shifted by one place: index L - 1 holds lag 0, index L lag +1, index L - 2 lag -1.",
            _variant(shift=1)),
    Mistake("The lags are shifted by one place: index L - 1 holds lag 0, index L lag +1, index L - 2 lag -1.",
            _variant(shift=-1)),
)


def _lag_crp_hint(case, got):
    expected = case.expected
    if np.any(np.isnan(expected) & ~np.isnan(got)):
        return ("Where no transition was possible (lag 0, and lags no list could make) the lag-CRP is NaN "
                "(0 / 0), not a number: divide actual by possible and leave 0 / 0 as NaN.")
    return ("For each pair of consecutive valid recalls prev -> cur: actual[cur - prev] += 1, and "
            "possible[j - prev] += 1 for every item j not yet recalled. Index L - 1 is lag 0.")


MISTAKES = SPC_MISTAKES + PFR_MISTAKES + LAG_CRP_MISTAKES
"""Every classic mistake of the three analyses."""
