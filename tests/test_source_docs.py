"""docs/source_model.md agrees with the declared parameters, the published sets and the known answer."""

import re
from pathlib import Path

import pytest

import cmrlab
from cmrlab.parameters import ALL_PARAMETER_TABLE, EPS, LUCE_RULE_FOR_PRESETS, PARAMETER_TABLE

from test_source_likelihood import KNOWN_ANSWER

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "source_model.md").read_text()


def _section(title: str) -> str:
    return PAGE.split(f"\n## {title}\n")[1].split("\n## ")[0]


def _rows(text: str, key=r"`([a-z_]+)`") -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        match = re.match(rf"\|\s*{key}\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def _bounds(text: str) -> tuple[float, float]:
    low, high = text.strip("[]").split(",")
    return tuple(EPS if v.strip() == "eps" else float(v) for v in (low, high))


def test_parameter_table_matches_the_declarations():
    section = _section("Parameters")
    rows = _rows(section)
    new = [p.name for p in cmrlab.SOURCE_PARAMETERS]
    assert list(rows)[:8] == new
    for p in cmrlab.SOURCE_PARAMETERS:
        symbol, meaning, off, default, bounds = rows[p.name]
        assert (symbol, meaning) == (p.symbol, p.meaning)
        assert (off == "—") if p.off is None else float(off) == p.off
        assert float(default) == pytest.approx(p.default)
        assert _bounds(bounds) == pytest.approx((p.lower, p.upper))
    for name in ("start_drift_rate", "shared_support", "item_support"):
        base, full = rows[name]
        assert _bounds(base) == pytest.approx((PARAMETER_TABLE[name].lower, PARAMETER_TABLE[name].upper))
        assert _bounds(full) == pytest.approx((ALL_PARAMETER_TABLE[name].lower, ALL_PARAMETER_TABLE[name].upper))


def test_published_sets_table_matches_the_presets():
    columns = ["encoding_drift_rate", "recall_drift_rate", "source_drift_rate", "shift_drift_rate",
               "source_learning_rate", "learning_rate", "semantic_scale", "primacy_scale", "primacy_decay",
               "accumulator_leak", "accumulator_inhibition", "accumulator_noise", "accumulator_time_constant"]
    rows = _rows(_section("The published parameter sets"), key=r"(Polyn 2009 [a-z ]+?)")
    assert set(rows) == set(cmrlab.PUBLISHED_SOURCE_PARAMETERS)
    for name, cells in rows.items():
        published = cmrlab.PUBLISHED_SOURCE_PARAMETERS[name]
        assert [float(c) for c in cells] == pytest.approx([published[c] for c in columns])
    text = _section("The published parameter sets")
    for name, value in LUCE_RULE_FOR_PRESETS.items():
        symbol = cmrlab.parameters.PARAMETER_TABLE[name].symbol
        assert f"{symbol} = {value:g}" in text


def test_known_answer_on_the_page_is_the_tested_one():
    documented = re.search(r"is \*\*([−-][0-9.]+)\*\*", _section("Known answer")).group(1).replace("−", "-")
    assert float(documented) == KNOWN_ANSWER


def test_the_page_links_the_base_model_and_names_no_file_users_lack():
    assert "(model.md)" in PAGE
    assert "CMR_SPEC" not in PAGE and "../shared" not in PAGE
    for module in ("source_model", "source_recall_phase", "accumulator", "study_lists"):
        text = (ROOT / "cmrlab" / f"{module}.py").read_text()
        assert "docs/source_model.md" in text, module
