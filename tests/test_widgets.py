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


def test_a_new_list_length_in_the_same_bucket_redraws_without_compiling(explorer):
    from cmrlab.analysis import _summarize_bucket
    from cmrlab.simulation import _simulate_bucket
    from cmrlab.widgets.explorer import wait_for_prepared_buckets

    wait_for_prepared_buckets()  # the other bucket compiles in the background after the first picture
    compiled = _simulate_bucket._cache_size(), _summarize_bucket._cache_size()
    params = explorer.parameters
    for list_length in (7, 15, 12):
        explorer.list_length.value = list_length
        expected = cmrlab.summarize(cmrlab.simulate(jax.random.PRNGKey(3), params, list_length, 500), list_length)
        for name in ("spc", "lag_crp", "pfr"):
            x, y = explorer.curves()[name]
            np.testing.assert_array_equal(y, np.asarray(getattr(expected, name)) if name != "lag_crp"
                                          else np.asarray(expected.lag_crp)[list_length - 6: list_length + 5])
        assert float(explorer.summary.temporal_factor) == float(expected.temporal_factor)
    assert (_simulate_bucket._cache_size(), _summarize_bucket._cache_size()) == compiled


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


# ---------------------------------------------------------------- the full model (Polyn, Norman & Kahana 2009)

from cmrlab.widgets import MODELS, POLYN, RETRIEVALS  # noqa: E402


def test_a_slider_for_every_full_model_parameter():
    panel = Explorer(list_length=12, n_lists=500, model="full")
    assert list(panel.source_sliders) == [p.name for p in cmrlab.SOURCE_PARAMETERS]
    for p in cmrlab.SOURCE_PARAMETERS:
        slider = panel.source_sliders[p.name]
        assert (slider.min, slider.max, slider.step) == p.slider
        assert p.meaning in slider.tooltip and p.label in slider.description
    assert list(panel.parameters) == list(cmrlab.ALL_PARAMETER_NAMES)
    assert panel.parameters == pytest.approx({**cmrlab.DEFAULT_PARAMETERS,
                                              **{p.name: p.default for p in cmrlab.SOURCE_PARAMETERS}})
    assert panel.source_box.layout.display == ""
    panel.model.value = "base"
    assert panel.source_box.layout.display == "none" and list(panel.parameters) == list(cmrlab.PARAMETER_NAMES)


def test_full_model_with_its_mechanisms_off_draws_the_base_model():
    base = Explorer(list_length=12, n_lists=500, seed=4)
    full = Explorer(list_length=12, n_lists=500, seed=4, model="full")
    assert MODELS == ("base", "full") and RETRIEVALS == ("luce", "accumulator")
    for name in ("spc", "lag_crp", "pfr"):
        np.testing.assert_array_equal(base.curves()[name][1], full.curves()[name][1])
    assert base.status.value == full.status.value.replace("CMR (full, luce)", "CMR")
    full.set("source_learning_rate", 0.5)  # a mechanism on changes the model
    params = {**full.parameters}
    np.testing.assert_allclose(full.curves()["spc"][1],
                               cmrlab.spc(cmrlab.simulate(jax.random.PRNGKey(4), params, 12, 500), 12))


def test_setting_a_full_model_parameter_selects_the_full_model():
    panel = Explorer(list_length=12, n_lists=500)
    count = panel.update_count
    panel.set("shift_drift_rate", 0.5)
    assert panel.model.value == "full" and panel.parameters["shift_drift_rate"] == 0.5
    assert panel.update_count == count + 1
    panel.set("start_drift_rate", 0.0)  # the full model's bounds allow 0
    assert panel.parameters["start_drift_rate"] == 0.0
    count = panel.update_count
    panel.preset.value = "Healey & Kahana (2014) median fits"  # a base-model set: mechanisms off
    assert panel.model.value == "full" and panel.update_count == count + 1
    assert panel.parameters == pytest.approx({**cmrlab.PRESETS["Healey & Kahana (2014) median fits"],
                                              **{p.name: p.default for p in cmrlab.SOURCE_PARAMETERS}})
    panel.model.value = "base"
    assert panel.parameters["start_drift_rate"] == 0.18
    panel.set("start_drift_rate", 0.0)
    assert panel.parameters["start_drift_rate"] == cmrlab.PARAMETERS[1].lower


@pytest.mark.parametrize("name, value", [("shift_drift_rate", 0.99), ("accumulator_time_constant", 5.0),
                                         ("semantic_scale", -1.0), ("source_drift_rate", float("nan")),
                                         ("source_learning_rate", "a lot")])
def test_full_model_values_out_of_bounds_are_refused(explorer, name, value):
    before = explorer.parameters
    with pytest.raises(ValueError, match="must be a number|outside its allowed range"):
        explorer.set(name, value)
    with pytest.raises(ValueError, match="must be a number|outside its allowed range"):
        explorer.add_preset("bad", {name: value})
    assert explorer.parameters == before and explorer.model.value == "base"


def test_bad_model_or_retrieval_names():
    with pytest.raises(ValueError, match="unknown model"):
        Explorer(model="Polyn")
    with pytest.raises(ValueError, match="unknown retrieval"):
        Explorer(retrieval="lca")
    with pytest.raises(ValueError, match="unknown CMR parameter"):
        Explorer(parameters={"source_drift": 0.5})


@pytest.fixture(scope="module")
def polyn():
    data = cmrlab.datasets.load_polyn2009()
    return Explorer(dataset=POLYN, seed=2), data


def _figures(recalls, data):
    """Polyn's figures of a recall matrix, computed here from the public analyses."""
    L = 24
    control, shift = data.list_type < 2, data.list_type == 2
    recalls = np.asarray(recalls)
    # as wide as the data (padding changes no analysis): the compiled analyses are reused
    recalls = np.pad(recalls, ((0, 0), (0, data.recalls.shape[1] - recalls.shape[1])))
    return (float(cmrlab.mean_recalls(recalls[control], L)) / L, float(cmrlab.mean_recalls(recalls[shift], L)) / L,
            float(cmrlab.category_crp(recalls[shift], data.sources[shift], L)),
            float(cmrlab.distance_rank(recalls, data.study_items, 1 - data.similarity, L)))


def test_polyn_overlay_simulates_the_lists_and_shows_the_papers_figures(polyn):
    panel, data = polyn
    assert panel.list_length.value == 24 and panel.model.value == "full" and panel.n_lists.disabled
    want = _figures(data.recalls, data)
    got = panel.data_polyn_figures
    assert (got.recall_control, got.recall_shift, got.source_clustering, got.semantic_factor) == pytest.approx(want)
    assert got.shift_cost == pytest.approx(want[0] - want[1]) and got.shift_cost > 0.03
    panel.preset.value = "Polyn 2009 full"
    params = cmrlab.SOURCE_PRESETS["Polyn 2009 full"]
    assert panel.parameters == pytest.approx(params)
    recalls = cmrlab.simulate(jax.random.PRNGKey(2), params, 24, len(data), study_items=data.study_items,
                              sources=data.sources, similarity=data.similarity)
    model = panel.polyn_figures
    assert (model.recall_control, model.recall_shift, model.source_clustering,
            model.semantic_factor) == pytest.approx(_figures(recalls, data), abs=1e-6)
    np.testing.assert_allclose(panel.summary.spc, cmrlab.spc(recalls, 24))
    for words in ("shift cost", "same-task CRP", "semantic factor", f"{model.shift_cost:.3f}",
                  f"{got.source_clustering:.3f}"):
        assert words in panel.status.value


def test_the_accumulator_shows_recall_times(polyn):
    panel, data = polyn
    panel.set_parameters(cmrlab.SOURCE_PRESETS["Polyn 2009 full"])
    panel.retrieval.value = "accumulator"
    try:
        assert panel.times_image.layout.display == "" and panel.times_image.value
        params = panel.parameters
        recalls, times = cmrlab.simulate(jax.random.PRNGKey(2), params, 24, len(data), retrieval="accumulator",
                                         return_times=True, study_items=data.study_items, sources=data.sources,
                                         similarity=data.similarity)
        positions, seconds = panel.curves()["irt"]
        np.testing.assert_array_equal(positions, np.arange(1, 11))
        np.testing.assert_allclose(seconds, np.asarray(cmrlab.irt(recalls, times, 24))[:10] / 1000, rtol=1e-6)
        assert np.all(np.diff(seconds[:6]) > 0), "recall slows down as it goes on"
        first = float(np.mean(np.asarray(times)[np.asarray(recalls)[:, 0] > 0, 0])) / 1000
        assert panel.polyn_figures.first_recall_seconds == pytest.approx(first)
        assert f"first recall after {first:.2f} s" in panel.status.value
        assert panel.polyn_figures.shift_cost > 0.01, "with disruption, shift lists are recalled worse"
    finally:
        panel.model.value = "base"  # the base model has the Luce rule only
    assert panel.retrieval.value == "luce" and panel.times_image.layout.display == "none"
