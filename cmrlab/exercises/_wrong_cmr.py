"""CMR in NumPy with one classic mistake switched on, to recognise a student's mistake.

Only the hints use this: every check's expected answers come from cmrlab's
JAX implementation (:mod:`cmrlab.model`, :func:`cmrlab.log_likelihood`).
Each function takes keyword switches, one per classic mistake; the checks
build their :class:`~cmrlab.exercises.harness.Mistake` list from them.
"""

from __future__ import annotations

import numpy as np

from cmrlab.parameters import EPS


def normalize(v):
    return v / np.sqrt(np.sum(v * v) + EPS)


def integrate(c, c_in, beta):
    c_in = normalize(c_in)
    d = c @ c_in
    rho = np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d
    return normalize(rho * c + beta * c_in)


def study(list_length, p, *, learn_before_update=False, primacy_from_one=False, primacy_without_one=False,
          mfc_learning_without_rate=False, mfc_start_identity=False, mcf_start_row=False,
          mcf_no_shared_support=False):
    """``(context, mfc, mcf)`` after studying items ``1..L`` in order."""
    L = list_length
    gamma = p["learning_rate"]
    c = np.zeros(L + 1)
    c[0] = 1.0
    mfc = np.eye(L, L + 1, k=1) * (1.0 if mfc_start_identity else 1 - gamma)
    mcf = np.zeros((L + 1, L))
    mcf[1:] = p["item_support"] * np.eye(L) + (0 if mcf_no_shared_support else p["shared_support"]) * (1 - np.eye(L))
    if mcf_start_row:
        mcf[0] = p["shared_support"]
    for k in range(L):
        before = c
        c = integrate(c, mfc[k], p["encoding_drift_rate"])
        learned = before if learn_before_update else c
        mfc[k] += (1.0 if mfc_learning_without_rate else gamma) * learned
        position = k + 1 if primacy_from_one else k
        phi = p["primacy_scale"] * np.exp(-p["primacy_decay"] * position) + (0 if primacy_without_one else 1)
        mcf[:, k] += phi * learned
    return c, mfc, mcf


def probabilities(context, mcf, recallable, recall_count, p, *, no_stop=False, stop_last=False,
                  ignore_recallable=False, no_exponent=False, stop_not_forced=False, stop_not_capped=False):
    """``(L + 1,)``: index 0 = stop, index ``i`` = item ``i``."""
    recallable = np.ones_like(recallable) if ignore_recallable else np.asarray(recallable, bool)
    n = int(np.sum(recallable))
    L = mcf.shape[1]
    if n == 0 and not stop_not_forced:
        out = np.zeros(L + 1)
        out[-1 if stop_last else 0] = 1.0
        return out
    growth = p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * recall_count)
    p_stop = growth if stop_not_capped else min(1 - EPS * n, growth)
    if no_stop:
        p_stop = 0.0
    a = context @ mcf
    tau = 1.0 if no_exponent else p["choice_sensitivity"]
    a = (a / a.max()) ** tau
    a = (a + EPS) * recallable
    items = (1 - p_stop) * a / a.sum()
    return np.concatenate([items, [p_stop]]) if stop_last else np.concatenate([[p_stop], items])


def list_log_likelihood(recalls, list_length, p, *, no_final_stop=False, no_start_reinstatement=False,
                        no_recall_drift=False, recalled_stay_recallable=False, recall_count_fixed=False,
                        repeats_kept=False, negated=False):
    """Log-likelihood of one row (intrusions and repeats removed first, per the spec)."""
    L = list_length
    c, mfc, mcf = study(L, p)
    if not no_start_reinstatement:
        c = integrate(c, np.eye(L + 1)[0], p["start_drift_rate"])
    recallable = np.ones(L, bool)
    seen, total, r = set(), 0.0, 0
    for item in np.asarray(recalls).tolist():
        if item == 0:
            break
        if item < 1 or item > L or (item in seen and not repeats_kept):
            continue
        seen.add(item)
        total += np.log(probabilities(c, mcf, recallable, r, p)[item])
        if not recalled_stay_recallable:
            recallable[item - 1] = False
        if not no_recall_drift:
            c = integrate(c, mfc[item - 1], p["recall_drift_rate"])
        if not recall_count_fixed:
            r += 1
    if not no_final_stop:
        total += np.log(probabilities(c, mcf, recallable, r, p)[0])
    return -total if negated else total
