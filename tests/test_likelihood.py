import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab.likelihood import trial_log_likelihoods
from cmrlab.parameters import as_parameters

from reference import trial_log_likelihood
from test_model import random_parameters

SPEC_PARAMETERS = {
    "encoding_drift_rate": 0.5, "start_drift_rate": 0.4, "recall_drift_rate": 0.6,
    "shared_support": 1.0, "item_support": 1.5, "learning_rate": 0.3, "primacy_scale": 1.0,
    "primacy_decay": 0.1, "stop_probability_scale": 0.05, "stop_probability_growth": 0.2,
    "choice_sensitivity": 2.0,
}
SPEC_TRIALS = np.array([[6, 5, 1, 2, 0, 0], [1, 2, 3, 4, 5, 6]])


def test_known_answer_from_the_spec():
    value = float(cmrlab.log_likelihood(SPEC_PARAMETERS, SPEC_TRIALS, 6))
    assert value == pytest.approx(-14.955646, rel=1e-4)


def test_known_answer_from_the_reference_in_float64():
    total = sum(trial_log_likelihood(SPEC_PARAMETERS, 6, row) for row in SPEC_TRIALS)
    assert total == pytest.approx(-14.955646, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference_on_random_data_with_intrusions_and_repeats(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(3, 15))
    params = random_parameters(rng)
    rows = np.zeros((12, L + 4), int)
    for row in rows:
        n = int(rng.integers(0, L + 5))
        row[:n] = rng.integers(-1, L + 1, n)
        row[:n][row[:n] == 0] = -1
    expected = sum(trial_log_likelihood(params, L, row) for row in rows)
    actual = float(cmrlab.log_likelihood(params, rows, L))
    assert actual == pytest.approx(expected, rel=2e-5)


def test_per_trial_values_and_empty_recall():
    params = as_parameters(SPEC_PARAMETERS)
    rows = jnp.array([[6, 5, 1, 2, 0, 0], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]])
    per_trial = np.asarray(trial_log_likelihoods(params, rows, 6))
    expected = [trial_log_likelihood(SPEC_PARAMETERS, 6, r) for r in np.asarray(rows)]
    np.testing.assert_allclose(per_trial, expected, rtol=1e-5)
    assert per_trial[2] == pytest.approx(np.log(0.05), rel=1e-6)  # stop before any recall


def test_padding_width_does_not_matter():
    narrow = cmrlab.log_likelihood(SPEC_PARAMETERS, SPEC_TRIALS, 6)
    wide = cmrlab.log_likelihood(SPEC_PARAMETERS, np.pad(SPEC_TRIALS, ((0, 0), (0, 7))), 6)
    assert float(narrow) == pytest.approx(float(wide), rel=1e-7)


def test_gradient_is_finite_at_the_defaults():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 16, 200))
    grad = jax.grad(lambda p: cmrlab.log_likelihood(p, rows, 16))(dict(cmrlab.DEFAULT_PARAMETERS))
    assert set(grad) == set(cmrlab.PARAMETER_NAMES)
    values = np.array([float(v) for v in grad.values()])
    assert np.isfinite(values).all() and (values != 0).all()


def test_gradient_matches_finite_differences():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(1), cmrlab.DEFAULT_PARAMETERS, 10, 100))
    loglik = cmrlab.log_likelihood_function(rows, 10)
    base = dict(cmrlab.DEFAULT_PARAMETERS)
    grad = jax.grad(loglik)(base)
    for name in ("encoding_drift_rate", "choice_sensitivity", "stop_probability_growth"):
        h = 1e-2 * base[name]
        up = float(loglik({**base, name: base[name] + h}))
        down = float(loglik({**base, name: base[name] - h}))
        assert float(grad[name]) == pytest.approx((up - down) / (2 * h), rel=0.02)


def test_jit_and_vmap_over_parameter_sets():
    rows = SPEC_TRIALS
    loglik = cmrlab.log_likelihood_function(rows, 6)
    drifts = jnp.array([0.3, 0.5, 0.7])
    batched = jax.jit(jax.vmap(lambda d: loglik({**SPEC_PARAMETERS, "encoding_drift_rate": d})))(drifts)
    singles = [float(cmrlab.log_likelihood({**SPEC_PARAMETERS, "encoding_drift_rate": float(d)}, rows, 6))
               for d in drifts]
    np.testing.assert_allclose(batched, singles, rtol=1e-6)
    assert float(batched[1]) == pytest.approx(-14.955646, rel=1e-4)


def test_simulated_data_are_most_likely_near_the_generating_parameters():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(5), cmrlab.DEFAULT_PARAMETERS, 16, 1000))
    loglik = cmrlab.log_likelihood_function(rows, 16)
    true = float(loglik(cmrlab.DEFAULT_PARAMETERS))
    for name, factor in [("encoding_drift_rate", 1.5), ("choice_sensitivity", 0.5), ("primacy_scale", 0.3)]:
        moved = {**cmrlab.DEFAULT_PARAMETERS, name: cmrlab.DEFAULT_PARAMETERS[name] * factor}
        assert float(loglik(moved)) < true


@pytest.mark.parametrize("bad,message", [
    (np.array([[1.0, 2.0]]), "integer"),
    (np.array([1, 2, 0]), "2-D"),
    (np.array([[1, 7, 0]]), r"recalls\[0, 1\] = 7 is outside -1..6"),
    (np.array([[1, 0, 2]]), "after 0 padding"),
    (np.array([[-2, 0]]), "outside"),
])
def test_bad_recall_matrices(bad, message):
    with pytest.raises(ValueError, match=message):
        cmrlab.log_likelihood(SPEC_PARAMETERS, bad, 6)
