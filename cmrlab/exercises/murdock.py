"""Exercise: reading Murdock's (1962) raw text format into a recall matrix.

The format (see ``shared/data/README.md``): one list per line, the recalled
serial positions in output order separated by spaces (Murdock's files end
lines with CRLF and a trailing space). ``88`` marks an intrusion, and so does
any other code outside ``1..L``. A last line holding only ``0`` (the end of
``fr10-2.txt``) is not a list.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from cmrlab.datasets import data_dir, fetch, read_murdock_file
from cmrlab.exercises.harness import (
    DEFAULT_TIME_LIMIT,
    Case,
    CheckResult,
    Mistake,
    as_int_array,
    format_value,
    run_check,
)

ARGUMENTS = ("path", "list_length")

EDGE_FILES = (
    ("three lists, one per line", 10, "1 2 3\n10 9\n5\n"),
    ("Windows line ends (CRLF) and a trailing space, as in Murdock's files", 10, "3 4 5 \r\n1 2 \r\n"),
    ("an intrusion (88) in the middle of a list and at the start of another", 10, "4 88 5\n88 1 2\n"),
    ("other codes outside 1..L (11, 50, 99) are intrusions too", 10, "11 3\n2 50 99\n"),
    ("a list with no recall (an empty line)", 10, "1 2\n\n3\n"),
    ("lists of different lengths (the longest sets the width)", 10, "1\n1 2 3 4 5 6 7 8 9 10\n2 3\n"),
    ("a last line holding only 0 is not a list (as at the end of fr10-2.txt)", 10, "1 2\n3 4 \n0 \n"),
    ("no line end after the last list", 10, "1 2\n3 4"),
)
REAL_FILES = (("murdock1962/fr20-1.txt", 20), ("murdock1962/fr10-2.txt", 10))


def check_read_murdock(fn, *, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check ``fn(path, list_length) -> recalls`` against :func:`cmrlab.datasets.read_murdock_file`.

    ``recalls`` is an integer array ``(n_lists, max_recalls)`` in cmrlab's
    encoding: ``1..L`` serial positions in output order, ``-1`` for every
    intrusion (``88`` and any other code outside ``1..L``), ``0`` padding at
    the end of each row. Every line is a list (an empty line is a list with
    no recall), except a last line holding only ``0``. Any width at least as
    wide as the longest list is accepted.

    The cases are small files written to a temporary folder, then two real
    files from the data cache (``fr20-1.txt``, and ``fr10-2.txt`` with its
    stray last line); if the cache lacks them and they cannot be downloaded,
    those two are skipped and the result says so.

    Args:
        fn: the student's function; ``path`` is a ``str``, ``list_length`` an int.
        time_limit: seconds for all calls of ``fn`` together.
    """
    with tempfile.TemporaryDirectory(prefix="cmrlab-murdock-") as folder:
        cases, notes = _cases(Path(folder))
        return run_check(
            "check_read_murdock", fn, cases, ARGUMENTS,
            convert=lambda value, case: as_int_array(value, "your answer"), compare=_compare,
            mistakes=MISTAKES, general_hint=_general_hint, time_limit=time_limit, show=_show,
            show_value=_show_matrix, notes=notes, other_cases="of Murdock's files",
        )


def _reference(path: Path, list_length: int) -> np.ndarray:
    lines = path.read_text().splitlines()
    n_lists = len(lines) - (len(lines) > 0 and lines[-1].strip() == "0")
    return read_murdock_file(path, list_length, n_lists=n_lists, lists_per_subject=max(n_lists, 1)).recalls


def _cases(folder: Path) -> tuple[list[Case], list[str]]:
    cases = []
    for index, (label, L, text) in enumerate(EDGE_FILES):
        path = folder / f"lists{index + 1}.txt"
        path.write_bytes(text.encode())
        cases.append(Case(f"edge case: {label}", (str(path), L), _reference(path, L), edge=True))
    notes = []
    for name, L in REAL_FILES:
        try:
            path = fetch(name)
        except (OSError, ValueError):
            notes.append(f"Note: Murdock's file {name} was skipped: it is not in the data cache "
                         f"({data_dir()}) and could not be downloaded.")
            continue
        cases.append(Case(f"Murdock's file {name} (L = {L})", (str(path), L), _reference(path, L)))
    return cases, notes


def _padded(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, ((0, 0), (0, width - a.shape[1])))


def _compare(got: np.ndarray, expected: np.ndarray) -> bool:
    if got.shape[0] != expected.shape[0]:
        return False
    width = max(got.shape[1], expected.shape[1])
    return bool(np.array_equal(_padded(got, width), _padded(expected, width)))


def _show(case: Case) -> dict[str, str]:
    path, L = case.args
    shown = {"path": repr(path), "list_length": str(L)}
    text = Path(path).read_bytes()
    if len(text) < 200:
        shown["file holds"] = repr(text.decode())
    return shown


def _show_matrix(value, case) -> str:
    value = np.asarray(value)
    if value.shape[0] <= 6:
        return format_value(value)
    return f"shape {value.shape}, first rows:\n" + format_value(value[:3])


def _general_hint(case: Case, got: np.ndarray) -> str:
    expected = case.expected
    if got.shape[0] != expected.shape[0]:
        return (f"Your matrix has {got.shape[0]} rows, cmrlab's {expected.shape[0]}: every line is a list "
                "(an empty line too), except a last line holding only 0.")
    width = max(got.shape[1], expected.shape[1])
    g, e = _padded(got, width), _padded(expected, width)
    row = int(np.argwhere(np.any(g != e, axis=1))[0][0])
    return (f"Row {row} (line {row + 1} of the file) differs: expected {e[row].tolist()}, got {g[row].tolist()}. "
            "1..L are serial positions, every other code an intrusion (-1), and 0 pads the end of a row.")


# ----------------------------------------------------------------------------- classic mistakes


def _read(path, list_length, *, map_codes="all", keep_zero_line=False, skip_empty=False, pad=0):
    lines = Path(path).read_text().splitlines()
    if not keep_zero_line and lines and lines[-1].strip() == "0":
        lines = lines[:-1]
    rows = [[int(t) for t in line.split()] for line in lines if line.strip() or not skip_empty]
    width = max([len(r) for r in rows] + [1])
    out = np.full((len(rows), width), pad, np.int64)
    for index, row in enumerate(rows):
        codes = np.asarray(row, np.int64)
        if map_codes == "all":
            codes = np.where((codes >= 1) & (codes <= list_length), codes, -1)
        elif map_codes == "88":
            codes = np.where(codes == 88, -1, codes)
        out[index, : len(row)] = codes
    return out


def _wrong(**mistake):
    def read(path, list_length):
        return _read(path, list_length, **mistake)
    return read


MISTAKES = (
    Mistake("88 marks an intrusion: store it as -1 (cmrlab's code for an intrusion).", _wrong(map_codes="none")),
    Mistake("Every code outside 1..L is an intrusion (-1), not only 88.", _wrong(map_codes="88")),
    Mistake("A last line holding only 0 is not a list: drop it (fr10-2.txt ends with one).",
            _wrong(keep_zero_line=True)),
    Mistake("Every line is a list, an empty line too (a list with no recall): keep it as a row of zeros.",
            _wrong(skip_empty=True)),
    Mistake("Pad the end of each row with 0 (no further recall); -1 means an intrusion.", _wrong(pad=-1)),
)
