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
