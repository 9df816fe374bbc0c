"""Exercise: the context update (context integration with its rho)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.exercises.harness import (
    DEFAULT_TIME_LIMIT,
    Case,
    CheckResult,
    Mistake,
    as_float_array,
    close,
    run_check,
)
from cmrlab.model import integrate

_integrate = jax.jit(integrate)
from cmrlab.parameters import EPS

ARGUMENTS = ("context", "context_input", "drift_rate")


def check_context_update(fn, *, seed: int = 0, n_random: int = 16,
                         time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(context, context_input, drift_rate) -> new context`` against cmrlab's.

    The function to write (``docs/model.md``, "Drifting context"):

    .. code-block:: text

        c_in  = norm(c_in)                       norm(v) = v / sqrt(sum(v^2) + eps)
        d     = c . c_in                         (a scalar)
        rho   = sqrt(1 + beta^2 (d^2 - 1)) - beta d
        c_new = norm(rho c + beta c_in)

    Args:
        fn: the student's function; ``context`` and ``context_input`` are 1-D
            float arrays of the same length, ``drift_rate`` a float in
            ``[0, 1]``; it returns the new context, a 1-D array of that length
            (NumPy or jax.numpy).
        seed: seed of the random cases (the edge cases are fixed).
        n_random: number of random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.

    Returns:
        A :class:`~cmrlab.exercises.CheckResult`: ``.passed``, and a message
        naming the first failing case with a hint.
    """
    cases = _cases(seed, n_random)
    return run_check(
        "check_context_update", fn, cases, ARGUMENTS,
        convert=_convert, compare=lambda got, expected: close(got, expected, rtol=1e-5, atol=1e-5),
        mistakes=MISTAKES, general_hint=_general_hint, time_limit=time_limit,
        nan_hint=("NaN comes from the square root of a negative number or from 0 / 0: normalise the "
                  "input before computing d (then -1 <= d <= 1 and 1 + beta^2 (d^2 - 1) >= 0)."),
    )


def reference_update(context, context_input, drift_rate) -> np.ndarray:
    """cmrlab's context update (:func:`cmrlab.model.integrate`), as float64 NumPy."""
    new = _integrate(jnp.asarray(context, jnp.float32), jnp.asarray(context_input, jnp.float32),
                    jnp.float32(drift_rate))
    return np.asarray(new, np.float64)


def _case(label, context, context_input, drift_rate, edge=False) -> Case:
    context = np.asarray(context, np.float64)
    context_input = np.asarray(context_input, np.float64)
    args = (context, context_input, float(drift_rate))
    return Case(label, args, reference_update(*args), edge=edge)


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _cases(seed: int, n_random: int) -> list[Case]:
    c = _unit([0.2, 0.1, 0.5, 0.8, 0.3])
    c_in = np.array([0.0, 0.3, 0.1, 0.2, 0.9])
    e0, e1 = np.eye(5)[0], np.eye(5)[1]
    orthogonal = e1 - (c @ e1) * c
    cases = [
        _case("edge case: drift rate 0 (the context does not move)", c, c_in, 0.0, True),
        _case("edge case: drift rate 1 (the new context is the normalised input)", c, c_in, 1.0, True),
        _case("edge case: input parallel to the context (same direction, length 2)", c, 2 * c, 0.5, True),
        _case("edge case: input opposite to the context", c, -c, 0.5, True),
        _case("edge case: input orthogonal to the context", c, orthogonal / np.linalg.norm(orthogonal), 0.6, True),
        _case("edge case: input not of unit length (length 3)", c, 3 * _unit(c_in), 0.4, True),
        _case("edge case: drift rate 1, input pointing away from the context (negative dot product)",
              c, -c_in + 0.1 * e0, 1.0, True),
        _case("edge case: the first study step (context = start unit, input = 0.85 times item 1's unit)",
              e0, 0.85 * e1, 0.46, True),
    ]
    rng = np.random.default_rng(seed)
    for index in range(n_random):
        size = int(rng.choice([5, 8]))  # few shapes: each compiles the reference once
        context = _unit(np.abs(rng.normal(size=size)) + 0.01)
        context_input = rng.normal(size=size) * rng.uniform(0.3, 3.0)
        beta = float(np.round(rng.uniform(0.05, 0.95), 3))
        cases.append(_case(f"random case {index + 1} ({size} context units, drift rate {beta})",
                           context, context_input, beta))
    return cases


def _convert(value, case: Case) -> np.ndarray:
    return as_float_array(value, case.expected.shape, "your answer")


def _general_hint(case: Case, got: np.ndarray) -> str:
    length = float(np.linalg.norm(got))
    if abs(length - 1) > 1e-3:
        return (f"The new context should have unit length, but yours has length {length:.4f}: "
                "normalise rho c + beta c_in at the end.")
    return ("Your answer has unit length but points elsewhere. Follow the equations step by step on "
            "this case: normalise the input, d = c . c_in, rho, then norm(rho c + beta c_in).")


# ----------------------------------------------------------------------------- classic mistakes


def _norm(v):
    return v / np.sqrt(np.sum(v * v) + EPS)


def _rho(d, beta):
    return np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d


def _linear(c, c_in, beta):
    return (1 - beta) * c + beta * c_in


def _linear_normalised(c, c_in, beta):
    return _norm((1 - beta) * c + beta * _norm(c_in))


def _input_not_normalised(c, c_in, beta):
    return _norm(_rho(c @ c_in, beta) * c + beta * c_in)


def _rho_sign(c, c_in, beta):
    c_in = _norm(c_in)
    d = c @ c_in
    return _norm((np.sqrt(1 + beta**2 * (d**2 - 1)) + beta * d) * c + beta * c_in)


def _elementwise_d(c, c_in, beta):
    c_in = _norm(c_in)
    return _norm(_rho(c * c_in, beta) * c + beta * c_in)


def _swapped(c, c_in, beta):
    c_in = _norm(c_in)
    return _norm(beta * c + _rho(c @ c_in, beta) * c_in)


def _drift_ignored(c, c_in, beta):
    return _norm(c_in)


def _no_change(c, c_in, beta):
    return c


MISTAKES = (
    Mistake("Your answer equals a linear drift (1 - beta) c + beta c_in. CMR keeps the context at unit "
            "length instead: the old context is weighted by rho (which depends on d = c . c_in), not "
            "by 1 - beta, and the input is normalised first.", _linear),
    Mistake("Your answer equals a normalised linear drift norm((1 - beta) c + beta c_in). The weight on "
            "the old context is rho = sqrt(1 + beta^2 (d^2 - 1)) - beta d, not 1 - beta.", _linear_normalised),
    Mistake("The input is not normalised: divide c_in by its length, sqrt(sum(c_in^2) + eps), "
            "before computing d and the new context.", _input_not_normalised),
    Mistake("Check the sign in rho: it is sqrt(1 + beta^2 (d^2 - 1)) MINUS beta d.", _rho_sign),
    Mistake("d must be one number, the dot product c . c_in (np.dot or @), not the element-wise "
            "product c * c_in.", _elementwise_d),
    Mistake("rho weighs the old context and beta the input (rho c + beta c_in), not the other way round.",
            _swapped),
    Mistake("Your answer is the normalised input whatever the drift rate: beta and rho are not used.",
            _drift_ignored),
    Mistake("Your answer is the old context unchanged: the context never moves toward the input.", _no_change),
)
