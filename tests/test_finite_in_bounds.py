"""Likelihood and gradient are finite anywhere in the declared bounds (issue #8, and the full model)."""

import jax
import numpy as np
import pytest

import cmrlab
from cmrlab.parameters import LUCE_PARAMETER_NAMES, PARAMETER_NAMES, PARAMETERS, bounds

import polyn_data


def corners_and_random_points(names, lower, upper, rng, n_corners, n_random):
    """Random corners of the box, then random points (log-uniform where the range is wide)."""
    points = [dict(zip(names, np.where(rng.integers(0, 2, len(names)) == 1, upper, lower)))
              for _ in range(n_corners)]
    points.append(dict(zip(names, upper)))
    points.append(dict(zip(names, lower)))
    for _ in range(n_random):
        u = rng.random(len(names))
        wide = upper / np.maximum(lower, 1e-3) > 100
        linear = lower + u * (upper - lower)
        logarithmic = np.exp(np.log(np.maximum(lower, 1e-3)) + u * (np.log(upper) - np.log(np.maximum(lower, 1e-3))))
        points.append(dict(zip(names, np.where(wide, logarithmic, linear))))
    return [{k: float(v) for k, v in p.items()} for p in points]


def _all_finite(value, grad):
    return np.isfinite(float(value)) and all(np.isfinite(float(g)) for g in grad.values())


@pytest.fixture(scope="module")
def base_data():
    rows = np.array(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 16, 200))
    rows[0] = np.arange(16, 0, -1)  # everything recalled
    rows[1] = 0  # nothing recalled
    return rows


@pytest.fixture(scope="module")
def base_value_and_grad(base_data):
    return jax.jit(jax.value_and_grad(cmrlab.log_likelihood_function(base_data, 16)))  # compiled once


@pytest.mark.parametrize("model", ["base", "full"])
def test_base_model_is_finite_at_corners_and_random_points(base_data, base_value_and_grad, model):
    # model="base": the base model's fitting box (every lower bound eps);
    # model="full": the same 11 parameters in the full model's box, where
    # start_drift_rate, shared_support and item_support may be 0.
    value_and_grad = base_value_and_grad
    lower, upper = bounds(PARAMETER_NAMES, model=model)
    rng = np.random.default_rng(8 if model == "base" else 9)
    points = corners_and_random_points(PARAMETER_NAMES, lower, upper, rng, n_corners=400, n_random=100)
    drifts_at_one = {**dict(zip(PARAMETER_NAMES, lower)), "encoding_drift_rate": 1.0, "start_drift_rate": 1.0,
                     "recall_drift_rate": 1.0, "choice_sensitivity": 5.0, "stop_probability_scale": 0.1}
    points.append({k: float(v) for k, v in drifts_at_one.items()})
    bad = [p for p in points if not _all_finite(*value_and_grad(p))]
    assert not bad, f"{len(bad)} of {len(points)} points not finite, e.g. {bad[0]}"
    # the public call (which dispatches on concrete values) agrees
    for p in points[:5] + points[-3:]:
        assert np.isfinite(float(cmrlab.log_likelihood(p, base_data, 16)))


def test_gradient_at_drift_rates_of_one_is_finite(base_value_and_grad):
    for name in ("encoding_drift_rate", "recall_drift_rate", "start_drift_rate"):
        _, grad = base_value_and_grad({**cmrlab.DEFAULT_PARAMETERS, name: 1.0})
        assert all(np.isfinite(float(g)) for g in grad.values()), name


def test_interior_values_are_unchanged_by_the_guards(base_data):
    # the guards (safe square root, a = max(a, eps), a capped stop exponent)
    # leave values inside the box as the spec computes them
    from reference import trial_log_likelihood

    params = dict(cmrlab.DEFAULT_PARAMETERS)
    expected = sum(trial_log_likelihood(params, 16, row) for row in base_data[:50])
    assert float(cmrlab.log_likelihood(params, base_data[:50], 16)) == pytest.approx(expected, rel=2e-5)
    assert [p.lower for p in PARAMETERS] == [float(np.finfo(np.float32).eps)] * 11, "base bounds unchanged"


def test_full_model_is_finite_at_corners_and_random_points():
    data = polyn_data.load()
    rows = slice(0, 10)
    loglik = cmrlab.log_likelihood_function(data.clean_recalls()[rows], 24, study_items=data.study_items[rows],
                                            sources=data.sources[rows], similarity=data.similarity)
    value_and_grad = jax.jit(jax.value_and_grad(loglik))
    lower, upper = bounds(LUCE_PARAMETER_NAMES, model="full")
    points = corners_and_random_points(LUCE_PARAMETER_NAMES, lower, upper, np.random.default_rng(10),
                                       n_corners=150, n_random=60)
    bad = [p for p in points if not _all_finite(*value_and_grad(p))]
    assert not bad, f"{len(bad)} of {len(points)} points not finite, e.g. {bad[0]}"
