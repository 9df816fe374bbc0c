"""Exercise: the study phase (the context and the two association matrices after a list)."""

from __future__ import annotations

from functools import partial

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
from cmrlab.model import initial_state, study_list
from cmrlab.parameters import DEFAULT_PARAMETERS, EPS, as_parameters, pack, unpack

ARGUMENTS = ("list_length", "parameters")
PARTS = ("context", "mfc", "mcf")


@partial(jax.jit, static_argnames="list_length")
def _studied(packed, list_length: int):
    params = unpack(packed)
    state = study_list(initial_state(list_length, params), params, jnp.arange(1, list_length + 1))
    return state.context, state.mfc, state.mcf


def studied(list_length: int, parameters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cmrlab's ``(context, M^FC, M^CF)`` after studying items ``1..L`` in order, as float64 NumPy."""
    parts = _studied(pack(as_parameters(parameters)), int(list_length))
    return tuple(np.asarray(x, np.float64) for x in parts)


def check_study(fn, *, seed: int = 0, n_random: int = 8, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(list_length, parameters) -> (context, mfc, mcf)`` against cmrlab's study phase.

    The function to write (``docs/model.md``, "Before study" and "Study"):
    start from ``c = e_0``, ``M^FC[i-1, i] = 1 - gamma`` (0 elsewhere),
    ``M^CF[0, :] = 0`` and ``M^CF[j, i] = item_support`` if ``j == i`` else
    ``shared_support``; then for each item ``i = 1..L`` at serial position
    ``k = 0..L-1``:

    .. code-block:: text

        c           = integrate(c, M^FC[i], beta_enc)
        M^FC[i]    += gamma * c                  (row of item i)
        phi_k       = phi_s * exp(-phi_d * k) + 1
        M^CF[:, i] += phi_k * c                  (column of item i)

    Args:
        fn: the student's function; ``list_length`` is an int ``L``,
            ``parameters`` a dict of the 11 CMR parameters (see
            :data:`cmrlab.DEFAULT_PARAMETERS`). It returns a tuple
            ``(context, mfc, mcf)`` of arrays of shapes ``(L + 1,)``,
            ``(L, L + 1)`` and ``(L + 1, L)``.
        seed, n_random: the random cases after the edge cases.
        time_limit: seconds for all calls of ``fn`` together.
    """
    return run_check(
        "check_study", fn, _cases(seed, n_random), ARGUMENTS,
        convert=_convert, compare=_compare, mistakes=MISTAKES, general_hint=_general_hint,
        time_limit=time_limit, show_value=_show_value,
        nan_hint="NaN comes from 0 / 0 or the square root of a negative number in the context update.",
    )


def _parameters(**changes) -> dict[str, float]:
    return {**DEFAULT_PARAMETERS, **changes}


def _cases(seed: int, n_random: int) -> list[Case]:
    edge = [
        ("a list of one item, default parameters", 1, _parameters()),
        ("4 items, default parameters", 4, _parameters()),
        ("encoding drift rate 1 (each item's context replaces the last)", 4, _parameters(encoding_drift_rate=1.0)),
        ("no primacy gradient (primacy_scale = eps)", 4, _parameters(primacy_scale=EPS)),
        ("a steep primacy gradient (only the first item gets a boost)", 4,
         _parameters(primacy_scale=10.0, primacy_decay=5.0)),
        ("a large learning rate and no shared support", 4,
         _parameters(learning_rate=0.9, shared_support=EPS)),
    ]
    cases = [Case(f"edge case: {label}", (L, p), studied(L, p), edge=True) for label, L, p in edge]
    rng = np.random.default_rng(seed)
    for index in range(n_random):
        L = int(rng.choice([4, 7]))  # few list lengths: each compiles the reference once
        p = _parameters(
            encoding_drift_rate=_pick(rng, 0.1, 0.95), learning_rate=_pick(rng, 0.05, 0.9),
            shared_support=_pick(rng, 0.01, 2.0), item_support=_pick(rng, 0.5, 5.0),
            primacy_scale=_pick(rng, 0.0, 10.0), primacy_decay=_pick(rng, 0.1, 3.0),
        )
        cases.append(Case(f"random case {index + 1} ({L} items, random parameters)", (L, p), studied(L, p)))
    return cases


def _pick(rng, low, high) -> float:
    return float(np.round(rng.uniform(low, high), 3))


def _convert(value, case: Case):
    L = case.args[0]
    shapes = {"context": (L + 1,), "mfc": (L, L + 1), "mcf": (L + 1, L)}
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        kind = f"a {type(value).__name__}" + (f" of {len(value)} items" if isinstance(value, (tuple, list)) else "")
        raise StudentProblem(f"Your answer is {kind}; expected three arrays: return context, mfc, mcf.",
                             "End the function with `return context, mfc, mcf`.")
    parts = []
    for name, part in zip(PARTS, value):
        try:
            parts.append(as_float_array(part, shapes[name], f"the {name} you returned"))
        except StudentProblem as problem:
            if np.shape(part) == shapes["mcf" if name == "mfc" else "mfc"] and name != "context":
                problem.hint = (f"M^FC has one row per item, shape (L, L + 1) = {shapes['mfc']}; M^CF one column per "
                                f"item, shape (L + 1, L) = {shapes['mcf']}. Return them in the order context, mfc, mcf.")
            raise
    return tuple(parts)


def _compare(got, expected) -> bool:
    return all(close(g, e, rtol=1e-4, atol=1e-5) for g, e in zip(got, expected))


def _show_value(value, case) -> str:
    names = {"context": "context", "mfc": "M^FC", "mcf": "M^CF"}
    return "\n".join(f"{names[n]}:\n{format_value(np.asarray(v))}" for n, v in zip(PARTS, value))


def _general_hint(case: Case, got) -> str:
    for name, g, e in zip(("the context", "M^FC", "M^CF"), got, case.expected):
        if not close(g, e, rtol=1e-4, atol=1e-5):
            index = np.unravel_index(np.argmax(np.abs(g - e)), e.shape)
            where = f"entry {tuple(int(i) for i in index)}" if e.ndim > 1 else f"entry {int(index[0])}"
            return (f"{name} differs most at {where} (expected {e[index]:.4f}, got {g[index]:.4f}). "
                    "Check the initial state, then one study step at a time (a list of one item first).")
    return "Check the initial state, then one study step at a time."


def _wrong(**mistake):
    def study(list_length, parameters):
        return _wrong_cmr.study(list_length, parameters, **mistake)
    return study


MISTAKES = (
    Mistake("Learning uses the context after the update: first c = integrate(c, M^FC[i], beta_enc), "
            "then add gamma c to M^FC and phi_k c to M^CF with that new c.", _wrong(learn_before_update=True)),
    Mistake("The primacy gradient starts at k = 0 for the first item: phi_0 = phi_s + 1.",
            _wrong(primacy_from_one=True)),
    Mistake("phi_k = phi_s exp(-phi_d k) + 1: the + 1 is missing (every item gets at least weight 1).",
            _wrong(primacy_without_one=True)),
    Mistake("M^FC learns gamma c, not c: multiply the context by the learning rate.",
            _wrong(mfc_learning_without_rate=True)),
    Mistake("Before study M^FC[i - 1, i] = 1 - gamma (the item's own context unit), not 1.",
            _wrong(mfc_start_identity=True)),
    Mistake("Row 0 of M^CF (the start-of-list unit) starts at 0: shared support only links item units.",
            _wrong(mcf_start_row=True)),
    Mistake("Before study M^CF[j, i] = shared_support for j != i (j, i items), item_support on the "
            "diagonal: the shared support is missing.", _wrong(mcf_no_shared_support=True)),
)
