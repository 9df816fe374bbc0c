"""The notebooks are the source: saved from JupyterLab, checked by nbval as they are.

These tests keep them loadable and comparable: no saved widget state (which
reopens as "model not found" and which nbval cannot compare), and every
notebook in reading order. nbval itself runs every cell (``--nbval`` in
pyproject.toml).
"""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks as notebook_tool  # noqa: E402

PATHS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_holds_no_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    assert notebook_tool.problems(nb) == [], f"run: python tools/notebooks.py strip {path.relative_to(ROOT)}"


def test_notebooks_are_numbered_in_reading_order():
    numbers = [int(p.name.split("_")[0]) for p in PATHS]
    assert numbers == list(range(1, len(PATHS) + 1))


def test_strip_removes_widget_state_and_check_reports_it(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {notebook_tool.WIDGET_STATE: {"state": {}}}
    cell = nbformat.v4.new_code_cell("Explorer()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        notebook_tool.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox(...)"})]
    nb.cells.append(cell)
    path = tmp_path / "edited.ipynb"
    nbformat.write(nb, path)
    assert notebook_tool.main(["check", str(path)]) == 1
    assert notebook_tool.main(["strip", str(path)]) == 0
    cleaned = nbformat.read(path, as_version=4)
    assert notebook_tool.problems(cleaned) == []
    assert cleaned.cells[0].outputs[0]["data"] == {"text/plain": "VBox(...)"}
    assert notebook_tool.main(["check", str(path)]) == 0
