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


# ---------------------------------------------------------------------------
# The full model of CMR_SOURCE_SPEC.md (Polyn, Norman & Kahana 2009): temporal
# context with shift placeholders, source context, semantic M^CF, the Luce
# rule on max(a, eps), and the leaky competitive accumulator.
# ---------------------------------------------------------------------------

SOURCE_OFF = {"source_drift_rate": 0.0, "shift_drift_rate": 0.0,
              "source_learning_rate": 0.0, "semantic_scale": 0.0}
ACCUMULATOR_DEFAULTS = {"accumulator_leak": 0.111, "accumulator_inhibition": 0.338,
                        "accumulator_noise": 0.380, "accumulator_time_constant": 574.0}


def similarity_block(similarity, items):
    """The list's Sim: symmetrized, zero diagonal."""
    L = len(items)
    block = np.zeros((L, L))
    for i in range(L):
        for j in range(L):
            if i != j:
                block[i, j] = (similarity[items[i], items[j]] + similarity[items[j], items[i]]) / 2
    return block


class ReferenceSourceCMR:
    """One list of the full model, studied in serial order 1..L.

    ``sources`` (L,) ints (None: all 0), ``sim`` the list's (L, L) block
    (None: no semantics), ``n_sources`` S.
    """

    def __init__(self, L, p, sources=None, sim=None, n_sources=None):
        p = {**SOURCE_OFF, **ACCUMULATOR_DEFAULTS, **p}
        self.L, self.p = L, p
        self.sources = np.zeros(L, int) if sources is None else np.asarray(sources, int)
        S = int(self.sources.max()) + 1 if n_sources is None else n_sources
        self.S = S
        self.ct = np.zeros(2 * L)
        self.ct[0] = 1.0
        self.cs = np.zeros(S)
        self.cs[self.sources[0]] = 1.0
        gamma = p["learning_rate"]
        self.mfc_t = np.zeros((L, 2 * L))
        for i in range(L):
            self.mfc_t[i, i + 1] = 1 - gamma
        self.mfc_s = np.zeros((L, S))
        self.mcf_t = np.zeros((2 * L, L))
        for j in range(1, L + 1):
            for i in range(L):
                support = p["item_support"] if j - 1 == i else p["shared_support"]
                semantic = 0.0 if sim is None else p["semantic_scale"] * sim[j - 1, i]
                self.mcf_t[j, i] = support + semantic
        self.mcf_s = np.zeros((S, L))
        self.k = 0
        self.m = 0
        self.recallable = np.zeros(L, bool)
        self.r = 0

    def study_next(self):
        """Study the item at serial position k (item k + 1)."""
        p, L, k = self.p, self.L, self.k
        i, q = k, self.sources[k]
        if k > 0 and q != self.sources[k - 1]:
            self.m += 1
            placeholder = np.zeros(2 * L)
            placeholder[L + self.m] = 1.0
            self.ct = integrate(self.ct, placeholder, p["shift_drift_rate"])
        self.ct = integrate(self.ct, self.mfc_t[i], p["encoding_drift_rate"])
        e_q = np.zeros(self.S)
        e_q[q] = 1.0
        self.cs = integrate(self.cs, self.mfc_s[i] + (1 - p["learning_rate"]) * e_q, p["source_drift_rate"])
        phi = p["primacy_scale"] * np.exp(-p["primacy_decay"] * k) + 1
        self.mfc_t[i] += p["learning_rate"] * self.ct
        self.mfc_s[i] += p["learning_rate"] * self.cs
        self.mcf_t[:, i] += phi * self.ct
        self.mcf_s[:, i] += phi * p["source_learning_rate"] * self.cs
        self.recallable[i] = True
        self.k += 1

    def study_all(self):
        for _ in range(self.L):
            self.study_next()

    def start_recall(self):
        e0 = np.zeros(2 * self.L)
        e0[0] = 1.0
        self.ct = integrate(self.ct, e0, self.p["start_drift_rate"])

    def activations(self):
        return self.ct @ self.mcf_t + self.cs @ self.mcf_s

    def probabilities(self):
        p = self.p
        n = int(self.recallable.sum())
        out = np.zeros(self.L + 1)
        if n == 0:
            out[0] = 1.0
            return out
        p_stop = min(1 - EPS * n, p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * self.r))
        a = np.maximum(self.activations(), EPS)
        a = (a / a.max()) ** p["choice_sensitivity"]
        a = (a + EPS) * self.recallable
        out[0] = p_stop
        out[1:] = (1 - p_stop) * a / a.sum()
        return out

    def recall(self, item):
        i = item - 1
        self.ct = integrate(self.ct, self.mfc_t[i], self.p["recall_drift_rate"])
        self.cs = integrate(self.cs, self.mfc_s[i], self.p["source_drift_rate"])
        self.recallable[i] = False
        self.r += 1


def source_trial_log_likelihood(p, L, recalls, sources=None, sim=None, n_sources=None):
    """Luce-rule log-likelihood of one row under the full model."""
    model = ReferenceSourceCMR(L, p, sources, sim, n_sources)
    model.study_all()
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


DT, THRESHOLD, RECALL_PERIOD = 100.0, 1.0, 90_000.0


def accumulator_step(x, a, recalled, noise, p):
    """One 100 ms step of the race (spec, retrieval rule 2, step 2), float64."""
    kappa, lam = p["accumulator_leak"], p["accumulator_inhibition"]
    eta, tau = p["accumulator_noise"], p["accumulator_time_constant"]
    x = x + (a - kappa * x - lam * (x.sum() - x)) * DT / tau + eta * np.sqrt(DT / tau) * noise
    x = np.maximum(x, 0.0)
    x[recalled & (x >= THRESHOLD)] = 0.95
    return x


def accumulator_recall(model, noise, uniforms):
    """Free recall of one studied list with the accumulator (spec, rule 2).

    The step that runs from time ``t'`` to ``t' + dt`` uses ``noise[t' / dt]``
    (one normal per item) and, when several items cross the threshold in it,
    ``uniforms[t' / dt]`` picks the ``floor(u * n)``-th of them in item order.

    Returns the recalled items (1-based), their times (ms), and the smallest
    distance |x - 1| of an accumulator from the threshold seen in a step (a
    float32 implementation may decide differently only if this is tiny).
    """
    p, L = model.p, model.L
    t = 0
    recalls, times = [], []
    recalled = np.zeros(L, bool)
    margin = np.inf
    while len(recalls) < L:
        a = np.maximum(model.activations(), 0.0)
        x = np.zeros(L)
        n_max = int(np.ceil((RECALL_PERIOD - t) / DT))
        n = 1
        winner = None
        while n < n_max:
            slot = t // int(DT) + n - 1
            x = accumulator_step(x, a, recalled, noise[slot], p)
            margin = min(margin, float(np.min(np.abs(x - THRESHOLD))))
            n += 1
            crossed = np.flatnonzero(~recalled & (x >= THRESHOLD))
            if len(crossed):
                winner = int(crossed[int(np.floor(uniforms[slot] * len(crossed)))])
                break
        t = t + n * int(DT)
        if winner is None or t >= RECALL_PERIOD:
            break
        recalls.append(winner + 1)
        times.append(t)
        recalled[winner] = True
        model.recall(winner + 1)
    return recalls, times, margin
