"""Keep the teaching notebooks clean: the ``.ipynb`` files are the source.

Edit a notebook in JupyterLab and save it; nothing else is needed, unless
the saved file holds widget state (JupyterLab's "Save Widget State
Automatically" setting), which nbval cannot compare and which shows "model
not found" when the notebook is reopened. This tool removes it, and can
re-run notebooks to refresh their saved outputs::

    python tools/notebooks.py check  [NOTEBOOK ...]   # exit 1 if a notebook holds widget state
    python tools/notebooks.py strip  [NOTEBOOK ...]   # remove widget state in place
    python tools/notebooks.py run    [NOTEBOOK ...]   # execute top to bottom, strip, save

Without arguments every notebook under ``notebooks/`` is processed. ``run``
executes with the cache folder of the environment (``CMRLAB_DATA_DIR``), on
this machine's full instruction set; the tests check the outputs with XLA
limited to AVX (see ``conftest.py``), so an output that depends on the CPU
fails on the developer's machine first. ``.pre-commit-config.yaml`` runs
``strip`` as a pre-commit hook.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def notebook_paths(names: list[str]) -> list[Path]:
    if names:
        return [Path(n).resolve() for n in names]
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def problems(nb) -> list[str]:
    """What in a notebook should not be saved: widget state and widget views."""
    found = []
    if "widgets" in nb.metadata:
        found.append("notebook metadata holds saved widget state ('widgets')")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                found.append(f"cell {index} holds a widget view output (a widget model id)")
    return found


def strip(nb) -> bool:
    """Remove widget state, widget views and per-run execution metadata; True if anything changed."""
    changed = nb.metadata.pop("widgets", None) is not None
    for cell in nb.cells:
        changed |= cell.metadata.pop("execution", None) is not None
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if data.pop(WIDGET_VIEW, None) is not None:
                changed = True
                if output.get("output_type") in ("display_data", "execute_result") and not data:
                    data["text/plain"] = ""
    return changed


def run(path: Path, timeout: int = 900) -> None:
    """Execute a notebook in its own folder, as nbval will, then strip and save it."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    strip(nb)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "strip", "run"])
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    status = 0
    for path in notebook_paths(args.notebooks):
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.command == "run":
            run(path)
            print("ran", shown)
            continue
        nb = nbformat.read(path, as_version=4)
        if args.command == "check":
            for problem in problems(nb):
                print(f"{shown}: {problem}; fix with: python tools/notebooks.py strip {shown}")
                status = 1
        elif strip(nb):
            nbformat.write(nb, path)
            print("stripped", shown)
    return status


if __name__ == "__main__":
    sys.exit(main())
