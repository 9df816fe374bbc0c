"""Slow, direct NumPy (float64) transcriptions of the analyses, for testing.

Written from the definitions (CMR_SPEC.md "Analyses", docs/analyses.md), one
list and one response at a time, without cmrlab's bit sets or scatters.
"""

import numpy as np


def walk(row, list_length):
    """Yield ``(prev, cur, available, k)`` for each counted transition of one row.

    ``available`` is the set of items not yet validly recalled (``cur``
    included, ``prev`` not); ``k`` is the 1-based valid output position of
    ``prev``. Intrusions and repeats break the chain; recalled items stay
    unavailable.
    """
    recalled = []
    previous = None
    for code in row:
        if code == 0:
            break
        valid = 1 <= code <= list_length and code not in recalled
        if valid:
            if previous is not None:
                yield previous, int(code), set(range(1, list_length + 1)) - set(recalled), len(recalled)
            recalled.append(int(code))
            previous = int(code)
        else:
            previous = None


def category_crp(recalls, categories, list_length):
    actual = possible = 0
    for row, category in zip(recalls, categories):
        for prev, cur, available, _ in walk(row, list_length):
            actual += category[cur - 1] == category[prev - 1]
            possible += any(category[j - 1] == category[prev - 1] for j in available)
    return actual / possible if possible else np.nan


def average_rank(value, values):
    """Rank of ``value`` among ``values`` (1 = smallest), ties sharing their mean rank."""
    values = np.asarray(values)
    below = np.sum(values < value)
    tied = np.sum(values == value)
    return below + (tied + 1) / 2


def distance_rank(recalls, study_items, distances, list_length):
    scores = []
    for row, items in zip(recalls, study_items):
        for prev, cur, available, _ in walk(row, list_length):
            if len(available) < 2:
                continue
            row_distances = [distances[items[prev - 1], items[j - 1]] for j in sorted(available)]
            rank = average_rank(distances[items[prev - 1], items[cur - 1]], row_distances)
            scores.append(1 - (rank - 1) / (len(available) - 1))
    return float(np.mean(scores)) if scores else np.nan


def lag_counts_by_train(recalls, sources, list_length):
    """``(actual_within, possible_within, actual_across, possible_across)``, each ``(2L - 1,)``."""
    L = list_length
    counts = np.zeros((4, 2 * L - 1))
    for row, source in zip(recalls, sources):
        train = np.concatenate([[0], np.cumsum(np.asarray(source)[1:] != np.asarray(source)[:-1])])
        for prev, cur, available, _ in walk(row, L):
            side = 0 if train[cur - 1] == train[prev - 1] else 2
            counts[side, cur - prev + L - 1] += 1
            for j in available:
                side = 0 if train[j - 1] == train[prev - 1] else 2
                counts[side + 1, j - prev + L - 1] += 1
    return tuple(counts)


def irt(recalls, times, list_length):
    L = list_length
    total, count = np.zeros(L - 1), np.zeros(L - 1)
    for row, time in zip(recalls, times):
        recalled, last = [], None  # last: (output index, valid position) of the previous response if valid
        for t, code in enumerate(row):
            if code == 0:
                break
            if 1 <= code <= L and code not in recalled:
                recalled.append(int(code))
                if last is not None and last[0] == t - 1:
                    total[last[1] - 1] += time[t] - time[t - 1]
                    count[last[1] - 1] += 1
                last = (t, len(recalled))
            else:
                last = None
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
