"""The model's documentation lives in the project and agrees with the code."""

import re
from pathlib import Path

import pytest

import cmrlab
from cmrlab.parameters import EPS

ROOT = Path(__file__).resolve().parents[1]


def _table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`([a-z_]+)`\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def _bound(text: str) -> float:
    return EPS if text == "eps" else float(text)


def test_model_page_parameter_table_matches_the_declared_table():
    text = (ROOT / "docs" / "model.md").read_text()
    rows = _table_rows(text.split("## Parameters")[1].split("\n## ")[0])
    assert list(rows) == list(cmrlab.PARAMETER_NAMES)
    for p in cmrlab.PARAMETERS:
        symbol, _meaning, default, bounds = rows[p.name]
        assert symbol == p.symbol
        assert float(default) == pytest.approx(p.default)
        low, high = bounds.strip("[]").split(",")
        assert (_bound(low.strip()), _bound(high.strip())) == pytest.approx((p.lower, p.upper))


def test_model_page_known_answer_is_what_the_code_computes():
    text = (ROOT / "docs" / "model.md").read_text()
    documented = float(re.search(r"log-likelihood is \*\*([−-][0-9.]+)\*\*", text).group(1).replace("−", "-"))
    parameters = dict(encoding_drift_rate=0.5, start_drift_rate=0.4, recall_drift_rate=0.6, shared_support=1.0,
                      item_support=1.5, learning_rate=0.3, primacy_scale=1.0, primacy_decay=0.1,
                      stop_probability_scale=0.05, stop_probability_growth=0.2, choice_sensitivity=2.0)
    value = float(cmrlab.log_likelihood(parameters, [[6, 5, 1, 2, 0, 0], [1, 2, 3, 4, 5, 6]], 6))
    assert value == pytest.approx(documented, rel=1e-4)


def test_no_user_facing_text_points_outside_the_project():
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("cmrlab/**/*.py"), *ROOT.glob("notebooks/*.ipynb")]
    offenders = [str(f.relative_to(ROOT)) for f in files if "CMR_SPEC" in f.read_text() or "../shared" in f.read_text()]
    assert offenders == [], "the model's definition is docs/model.md; do not send users to files they do not have"
