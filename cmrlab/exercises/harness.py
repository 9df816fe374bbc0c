"""Running a student's function against cmrlab's answers, safely, and saying what went wrong.

Every ``check_*`` builds a list of :class:`Case` (edge cases first, then
random ones from a fixed seed), each holding the arguments and cmrlab's own
answer, and hands them to :func:`run_check` with a few :class:`Mistake` (a
classic wrong version of the same function and the hint that goes with it).
:func:`run_check` calls the student's function on copies of the arguments,
under a time limit, and turns whatever happens into a :class:`CheckResult`:

* it raised ``NotImplementedError``: not answered yet (the student's own message);
* it raised anything else: which exception, on which case, from which line;
* it ran past the time limit: stopped, with a message (see :func:`call_with_time_limit`);
* it changed an input array in place: named;
* it returned the wrong type (a list, a tuple, a number, ``None``), shape,
  dtype, or NaN where a number was expected: said so;
* it returned a different answer: the first failing case, expected against
  got, and a hint. The hint comes from running the classic mistakes on the
  failing cases: if the student's answers equal one mistake's, its hint is
  given; otherwise a general hint for the piece.

Nothing here prints solution code: expected values come from cmrlab's own
implementation, and hints name mistakes in words.
"""

from __future__ import annotations

import copy
import html
import inspect
import os
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

import cmrlab

_CMRLAB_DIR = os.path.dirname(os.path.abspath(cmrlab.__file__))

DEFAULT_TIME_LIMIT = 30.0
"""Seconds a check lets the student's function run, summed over all its cases (generous: a
function written with jax.numpy compiles each operation on first use)."""


# ----------------------------------------------------------------------------- results


@dataclass
class CheckResult:
    """What a check found. ``passed`` says it all; ``str()`` and the notebook display explain.

    Attributes:
        name: the check (e.g. ``"check_context_update"``).
        passed: ``True`` when every case gave cmrlab's answer.
        n_cases: cases run (edge cases first, then random ones).
        n_edge: how many of them were edge cases.
        case: the first failing case, in words (``None`` when passed).
        inputs: the failing case's arguments, formatted.
        expected, got: cmrlab's answer and the student's, formatted.
        problem: one sentence saying what went wrong.
        hint: the likely mistake and how to fix it.
        notes: anything else worth knowing (e.g. skipped cases).
    """

    name: str
    passed: bool
    n_cases: int = 0
    n_edge: int = 0
    case: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    expected: str | None = None
    got: str | None = None
    problem: str | None = None
    hint: str | None = None
    notes: list[str] = field(default_factory=list)
    other_cases: str = "random"

    def _headline(self) -> str:
        if self.passed:
            others = self.n_cases - self.n_edge
            return (f"{self.name}: passed all {self.n_cases} cases "
                    f"({self.n_edge} edge cases, {others} {self.other_cases}).")
        return f"{self.name}: not yet. {self.problem}"

    def _details(self) -> list[tuple[str, str]]:
        rows = list(self.inputs.items())
        if self.expected is not None:
            rows.append(("expected", self.expected))
        if self.got is not None:
            rows.append(("got", self.got))
        return rows

    def __str__(self) -> str:
        lines = [self._headline()]
        if self.case:
            lines.append(f"Failing case: {self.case}")
        rows = self._details()
        if rows:
            width = max(len(k) for k, _ in rows)
            for key, value in rows:
                pad = " " * (width + 5)
                lines.append(f"  {key:<{width}} = " + value.replace("\n", "\n" + pad))
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        lines.extend(self.notes)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.passed else "❌"
        parts = [f"{mark} **{html.escape(self._headline())}**"]
        if self.case:
            parts.append(f"Failing case: {html.escape(self.case)}")
        rows = self._details()
        if rows:
            width = max(len(k) for k, _ in rows)
            block = []
            for key, value in rows:
                pad = " " * (width + 3)
                block.append(f"{key:<{width}} = " + value.replace("\n", "\n" + pad))
            parts.append("```text\n" + "\n".join(block) + "\n```")
        if self.hint:
            parts.append(f"**Hint:** {html.escape(self.hint)}")
        parts.extend(html.escape(n) for n in self.notes)
        return "\n\n".join(parts)


# ----------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One call of the student's function and cmrlab's answer to it.

    Attributes:
        label: the case in words ("edge case: drift rate 0").
        args: the arguments, in order (copied before each call).
        expected: cmrlab's answer, already in the form :func:`run_check` compares.
        edge: whether this is an edge case (counted separately in the result).
    """

    label: str
    args: tuple
    expected: Any
    edge: bool = False


@dataclass(frozen=True)
class Mistake:
    """A classic wrong version of the student's function and the hint that names it."""

    hint: str
    function: Callable


class StudentProblem(Exception):
    """The student's output cannot be compared: wrong type, shape, NaN...

    Attributes:
        message: what is wrong, in one sentence.
        hint: how to fix it (optional).
        value: the student's answer converted as far as it went, for display (optional).
    """

    def __init__(self, message: str, hint: str | None = None, value: Any = None):
        message = message[:1].upper() + message[1:]
        super().__init__(message)
        self.message, self.hint, self.value = message, hint, value


class _TimeLimit(BaseException):
    """Raised into the student's code when its time is up (a BaseException: ``except Exception`` won't catch it)."""


class TimeLimitExceeded(Exception):
    """The student's function did not return in time; ``stopped`` says whether it was interrupted."""

    def __init__(self, seconds: float, stopped: bool):
        super().__init__(f"did not return within {seconds:.3g} s")
        self.seconds, self.stopped = seconds, stopped


# ----------------------------------------------------------------------------- calling student code


def call_with_time_limit(fn: Callable, args: Sequence, seconds: float):
    """Call ``fn(*args)``, stopping it after ``seconds``.

    On the main thread (where notebook kernels run cells) a ``SIGALRM`` timer
    raises an exception inside the running function, which stops it (a
    Python loop is interrupted at once; a single long NumPy or XLA call only
    when it returns to Python). Signals cannot be used off the main thread (or
    on Windows): there the call runs in a daemon thread and is abandoned after
    ``seconds``. A thread cannot be killed, so the abandoned call keeps
    running in the background until it ends by itself (restart the kernel to
    stop it); the check still returns at once with its message.

    Raises:
        TimeLimitExceeded: the time ran out (``stopped`` says whether the call
            was interrupted or left running).
    """
    if seconds <= 0:
        raise TimeLimitExceeded(0.0, stopped=True)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _call_with_alarm(fn, args, seconds)
    return _call_in_thread(fn, args, seconds)


def _call_with_alarm(fn, args, seconds):
    def interrupt(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    except _TimeLimit:
        raise TimeLimitExceeded(seconds, stopped=True) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(fn, args, seconds):
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            box["error"] = error

    worker = threading.Thread(target=target, daemon=True, name="cmrlab-exercise-call")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeLimitExceeded(seconds, stopped=False)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _copy_args(args):
    return tuple(copy.deepcopy(a) for a in args)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an unexpected type: treat as changed
        return False


def _student_traceback(error: BaseException) -> str:
    """The frames of the student's own code (not cmrlab's, not library code) as short lines."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not os.path.abspath(f.filename).startswith(_CMRLAB_DIR)
              and "site-packages" not in f.filename and "/lib/python" not in f.filename]
    return "\n".join(f"line {f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames[-3:])


def describe_function(fn) -> str:
    name = getattr(fn, "__name__", None)
    return name if name and name.isidentifier() else "my_function"


def check_callable(fn, arg_names: Sequence[str], check_name: str) -> str | None:
    """A message if ``fn`` is not a function taking ``len(arg_names)`` positional arguments."""
    if not callable(fn):
        return (f"{check_name} needs your function itself, but got a {type(fn).__name__} "
                f"({_short_repr(fn)}). Pass the function's name without calling it: "
                f"{check_name}(my_function), not {check_name}(my_function(...)).")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # builtins and some wrappers have no signature: just call it
    try:
        signature.bind(*arg_names)
    except TypeError:
        params = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = ", ".join(p.name for p in params) or "no arguments"
        return (f"{check_name} calls your function with {len(arg_names)} arguments "
                f"({', '.join(arg_names)}), but yours takes {len(params)} ({names}). "
                f"Write it as def {describe_function(fn)}({', '.join(arg_names)}): ...")
    return None


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- outputs


def as_float_array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Convert a NumPy or JAX array answer to float64, or raise :class:`StudentProblem` saying what is wrong."""
    kind = _reject_non_arrays(value, f"an array of shape {shape}", what)
    array = np.asarray(value)
    if array.dtype.kind not in "fiu" or kind == "bool":
        raise StudentProblem(f"{what} has dtype {array.dtype}; expected numbers (floats).")
    if array.shape != shape:
        raise StudentProblem(f"{what} has shape {array.shape}; expected shape {shape}.")
    return array.astype(np.float64)


def as_int_array(value, what: str) -> np.ndarray:
    """A 2-D integer array answer (a recall matrix), or :class:`StudentProblem`."""
    _reject_non_arrays(value, "a 2-D integer array", what)
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise StudentProblem(
            f"{what} has dtype {array.dtype}; a recall matrix holds integers "
            "(serial positions, 0 padding, -1 intrusions).",
            "Build it with dtype=int, e.g. np.zeros((n_lists, width), dtype=int).")
    if array.ndim != 2:
        raise StudentProblem(f"{what} has shape {array.shape}; expected 2-D (n_lists, max_recalls).")
    return array.astype(np.int64)


def as_scalar(value, what: str) -> float:
    """A single number (Python, NumPy or JAX scalar, or 0-d array), or :class:`StudentProblem`."""
    if value is None:
        raise StudentProblem(f"{what} is None: did you forget to return the result?")
    if isinstance(value, (list, tuple)):
        raise StudentProblem(f"{what} is a {type(value).__name__} of length {len(value)}; expected a single number.")
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        raise StudentProblem(f"{what} is a {type(value).__name__}; expected a single number.") from None
    if array.dtype.kind not in "fiu":
        raise StudentProblem(f"{what} is {_short_repr(value)} (dtype {array.dtype}); expected a single number.")
    if array.shape != ():
        raise StudentProblem(f"{what} is an array of shape {array.shape}; expected a single number "
                             "(use float(...) or sum the terms).")
    return float(array)


def _reject_non_arrays(value, wanted: str, what: str) -> str:
    if value is None:
        raise StudentProblem(f"{what} is None: did you forget to return the result?")
    if isinstance(value, tuple):
        raise StudentProblem(
            f"{what} is a tuple of {len(value)} items; expected {wanted}. "
            "Did you write `return a, b`? Return one array.")
    if isinstance(value, list):
        raise StudentProblem(f"{what} is a list; expected {wanted}. Return a NumPy array: np.array(...).")
    if isinstance(value, (bool, int, float, complex, np.generic)):
        raise StudentProblem(f"{what} is a single number ({_short_repr(value)}); expected {wanted}.")
    if not hasattr(value, "__array__") or isinstance(value, (str, bytes, dict)):
        raise StudentProblem(f"{what} is a {type(value).__name__}; expected {wanted} (NumPy or jax.numpy).")
    array = np.asarray(value)
    if array.ndim == 0:
        raise StudentProblem(f"{what} is a single number ({_short_repr(array.item())}); expected {wanted}.")
    return "bool" if array.dtype == bool else array.dtype.kind


def close(got, expected, rtol: float, atol: float) -> bool:
    """Equal within tolerance, NaN where (and only where) the other is NaN."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))


def nan_problem(got: np.ndarray, expected: np.ndarray, what: str, labels=None) -> StudentProblem | None:
    """A message if ``got`` is NaN or infinite where ``expected`` is a number."""
    expected = np.asarray(expected, np.float64)
    for bad, word in ((np.isnan(got) & ~np.isnan(expected), "NaN"),
                      (np.isinf(got) & np.isfinite(expected), "infinite")):
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            where = labels(index) if labels else f"index {index[0] if len(index) == 1 else index}"
            return StudentProblem(f"{what} is {word} at {where}, where a number was expected.", value=got)
    return None


def format_value(value) -> str:
    """Arrays compactly (4 decimals), everything else with repr."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return np.array2string(value, precision=4, suppress_small=True, max_line_width=88, threshold=400)
        return np.array2string(value, max_line_width=88, threshold=400)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v!r}"
                               for k, v in value.items()) + "}"
    return repr(value)


# ----------------------------------------------------------------------------- the loop


@dataclass
class _Outcome:
    ok: bool
    value: Any = None  # the converted answer, when it could be compared
    shown: Any = None  # what to display as "got"
    problem: str | None = None
    hint: str | None = None
    stop: bool = False  # nothing more to learn from other cases
    fallback: str | None = None  # the hint when no classic mistake matches


def run_check(
    name: str,
    fn: Callable,
    cases: Sequence[Case],
    arg_names: Sequence[str],
    *,
    convert: Callable[[Any, Case], Any],
    compare: Callable[[Any, Any], bool],
    mistakes: Sequence[Mistake] = (),
    general_hint: Callable[[Case, Any], str | None] | str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    show: Callable[[Case], dict[str, str]] | None = None,
    show_value: Callable[[Any, Case], str] = lambda v, case: format_value(v),
    notes: Sequence[str] = (),
    nan_hint: str | None = None,
    labels: Callable[[tuple, Case], str] | None = None,
    other_cases: str = "random",
) -> CheckResult:
    """Run ``fn`` on every case and compare with the expected answers.

    Args:
        name: the check's name, for messages.
        fn: the student's function.
        cases: edge cases first, then random ones.
        arg_names: the names of ``fn``'s arguments (for messages).
        convert: turns the student's return value into the form of
            ``case.expected``, raising :class:`StudentProblem` when it cannot.
        compare: ``compare(converted, expected)`` -> equal enough?
        mistakes: classic wrong versions, tried in order for a hint.
        general_hint: the hint when no mistake matches (a string, or a function
            of the failing case and the student's converted answer).
        time_limit: seconds for all the student's calls together.
        show: formats a case's inputs (default: every argument).
        show_value: formats an answer (expected or got).
        notes: extra lines for the result (e.g. skipped cases).
        other_cases: what the cases after the edge cases are, for the message.
        nan_hint: the hint when the answer is NaN (or infinite) where cmrlab's
            is a number and no classic mistake explains it.
        labels: names an index of the answer in messages (default "index i").
    """
    n_edge = sum(case.edge for case in cases)
    result = CheckResult(name=name, passed=False, n_cases=len(cases), n_edge=n_edge, notes=list(notes),
                         other_cases=other_cases)
    problem = check_callable(fn, arg_names, name)
    if problem:
        result.problem = problem
        return result
    if not cases:
        raise RuntimeError(f"{name} has no cases to run (a bug in cmrlab).")

    deadline = time.monotonic() + time_limit
    outcomes: list[_Outcome | None] = [None] * len(cases)
    first_failure = None
    for index, case in enumerate(cases):
        outcome = _run_case(fn, case, arg_names, convert, compare, deadline, time_limit, nan_hint, labels)
        outcomes[index] = outcome
        if not outcome.ok and first_failure is None:
            first_failure = index
        if outcome.stop:
            break
    if first_failure is None:
        result.passed = True
        return result

    case, outcome = cases[first_failure], outcomes[first_failure]
    result.case = f"case {first_failure + 1} of {len(cases)}, {case.label}"
    result.problem = outcome.problem
    if not outcome.stop:
        result.inputs = show(case) if show else {n: format_value(a) for n, a in zip(arg_names, case.args)}
        result.expected = show_value(case.expected, case)
        if outcome.shown is not None:
            result.got = show_value(outcome.shown, case)
    result.hint = outcome.hint
    if result.hint is None and outcome.value is not None:
        result.hint = _match_mistake(cases, outcomes, first_failure, mistakes, convert, compare)
    if result.hint is None:
        result.hint = outcome.fallback
    if result.hint is None and outcome.value is not None and general_hint is not None:
        result.hint = general_hint(case, outcome.value) if callable(general_hint) else general_hint
    return result


def _run_case(fn, case, arg_names, convert, compare, deadline, time_limit, nan_hint, labels) -> _Outcome:
    given = _copy_args(case.args)
    kept = _copy_args(case.args)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = call_with_time_limit(fn, given, deadline - time.monotonic())
    except TimeLimitExceeded as error:
        if error.stopped:
            message = (f"Your function did not return within the time limit ({time_limit:.3g} s for all cases), "
                       "so the check stopped it. Look for a loop that never ends (a while loop "
                       "whose condition never becomes false, or an index that is never increased).")
        else:
            message = (f"Your function did not return within the time limit ({time_limit:.3g} s for all cases). "
                       "The check ran off the main thread, where a running function cannot be "
                       "interrupted: it keeps running in the background until it ends (restart the "
                       "kernel to stop it). Look for a loop that never ends.")
        return _Outcome(ok=False, problem=message, stop=True)
    except NotImplementedError as error:
        text = str(error) or "(no message)"
        return _Outcome(ok=False, problem=f"Not answered yet: your function raises NotImplementedError: {text}",
                        hint="Replace the `raise NotImplementedError(...)` line with your code, "
                             "run the cell, then run the check again.", stop=True)
    except Exception as error:  # noqa: BLE001 - the student's error, reported as a message
        where = _student_traceback(error)
        message = f"Your function raised {type(error).__name__}: {error}"
        if where:
            message += f"\n  (at {where})"
        return _Outcome(ok=False, problem=message, hint=_exception_hint(error, arg_names))
    for arg_name, before, after in zip(arg_names, kept, given):
        if not _same(before, after):
            return _Outcome(
                ok=False,
                problem=f"Your function changed its input `{arg_name}` in place.",
                hint=(f"Leave the inputs as they are: work on a copy ({arg_name} = {arg_name}.copy()) "
                      "or build a new array, instead of `x[...] = ...`, `x += ...` or `x *= ...` "
                      "on an argument."))
    try:
        converted = convert(value, case)
    except StudentProblem as problem:
        return _Outcome(ok=False, problem=problem.message, hint=problem.hint, shown=problem.value)
    if compare(converted, case.expected):
        return _Outcome(ok=True, value=converted, shown=converted)
    problem = None
    if isinstance(converted, np.ndarray) and converted.dtype.kind == "f" and converted.shape == np.shape(case.expected):
        problem = nan_problem(converted, case.expected, "your answer", labels=labels and (lambda i: labels(i, case)))
    if problem:
        return _Outcome(ok=False, value=converted, shown=converted, problem=problem.message, fallback=nan_hint)
    return _Outcome(ok=False, value=converted, shown=converted, problem="Your answer differs from cmrlab's.")


def _exception_hint(error: Exception, arg_names) -> str | None:
    text = str(error)
    if isinstance(error, ValueError) and "invalid literal for int()" in text and "''" in text:
        return ("Splitting a line with .split(' ') leaves empty strings where there are "
                "several spaces or a trailing space; .split() with no argument does not.")
    if isinstance(error, ValueError) and "inhomogeneous" in text:
        return ("np.array of rows of different lengths fails: make a matrix of zeros "
                "(n_lists, width) with dtype=int first, then fill each row.")
    if isinstance(error, IndexError):
        return ("An index ran past the end of an array: remember that serial positions run 1..L "
                "while Python indexes 0..L-1, and that 0 (padding) and -1 (intrusion) are not positions.")
    if isinstance(error, (KeyError,)):
        return "parameters is a dict keyed by the names in cmrlab.PARAMETER_NAMES, e.g. parameters['encoding_drift_rate']."
    return None


def _match_mistake(cases, outcomes, failing, mistakes, convert, compare) -> str | None:
    """The hint of the classic mistake that reproduces the student's answers best.

    A mistake is a candidate when, on the first failing case, it gives the
    student's answer and not cmrlab's. Candidates score one point for every
    case (passed or failed) on which they agree with the student; the best
    score wins, the first listed on a tie.
    """
    best, best_score = None, -1
    for mistake in mistakes:
        score = 0
        for index, (case, outcome) in enumerate(zip(cases, outcomes)):
            if outcome is None or outcome.value is None:
                continue
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    wrong = convert(mistake.function(*_copy_args(case.args)), case)
                agrees = compare(outcome.value, wrong)
            except Exception:  # noqa: BLE001 - a mistake that cannot run on this case says nothing
                wrong, agrees = None, False
            if index == failing and (not agrees or compare(wrong, case.expected)):
                score = -1
                break
            score += agrees
        if score > best_score:
            best, best_score = mistake.hint, score
    return best
