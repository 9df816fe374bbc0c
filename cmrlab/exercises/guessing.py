"""Parameter-guessing exercises (notebook 03): find a value that produces an effect.

Each ``check_*`` function takes a student's parameter value, simulates what
it implies, and returns a message saying whether the answer works and, if
not, a hint. They never reveal a value; any answer that meets the goal passes.
"""

from __future__ import annotations

import jax
import numpy as np

from cmrlab.analysis import summarize
from cmrlab.parameters import DEFAULT_PARAMETERS, PARAMETER_TABLE
from cmrlab.simulation import simulate

_SEED = 2024  # the key is made on use: importing cmrlab must not start JAX (jax.distributed.initialize)


def _curves(parameters, list_length=16, n_lists=2000):
    recalls = simulate(jax.random.PRNGKey(_SEED), {**DEFAULT_PARAMETERS, **parameters}, list_length, n_lists)
    return summarize(recalls, list_length)


def _in_bounds(name, value) -> str | None:
    spec = PARAMETER_TABLE[name]
    if value is None:
        return f"Not answered yet: set the value of {name} and run the cell again."
    if not isinstance(value, (int, float)) or not spec.lower <= value <= spec.upper:
        return f"{name} must be a number in [{spec.lower:.2g}, {spec.upper:g}]; got {value!r}."
    return None


def check_no_primacy(primacy_scale) -> str:
    """Goal: a ``primacy_scale`` at which position 1 is recalled *less* often than position 8."""
    problem = _in_bounds("primacy_scale", primacy_scale)
    if problem:
        return problem
    curve = np.asarray(_curves({"primacy_scale": primacy_scale}).spc)
    if curve[0] < curve[7]:
        return f"Correct: P(recall position 1) = {curve[0]:.2f} < P(position 8) = {curve[7]:.2f}."
    return (f"Not yet: position 1 is recalled with P = {curve[0]:.2f}, position 8 with {curve[7]:.2f}. "
            "Hint: primacy_scale sets how much extra M^CF learning the first items get.")


def check_no_contiguity(encoding_drift_rate) -> str:
    """Goal: an ``encoding_drift_rate`` at which the lag-CRP is flat.

    Flat means lag +1 within 0.03 of lag +4, and lag -1 within 0.03 of lag -4.
    """
    problem = _in_bounds("encoding_drift_rate", encoding_drift_rate)
    if problem:
        return problem
    crp = np.asarray(_curves({"encoding_drift_rate": encoding_drift_rate}).lag_crp)
    plus1, plus4, minus1, minus4 = crp[16], crp[19], crp[14], crp[11]
    report = f"lag +1 = {plus1:.2f}, +4 = {plus4:.2f}, -1 = {minus1:.2f}, -4 = {minus4:.2f}"
    if abs(plus1 - plus4) < 0.03 and abs(minus1 - minus4) < 0.03:
        return f"Correct: the lag-CRP is flat ({report})."
    return (f"Not yet: {report}. Hint: neighbours are recalled together because they were studied in "
            "similar contexts; what if each new item replaced the context completely?")


def check_recall_count(stop_probability_scale, target: float = 4.0) -> str:
    """Goal: a ``stop_probability_scale`` giving about ``target`` recalls per 16-item list (within 0.5)."""
    problem = _in_bounds("stop_probability_scale", stop_probability_scale)
    if problem:
        return problem
    mean = float(_curves({"stop_probability_scale": stop_probability_scale}).mean_recalls)
    if abs(mean - target) <= 0.5:
        return f"Correct: {mean:.2f} recalls per list."
    direction = "raise" if mean > target else "lower"
    return f"Not yet: {mean:.2f} recalls per list; {direction} the stop probability."

