"""Notebook 09 is the instructor's source; otter-grader makes the student version and the autograder.

``otter assign`` runs once (into a temporary folder, never committed). The
student version must hold no solutions and no hidden tests, and run top to
bottom up to its first exercise, which fails with that exercise's
instruction (a ``NotImplementedError``), not with an error from a tool. The
autograder must give the solution full marks and a planted mistake less.
The notebooks run in subprocesses that share a JAX compilation cache, so
later runs skip most compiling.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "09_cmr_assignment.ipynb"
FULL_MARKS = 13


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    cache = tmp_path_factory.mktemp("jax-cache")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "JAX_COMPILATION_CACHE_DIR": str(cache), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


@pytest.fixture(scope="module")
def assignment(tmp_path_factory, environment):
    """``otter assign`` of notebook 09: the student folder and the autograder folder."""
    out = tmp_path_factory.mktemp("assignment")
    run([sys.executable, "-m", "otter", "assign", str(SOURCE), str(out / "dist")], environment, cwd=out)
    return out / "dist"


def run(command, environment, cwd):
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def grade(assignment, submissions: list[Path], environment) -> list[dict[str, float]]:
    """``otter run`` each notebook against the autograder zip, side by side; the score of each question."""
    [autograder] = (assignment / "autograder").glob("*.zip")
    runs = []
    for submission in submissions:
        out = submission.parent / "grades"
        out.mkdir()
        command = [sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(out), str(submission)]
        runs.append((command, out, subprocess.Popen(command, cwd=submission.parent, env=environment, text=True,
                                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
    scores = []
    for command, out, process in runs:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"{command} failed:\n{output[-3000:]}"
        tests = json.loads((out / "results.json").read_text())["tests"]
        scores.append({t["name"]: t["score"] for t in tests if t.get("max_score") is not None})
    return scores


def test_the_student_version_holds_no_solution_and_stops_at_the_first_exercise(assignment, environment):
    student = assignment / "student" / SOURCE.name
    nb = nbformat.read(student, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    for secret in ("BEGIN SOLUTION", "BEGIN PROMPT", "np.where((codes >= 1)", "# HIDDEN", "seed=2024",
                   "ASSIGNMENT CONFIG"):
        assert secret not in text, secret
    answers = [i for i, cell in enumerate(nb.cells) if "otter_answer_cell" in cell.metadata.get("tags", [])]
    assert len(answers) == 8
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with pytest.raises(CellExecutionError) as failure:
        client.execute(env=environment)
    assert failure.value.ename == "NotImplementedError"
    assert failure.value.evalue.startswith("Exercise 1: write read_recalls.")
    ran = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.get("execution_count")]
    assert ran[-1] == answers[0]  # everything before the first exercise ran; it failed with its instruction
    errors = [i for i, cell in enumerate(nb.cells) for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors == [answers[0]]


def test_the_autograder_gives_the_solution_full_marks_and_a_planted_mistake_less(assignment, environment, tmp_path):
    solution_nb = nbformat.read(assignment / "autograder" / SOURCE.name, as_version=4)
    right = "rho = np.sqrt(1 + drift_rate**2 * (d**2 - 1)) - drift_rate * d"
    planted_nb = nbformat.read(assignment / "autograder" / SOURCE.name, as_version=4)
    [cell] = [c for c in planted_nb.cells if right in c.source]
    cell.source = cell.source.replace(right, "rho = 1 - drift_rate  # a linear drift")
    paths = []
    for name, nb in (("solution", solution_nb), ("planted", planted_nb)):
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / SOURCE.name)
        nbformat.write(nb, paths[-1])
    solution, planted = grade(assignment, paths, environment)
    assert len(solution) == 8 and sum(solution.values()) == FULL_MARKS
    assert planted["update_context"] == 0 and planted["read_recalls"] == 1
    assert sum(planted.values()) < FULL_MARKS
