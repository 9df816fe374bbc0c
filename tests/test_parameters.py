import math

import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab.parameters import EPS, PARAMETER_TABLE, as_parameters, pack, unpack


def test_defaults_match_the_spec_table():
    expected = {
        "encoding_drift_rate": 0.46, "start_drift_rate": 0.06, "recall_drift_rate": 0.77,
        "shared_support": 0.28, "item_support": 1.27, "learning_rate": 0.15,
        "primacy_scale": 4.1, "primacy_decay": 1.6, "stop_probability_scale": 0.029,
        "stop_probability_growth": 0.29, "choice_sensitivity": 6.3,
    }
    assert cmrlab.DEFAULT_PARAMETERS == expected
    assert list(cmrlab.PARAMETER_NAMES) == list(expected)


def test_bounds_match_the_spec_table():
    uppers = {p.name: p.upper for p in cmrlab.PARAMETERS}
    assert uppers == {
        "encoding_drift_rate": 1, "start_drift_rate": 1, "recall_drift_rate": 1,
        "shared_support": 100, "item_support": 100, "learning_rate": 1,
        "primacy_scale": 100, "primacy_decay": 100, "stop_probability_scale": 1,
        "stop_probability_growth": 10, "choice_sensitivity": 100,
    }
    assert all(p.lower == EPS for p in cmrlab.PARAMETERS)
    assert all(p.label and p.meaning and p.symbol for p in cmrlab.PARAMETERS)


def test_presets_are_complete_and_in_bounds():
    for preset in cmrlab.PRESETS.values():
        as_parameters(preset)  # raises if incomplete or out of range
    hk = cmrlab.PRESETS["Healey & Kahana (2014) median fits"]
    assert hk["choice_sensitivity"] == 16.0 and hk["item_support"] == 7.1


def test_missing_name_is_named():
    params = dict(cmrlab.DEFAULT_PARAMETERS)
    del params["learning_rate"]
    with pytest.raises(ValueError, match="missing.*learning_rate.*valid names"):
        as_parameters(params)


def test_unknown_name_is_named_with_the_valid_ones():
    params = {**cmrlab.DEFAULT_PARAMETERS, "drift": 0.3}
    with pytest.raises(ValueError, match="unknown.*'drift'.*encoding_drift_rate"):
        cmrlab.simulate(None, params, 10, 5)


@pytest.mark.parametrize("name,value", [("encoding_drift_rate", 1.5), ("choice_sensitivity", 0.0),
                                        ("stop_probability_scale", -0.1), ("item_support", math.nan)])
def test_out_of_range_value_gives_the_range(name, value):
    params = {**cmrlab.DEFAULT_PARAMETERS, name: value}
    upper = PARAMETER_TABLE[name].upper
    with pytest.raises(ValueError, match=rf"{name}.*outside.*{upper:g}\]"):
        cmrlab.log_likelihood(params, np.array([[1, 0]]), 3)


def test_array_values_are_refused():
    params = {**cmrlab.DEFAULT_PARAMETERS, "learning_rate": np.array([0.1, 0.2])}
    with pytest.raises(ValueError, match="scalar"):
        as_parameters(params)


def test_not_a_dict_is_refused():
    with pytest.raises(TypeError, match="dict"):
        as_parameters([0.5] * 11)


def test_jax_scalars_are_accepted_and_pack_round_trips():
    params = {k: jnp.float32(v) for k, v in cmrlab.DEFAULT_PARAMETERS.items()}
    packed = pack(as_parameters(params))
    assert packed.shape == (11,)
    again = unpack(packed)
    np.testing.assert_allclose([float(v) for v in again], list(cmrlab.DEFAULT_PARAMETERS.values()), rtol=1e-6)


def test_the_full_models_parameters_match_the_source_spec_table():
    from cmrlab.parameters import ALL_PARAMETER_TABLE, SOURCE_PARAMETERS

    expected = {  # name: (lower, upper, off value or default)
        "source_drift_rate": (0, 1, 0), "shift_drift_rate": (0, 0.95, 0),
        "source_learning_rate": (0, 1, 0), "semantic_scale": (0, 10, 0),
        "accumulator_leak": (0, 1, 0.111), "accumulator_inhibition": (0, 1, 0.338),
        "accumulator_noise": (0, 1, 0.380), "accumulator_time_constant": (10, 1000, 574),
    }
    assert {p.name: (p.lower, p.upper, p.default) for p in SOURCE_PARAMETERS} == expected
    assert [p.name for p in SOURCE_PARAMETERS if p.off == 0.0] == list(expected)[:4]
    assert all(p.label and p.meaning and p.symbol for p in SOURCE_PARAMETERS)
    assert all(p.slider[0] >= p.lower and p.slider[1] <= p.upper for p in SOURCE_PARAMETERS)
    assert len(cmrlab.ALL_PARAMETERS) == 19 and cmrlab.ALL_PARAMETER_NAMES[:11] == cmrlab.PARAMETER_NAMES
    # in the full model three base parameters may be 0; their base bounds do not change
    for name in ("start_drift_rate", "shared_support", "item_support"):
        assert ALL_PARAMETER_TABLE[name].lower == 0 and PARAMETER_TABLE[name].lower == EPS


def test_bounds_for_fitting():
    lower, upper = cmrlab.bounds()
    assert len(lower) == 11 and (lower == EPS).all() and upper[0] == 1
    lower, upper = cmrlab.bounds(["item_support", "shift_drift_rate", "accumulator_time_constant"], model="full")
    np.testing.assert_array_equal(lower, [0, 0, 10])
    np.testing.assert_array_equal(upper, [100, 0.95, 1000])
    with pytest.raises(ValueError, match="unknown parameter.*'shift_drift_rate'.*model='base'"):
        cmrlab.bounds(["shift_drift_rate"])
    with pytest.raises(ValueError, match="model must be"):
        cmrlab.bounds(model="source")


def test_full_parameters_fill_missing_new_ones():
    from cmrlab.parameters import as_full_parameters

    full = as_full_parameters(cmrlab.DEFAULT_PARAMETERS)
    assert float(full.source_learning_rate) == 0 and float(full.semantic_scale) == 0
    assert float(full.accumulator_time_constant) == 574 and float(full.accumulator_leak) == pytest.approx(0.111)
    assert full.base() == as_parameters(cmrlab.DEFAULT_PARAMETERS)
    with pytest.raises(ValueError, match="unknown.*'leak'.*accumulator_leak"):
        as_full_parameters({**cmrlab.DEFAULT_PARAMETERS, "leak": 0.1})
    with pytest.raises(ValueError, match="missing.*choice_sensitivity"):
        as_full_parameters({k: v for k, v in cmrlab.SOURCE_PRESETS["Polyn 2009 full"].items()
                            if k != "choice_sensitivity"})
    with pytest.raises(ValueError, match=r"accumulator_time_constant.*outside.*\[10, 1000\]"):
        as_full_parameters({**cmrlab.DEFAULT_PARAMETERS, "accumulator_time_constant": 5.0})


def test_published_sets_and_presets():
    from cmrlab.parameters import LUCE_RULE_FOR_PRESETS, as_full_parameters

    published = cmrlab.PUBLISHED_SOURCE_PARAMETERS
    assert set(published) == set(cmrlab.SOURCE_PRESETS) == {
        "Polyn 2009 full", "Polyn 2009 associations only", "Polyn 2009 disruption only"}
    full = published["Polyn 2009 full"]
    assert (full["encoding_drift_rate"], full["shift_drift_rate"], full["semantic_scale"],
            full["accumulator_time_constant"]) == (0.77, 0.77, 2.78, 574.0)
    assert published["Polyn 2009 associations only"]["shift_drift_rate"] == 0
    assert published["Polyn 2009 disruption only"]["source_learning_rate"] == 0
    for name, values in published.items():
        assert len(values) == 16 and not set(values) & set(LUCE_RULE_FOR_PRESETS)
        preset = cmrlab.SOURCE_PRESETS[name]
        assert preset == {**LUCE_RULE_FOR_PRESETS, **values}
        as_full_parameters(preset)  # complete and in bounds


def test_luce_packing_layout():
    from cmrlab.parameters import LUCE_PARAMETER_NAMES, as_full_parameters, pack_luce, unpack_luce

    preset = cmrlab.SOURCE_PRESETS["Polyn 2009 full"]
    vector = pack_luce(as_full_parameters(preset))
    assert vector.shape == (15,) and LUCE_PARAMETER_NAMES[11:] == (
        "source_drift_rate", "shift_drift_rate", "source_learning_rate", "semantic_scale")
    np.testing.assert_allclose(vector, [preset[n] for n in LUCE_PARAMETER_NAMES], rtol=1e-6)
    again = unpack_luce(vector)
    assert float(again.semantic_scale) == pytest.approx(2.78)
