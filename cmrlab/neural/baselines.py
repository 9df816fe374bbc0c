"""Two simple models of free recall to measure the network and CMR against.

Both have CMR's outcome space (0 = stop, ``i`` = item ``i`` not yet
recalled) and the likelihood conventions of ``cmrlab.log_likelihood``
(intrusions and repeats removed, each list ends with a scored stop, the stop
after all ``L`` items has probability 1). Both stop with a probability that
depends only on how many items were recalled, and choose among the items
still available with a Luce rule over weights ``w``:

.. code-block:: text

    P(stop | r recalled)  = s_r                          (r < L; s_L = 1)
    P(item i | state)     = (1 - s_r) w(i | state) / sum_{j available} w(j | state)

* :class:`SerialPositionBaseline`: ``w(i | state) = w_i`` (serial position only).
* :class:`LagCRPBaseline`: a Markov chain over lags, the lag-CRP as a model:
  the first recall uses ``w_i = f_i``; after recalling ``p`` it uses
  ``w(i | p) = g_{i - p}`` (one weight per lag ``-(L-1) .. L-1``).

Fitting is maximum likelihood, regularised by ``pseudo_count`` virtual
observations: the stop rates are ``s_r = (stops at r + a) / (lists reaching
r + 2a)``, and each set of Luce weights maximises the likelihood of its
choices plus ``a`` virtual choices of each category from among all of them.
The Luce weights have no closed form (the available items differ between
choices); they come from the minorise-maximise iteration for the Luce /
Bradley-Terry model (Hunter, 2004, *Annals of Statistics* 32(1), 384-406):

.. code-block:: text

    w_k <- (C_k + a) / ( sum_e A_ek / (A_e . w) + a K / sum_j w_j )

with ``C_k`` the choices of category ``k``, ``A_ek`` the options of category
``k`` available at choice ``e`` and ``K`` categories; each step raises the
(concave in ``log w``) objective, and it converges to the unique maximum.
Everything here is NumPy in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cmrlab.recalls import clean_recalls


class Decisions(NamedTuple):
    """Every recall decision of a set of lists (``n`` lists, ``L + 1`` decisions each).

    Attributes:
        outcomes: int ``(n, L + 1)``: valid recalls in order, then 0 (stop), 0 padding.
        scored: bool ``(n, L + 1)``: decision ``t`` was made (``t <= n_recalls``).
        available: bool ``(n, L + 1, L)``: items not recalled before decision ``t``.
        previous: int ``(n, L + 1)``: the item recalled just before decision ``t`` (0 at ``t = 0``).
    """

    outcomes: np.ndarray
    scored: np.ndarray
    available: np.ndarray
    previous: np.ndarray


def decisions(recalls, list_length: int) -> Decisions:
    """Clean a recall matrix (:func:`cmrlab.clean_recalls`) and lay out its decisions."""
    clean = clean_recalls(recalls, list_length)
    L = list_length
    n = clean.shape[0]
    outcomes = np.zeros((n, L + 1), np.int64)
    outcomes[:, : clean.shape[1]] = clean
    n_recalls = (outcomes > 0).sum(axis=1)
    scored = np.arange(L + 1)[None, :] <= n_recalls[:, None]
    one_hot = outcomes[:, :L, None] == np.arange(1, L + 1)[None, None, :]  # (n, L, L)
    recalled_before = np.concatenate([np.zeros((n, 1, L), bool), np.cumsum(one_hot, axis=1) > 0], axis=1)
    previous = np.concatenate([np.zeros((n, 1), np.int64), outcomes[:, :L]], axis=1)
    return Decisions(outcomes, scored, ~recalled_before, previous)


def stop_probabilities(d: Decisions, pseudo_count: float) -> np.ndarray:
    """``(L + 1,)`` ``s_r``: stops at ``r`` over lists reaching ``r``, with ``pseudo_count``; ``s_L = 1``."""
    L = d.outcomes.shape[1] - 1
    stops = (d.scored & (d.outcomes == 0)).sum(axis=0)[:L]
    at_risk = d.scored.sum(axis=0)[:L]
    return np.concatenate([(stops + pseudo_count) / (at_risk + 2 * pseudo_count), [1.0]])


def luce_weights(available: np.ndarray, chosen: np.ndarray, pseudo_count: float,
                 tolerance: float = 1e-12, max_iterations: int = 10_000) -> np.ndarray:
    """Maximum-likelihood weights of a Luce choice model (MM iteration, Hunter 2004).

    Maximises ``sum_e log(w_{c_e} / A_e . w)`` plus ``pseudo_count`` virtual
    choices of each category from among all ``K``.

    Args:
        available: ``(E, K)`` counts of available options of each category at each choice.
        chosen: int ``(E,)`` the category chosen at each choice (must be available).
        pseudo_count: ``a > 0``.

    Returns:
        ``(K,)`` weights summing to 1.
    """
    available = np.asarray(available, np.float64)
    E, K = available.shape
    if pseudo_count <= 0:
        raise ValueError(f"pseudo_count must be positive (it keeps every weight finite), got {pseudo_count!r}.")
    if E and (available[np.arange(E), chosen] <= 0).any():
        raise ValueError("a chosen category was not available at its choice.")
    counts = np.bincount(chosen, minlength=K).astype(np.float64) + pseudo_count
    w = np.full(K, 1.0 / K)
    for _ in range(max_iterations):
        denominator = available.T @ (1.0 / (available @ w)) + pseudo_count * K / w.sum()
        new = counts / denominator
        new /= new.sum()
        if np.max(np.abs(new - w) / new) < tolerance:
            return new
        w = new
    return w


def luce_objective(w: np.ndarray, available: np.ndarray, chosen: np.ndarray, pseudo_count: float) -> float:
    """The objective :func:`luce_weights` maximises (for checking it)."""
    w = np.asarray(w, np.float64)
    K = w.shape[0]
    data = np.sum(np.log(w[chosen])) - np.sum(np.log(available @ w))
    return float(data + pseudo_count * (np.sum(np.log(w)) - K * np.log(w.sum())))


@dataclass(frozen=True, eq=False)
class _LuceBaseline:
    """Shared likelihood of the baselines; subclasses say how the weights depend on the state."""

    list_length: int
    stop: np.ndarray
    """``(L + 1,)`` ``P(stop | r recalled)``."""

    def weight_table(self) -> np.ndarray:
        """``(L + 1, L)``: row 0 = item weights before any recall, row ``p`` = after recalling item ``p``."""
        raise NotImplementedError

    def _check(self, list_length) -> int:
        if list_length != self.list_length:
            raise ValueError(
                f"this baseline was fitted to lists of {self.list_length} items, got list_length={list_length!r}; "
                "fit it to lists of that length.")
        return self.list_length

    def decision_log_probabilities(self, recalls, list_length: int) -> np.ndarray:
        """``(n_trials, L + 1)`` ``log P`` of each decision (0 after the list's stop)."""
        return self._decision_log_probabilities(decisions(recalls, self._check(list_length)))

    def _decision_log_probabilities(self, d: Decisions) -> np.ndarray:
        L = self.list_length
        weights = self.weight_table()[d.previous] * d.available  # (n, L + 1, L)
        total = weights.sum(axis=-1)
        r = np.arange(L + 1)[None, :]
        item = d.outcomes > 0
        chosen = np.take_along_axis(weights, np.maximum(d.outcomes - 1, 0)[..., None], axis=-1)[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_item = np.log1p(-self.stop[np.minimum(r, L)]) + np.log(chosen) - np.log(total)
            log_stop = np.log(self.stop[np.minimum(r, L)])
        return np.where(d.scored, np.where(item, log_item, log_stop), 0.0)

    def trial_log_likelihoods(self, recalls, list_length: int) -> np.ndarray:
        """``(n_trials,)`` log-likelihood of each list (``cmrlab.log_likelihood``'s conventions)."""
        L = self._check(list_length)
        return self._decision_log_probabilities(decisions(recalls, L)).sum(axis=1)

    def log_likelihood(self, recalls, list_length: int) -> float:
        """Total log-likelihood of a recall matrix: intrusions and repeats removed, a scored stop per list."""
        return float(self.trial_log_likelihoods(recalls, list_length).sum())

    def outcome_probabilities(self, recalled, list_length: int) -> np.ndarray:
        """``(L + 1,)`` probabilities of the next outcome after the recalls ``recalled`` (in order)."""
        L = self._check(list_length)
        recalled = [int(i) for i in np.asarray(recalled).reshape(-1)]
        if any(not 1 <= i <= L for i in recalled) or len(set(recalled)) != len(recalled):
            raise ValueError(f"recalled must hold distinct items 1..{L}, got {recalled}.")
        r = len(recalled)
        available = np.ones(L, bool)
        available[[i - 1 for i in recalled]] = False
        weights = self.weight_table()[recalled[-1] if recalled else 0] * available
        out = np.zeros(L + 1)
        out[0] = self.stop[r]
        if r < L:
            out[1:] = (1 - self.stop[r]) * weights / weights.sum()
        return out

    def simulate(self, seed, list_length: int, n_trials: int) -> np.ndarray:
        """``(n_trials, L)`` sampled recall matrix (NumPy ``Generator`` from ``seed``), 0-padded."""
        L = self._check(list_length)
        rng = np.random.default_rng(seed)
        out = np.zeros((n_trials, L), np.int64)
        table = self.weight_table()
        for trial in range(n_trials):
            available = np.ones(L, bool)
            previous = 0
            for r in range(L):
                if rng.random() < self.stop[r]:
                    break
                weights = table[previous] * available
                previous = int(rng.choice(L, p=weights / weights.sum())) + 1
                available[previous - 1] = False
                out[trial, r] = previous
        return out


def _check_fit_arguments(list_length, pseudo_count):
    if isinstance(list_length, bool) or not isinstance(list_length, (int, np.integer)) or list_length < 1:
        raise ValueError(f"list_length must be a positive int, got {list_length!r}.")
    if not pseudo_count > 0:
        raise ValueError(f"pseudo_count must be positive, got {pseudo_count!r}.")


@dataclass(frozen=True, eq=False)
class SerialPositionBaseline(_LuceBaseline):
    """Serial position only: ``P(item i) ∝ w_i`` among the available items, at every output.

    Attributes:
        item_weights: ``(L,)`` ``w_i`` (sum 1).
        stop: ``(L + 1,)`` ``P(stop | r recalled)``.
    """

    item_weights: np.ndarray = None

    @classmethod
    def fit(cls, recalls, list_length: int, *, pseudo_count: float = 1.0) -> "SerialPositionBaseline":
        """Maximum-likelihood fit to a recall matrix (see the module docstring)."""
        _check_fit_arguments(list_length, pseudo_count)
        d = decisions(recalls, list_length)
        choice = d.scored & (d.outcomes > 0)
        weights = luce_weights(d.available[choice].astype(np.float64), d.outcomes[choice] - 1, pseudo_count)
        return cls(int(list_length), stop_probabilities(d, pseudo_count), weights)

    def weight_table(self) -> np.ndarray:
        return np.tile(self.item_weights, (self.list_length + 1, 1))


@dataclass(frozen=True, eq=False)
class LagCRPBaseline(_LuceBaseline):
    """A lag-CRP Markov chain: the next item depends on its lag from the last one recalled.

    Attributes:
        first_weights: ``(L,)`` ``f_i`` of the first recall (sum 1; its MLE is the PFR).
        lag_weights: ``(2L - 1,)`` ``g_lag`` for lags ``-(L-1) .. L-1`` (sum 1; lag 0 never chosen).
        stop: ``(L + 1,)`` ``P(stop | r recalled)``.
    """

    first_weights: np.ndarray = None
    lag_weights: np.ndarray = None

    @classmethod
    def fit(cls, recalls, list_length: int, *, pseudo_count: float = 1.0) -> "LagCRPBaseline":
        """Maximum-likelihood fit to a recall matrix (see the module docstring)."""
        _check_fit_arguments(list_length, pseudo_count)
        L = int(list_length)
        d = decisions(recalls, L)
        choice = d.scored & (d.outcomes > 0)
        first = choice[:, 0]
        first_weights = luce_weights(d.available[first, 0].astype(np.float64), d.outcomes[first, 0] - 1,
                                     pseudo_count)
        later = choice.copy()
        later[:, 0] = False
        previous = d.previous[later]  # (E,)
        available = d.available[later]  # (E, L): by item
        # by lag: category k = item - previous + L - 1
        items = np.arange(1, L + 1)[None, :]
        category = items - previous[:, None] + L - 1  # (E, L) in 0 .. 2L - 2
        by_lag = np.zeros((previous.shape[0], 2 * L - 1))
        np.put_along_axis(by_lag, category, available.astype(np.float64), axis=1)
        lag_weights = luce_weights(by_lag, d.outcomes[later] - previous + L - 1, pseudo_count)
        return cls(L, stop_probabilities(d, pseudo_count), first_weights, lag_weights)

    def weight_table(self) -> np.ndarray:
        L = self.list_length
        lags = np.arange(1, L + 1)[None, :] - np.arange(1, L + 1)[:, None]  # [p - 1, i - 1] = i - p
        return np.concatenate([self.first_weights[None, :], self.lag_weights[lags + L - 1]], axis=0)
