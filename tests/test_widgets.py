"""The panels without a front end: set what a student sets, read what the plots show."""

import asyncio

import jax
import numpy as np
import pytest

import cmrlab
from cmrlab.widgets import DATASETS, Explorer, ModelInside


@pytest.fixture(scope="module")
def explorer():
    return Explorer(list_length=12, n_lists=500, seed=3)


def test_one_slider_per_declared_parameter(explorer):
    assert list(explorer.sliders) == list(cmrlab.PARAMETER_NAMES)
    for p in cmrlab.PARAMETERS:
        slider = explorer.sliders[p.name]
        assert (slider.min, slider.max, slider.step) == p.slider
        assert p.meaning in slider.tooltip and p.label in slider.description
    assert explorer.parameters == pytest.approx(cmrlab.DEFAULT_PARAMETERS)


def test_curves_are_the_analyses_of_fresh_simulations(explorer):
    explorer.set("encoding_drift_rate", 0.7)
    params = {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": 0.7}
    recalls = cmrlab.simulate(jax.random.PRNGKey(3), params, 12, 500)
    x, y = explorer.curves()["spc"]
    np.testing.assert_array_equal(x, np.arange(1, 13))
    np.testing.assert_allclose(y, cmrlab.spc(recalls, 12))
    lags, crp = explorer.curves()["lag_crp"]
    np.testing.assert_array_equal(lags, np.arange(-5, 6))
    np.testing.assert_allclose(crp[6], cmrlab.lag_crp(recalls, 12)[12])  # lag +1


def test_moving_a_slider_changes_the_picture_in_place(explorer):
    image, before_png = explorer.image, explorer.png()
    before = explorer.curves()["spc"][1].copy()
    count = explorer.update_count
    explorer.set("primacy_scale", 12.0)
    assert explorer.image is image and explorer.png() != before_png
    assert explorer.update_count == count + 1
    after = explorer.curves()["spc"][1]
    assert after[0] > before[0] + 0.05, "more primacy lifts position 1"
    explorer.set("primacy_scale", cmrlab.DEFAULT_PARAMETERS["primacy_scale"])


def test_slider_at_zero_means_the_lower_bound(explorer):
    explorer.set("primacy_scale", 0.0)
    assert explorer.parameters["primacy_scale"] == cmrlab.PARAMETERS[6].lower
    explorer.set("primacy_scale", cmrlab.DEFAULT_PARAMETERS["primacy_scale"])


def test_presets_and_reset(explorer):
    name = "Healey & Kahana (2014) median fits"
    count = explorer.update_count
    explorer.preset.value = name
    assert explorer.parameters == pytest.approx(cmrlab.PRESETS[name])
    assert explorer.update_count == count + 1, "a preset changes 11 sliders with one update"
    explorer.reset_button.click()
    assert explorer.parameters == pytest.approx(cmrlab.DEFAULT_PARAMETERS)


def test_a_saved_fit_becomes_a_preset(explorer):
    explorer.add_preset("my fit", {"encoding_drift_rate": 0.33})
    explorer.preset.value = "my fit"
    assert explorer.parameters["encoding_drift_rate"] == pytest.approx(0.33)
    explorer.reset_button.click()


def test_a_value_beyond_the_teaching_range_is_shown_truly(explorer):
    explorer.add_preset("fit with a high tau", {"choice_sensitivity": 50.0})
    explorer.preset.value = "fit with a high tau"
    assert explorer.parameters["choice_sensitivity"] == 50.0
    assert explorer.sliders["choice_sensitivity"].max >= 50.0
    assert "widened" in explorer.status.value and "50" in explorer.status.value
    explorer.reset_button.click()
    assert "widened" not in explorer.status.value
    assert explorer.parameters == pytest.approx(cmrlab.DEFAULT_PARAMETERS)


@pytest.mark.parametrize("value", ["abc", None, float("nan"), 1e9, -3.0])
def test_set_refuses_what_is_not_a_valid_number(explorer, value):
    with pytest.raises(ValueError, match="must be a number|outside its allowed range"):
        explorer.set("choice_sensitivity", value)
    with pytest.raises(ValueError, match="must be a number|outside its allowed range"):
        explorer.add_preset("bad", {"choice_sensitivity": value})


def test_dataset_overlay_sets_the_list_length():
    panel = Explorer(n_lists=250, dataset="LL15-2s")
    assert panel.list_length.value == 15
    data = cmrlab.datasets.load_murdock1962("LL15-2s")
    np.testing.assert_allclose(panel.data_summary.spc, cmrlab.spc(data.recalls, 15))
    assert "LL15-2s" in panel.status.value and "recalled per list" in panel.status.value
    panel.dataset.value = DATASETS[-1]  # Healey & Kahana
    assert panel.list_length.value == 16
    panel.list_length.value = 10  # no longer matches the data: the overlay goes
    assert panel.dataset.value == "none" and panel.data_summary is None
    assert panel.curves()["spc"][0].size == 10


def test_fast_slider_moves_are_coalesced():
    panel = Explorer(n_lists=100)

    async def burst():
        count = panel.update_count
        for value in np.linspace(0.1, 0.9, 25):
            panel.sliders["encoding_drift_rate"].value = float(value)
        await asyncio.sleep(0.2)
        return panel.update_count - count

    assert asyncio.run(burst()) == 1
    assert panel.parameters["encoding_drift_rate"] == pytest.approx(0.9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown dataset"):
        Explorer(dataset="Murdock")
    with pytest.raises(ValueError, match="unknown CMR parameter"):
        Explorer(parameters={"drift": 0.5})


def test_model_inside_steps_through_study_and_recall():
    panel = ModelInside(list_length=6, seed=1)
    phases = [s["phase"] for s in panel.steps]
    assert phases[:8] == ["start"] + ["study"] * 6 + ["retrieval start"]
    assert phases[-1] == "stop" or len(panel.steps[-1]["recalled"]) == 6
    first = panel.image.value
    panel.forward.click()
    assert panel.position == 1 and panel.image.value != first
    np.testing.assert_allclose(np.linalg.norm(panel.step["context"]), 1, atol=1e-5)
    panel.back.click()
    panel.back.click()
    assert panel.position == 0
    panel.go(100)
    assert panel.position == len(panel.steps) - 1
    recall_steps = [s for s in panel.steps if s["probabilities"] is not None]
    for s in recall_steps:
        assert s["probabilities"].sum() == pytest.approx(1, abs=1e-5)
