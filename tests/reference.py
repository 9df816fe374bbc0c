"""A slow, direct NumPy (float64) transcription of CMR_SPEC.md, for testing.

Written from the spec alone, without looking at cmrlab's code paths: one list
at a time, full context vectors, explicit loops.
"""

import numpy as np

EPS = float(np.finfo(np.float32).eps)


def norm(v):
    return v / np.sqrt(np.sum(v**2) + EPS)


def integrate(c, c_in, beta):
    c_in = norm(c_in)
    d = float(c @ c_in)
    rho = np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d
    return norm(rho * c + beta * c_in)


class ReferenceCMR:
    def __init__(self, L, p):
        self.L, self.p = L, p
        self.c = np.zeros(L + 1)
        self.c[0] = 1.0
        self.mfc = np.zeros((L, L + 1))
        for i in range(L):
            self.mfc[i, i + 1] = 1 - p["learning_rate"]
        self.mcf = np.zeros((L + 1, L))
        for j in range(1, L + 1):
            for i in range(L):
                self.mcf[j, i] = p["item_support"] if j - 1 == i else p["shared_support"]
        self.k = 0
        self.recallable = np.zeros(L, bool)
        self.r = 0

    def study(self, item):
        i = item - 1
        p = self.p
        self.c = integrate(self.c, self.mfc[i], p["encoding_drift_rate"])
        self.mfc[i] += p["learning_rate"] * self.c
        phi = p["primacy_scale"] * np.exp(-p["primacy_decay"] * self.k) + 1
        self.mcf[:, i] += phi * self.c
        self.k += 1
        self.recallable[i] = True

    def start_recall(self):
        e0 = np.zeros(self.L + 1)
        e0[0] = 1
        self.c = integrate(self.c, e0, self.p["start_drift_rate"])

    def probabilities(self):
        p = self.p
        n = int(self.recallable.sum())
        out = np.zeros(self.L + 1)
        if n == 0:
            out[0] = 1.0
            return out
        p_stop = min(1 - EPS * n, p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * self.r))
        a = self.c @ self.mcf
        a = (a / a.max()) ** p["choice_sensitivity"]
        a = (a + EPS) * self.recallable
        out[0] = p_stop
        out[1:] = (1 - p_stop) * a / a.sum()
        return out

    def recall(self, item):
        i = item - 1
        self.c = integrate(self.c, self.mfc[i], self.p["recall_drift_rate"])
        self.recallable[i] = False
        self.r += 1


def trial_log_likelihood(p, L, recalls):
    """Log-likelihood of one row (intrusions and repeats removed per the spec)."""
    model = ReferenceCMR(L, p)
    for item in range(1, L + 1):
        model.study(item)
    model.start_recall()
    seen, total = set(), 0.0
    for item in recalls:
        if item == 0:
            break
        if item < 0 or item in seen:
            continue
        seen.add(item)
        total += np.log(model.probabilities()[item])
        model.recall(item)
    return total + np.log(model.probabilities()[0])
