"""Write and execute the teaching notebooks from the cell sources below.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python tools/build_notebooks.py [NAME ...]

Each notebook is executed top to bottom (as nbval will) and saved with its
outputs but without widget state, so that nbval can compare text outputs and
no saved widget view points at a model that no longer exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

sys.path.insert(0, str(Path(__file__).parent))
from notebook_sources import NOTEBOOKS as SOURCES  # noqa: E402


def build(name: str, cells: list[tuple[str, str]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        source = source.strip("\n")
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
            if output.get("output_type") in ("display_data", "execute_result") and not output.get("data"):
                output["data"] = {"text/plain": ""}
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def main(names):
    for name, cells in SOURCES.items():
        if names and not any(n in name for n in names):
            continue
        print("built", build(name, cells).relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
