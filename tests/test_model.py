import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab import CMR
from cmrlab.model import integrate, normalize

from reference import ReferenceCMR


def random_parameters(rng):
    params = {}
    for p in cmrlab.PARAMETERS:
        upper = min(p.upper, 10.0)
        params[p.name] = float(rng.uniform(0.02, upper * 0.98))
    params["choice_sensitivity"] = float(rng.uniform(0.5, 8.0))
    params["stop_probability_scale"] = float(rng.uniform(0.01, 0.3))
    params["stop_probability_growth"] = float(rng.uniform(0.05, 0.6))
    return params


def test_seed_document_example_runs_as_written():
    params = cmrlab.DEFAULT_PARAMETERS

    def simulate_single_trial(key, presentations):
        model = CMR(list_length=len(presentations), parameters=params)
        for item_id in presentations:
            model = model.experience(item_id)
        model = model.start_retrieving()
        return model.outcome_probabilities()

    keys = jax.random.split(jax.random.PRNGKey(0), 100)
    presentations = jnp.tile(jnp.arange(1, 17), (100, 1))
    out = jax.vmap(simulate_single_trial)(keys, presentations)
    assert out.shape == (100, 17)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def test_initial_state_follows_the_spec():
    p = {**cmrlab.DEFAULT_PARAMETERS, "learning_rate": 0.3, "item_support": 2.0, "shared_support": 0.5}
    model = CMR(4, p)
    np.testing.assert_array_equal(model.context, [1, 0, 0, 0, 0])
    mfc = np.zeros((4, 5))
    mfc[np.arange(4), np.arange(1, 5)] = 0.7
    np.testing.assert_allclose(model.mfc, mfc, rtol=1e-6)
    mcf = np.full((5, 4), 0.5)
    mcf[0] = 0
    mcf[np.arange(1, 5), np.arange(4)] = 2.0
    np.testing.assert_allclose(model.mcf, mcf)


def test_integrate_keeps_unit_length_and_matches_the_formula():
    rng = np.random.default_rng(1)
    c = normalize(jnp.asarray(rng.random(9), jnp.float32))
    c_in = jnp.asarray(rng.random(9), jnp.float32)
    beta = 0.37
    new = integrate(c, c_in, beta)
    np.testing.assert_allclose(jnp.linalg.norm(new), 1.0, atol=1e-6)
    u = np.asarray(c_in) / np.linalg.norm(c_in)
    d = float(np.asarray(c) @ u)
    rho = np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d
    np.testing.assert_allclose(new, rho * np.asarray(c) + beta * u, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_matches_numpy_reference_outcome_by_outcome(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(3, 13))
    params = random_parameters(rng)
    order = rng.permutation(L) + 1
    ref, model = ReferenceCMR(L, params), CMR(L, params)
    for item in order:
        ref.study(int(item))
        model = model.experience(int(item))
    np.testing.assert_allclose(model.mcf, ref.mcf, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(model.mfc, ref.mfc, rtol=2e-5, atol=1e-6)
    ref.start_recall()
    model = model.start_retrieving()
    for item in rng.permutation(L)[: int(rng.integers(0, L + 1))] + 1:
        np.testing.assert_allclose(model.context, ref.c, atol=2e-6)
        np.testing.assert_allclose(model.outcome_probabilities(), ref.probabilities(), rtol=2e-4, atol=1e-6)
        ref.recall(int(item))
        model = model.retrieve(int(item))
    np.testing.assert_allclose(model.outcome_probabilities(), ref.probabilities(), rtol=2e-4, atol=1e-6)


def test_probabilities_are_a_distribution_at_every_step():
    rng = np.random.default_rng(3)
    for _ in range(5):
        params, L = random_parameters(rng), int(rng.integers(2, 20))
        model = CMR(L, params)
        for item in range(1, L + 1):
            model = model.experience(item)
        model = model.start_retrieving()
        for item in rng.permutation(L) + 1:
            probs = np.asarray(model.outcome_probabilities())
            assert (probs >= 0).all()
            np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-5)
            model = model.retrieve(int(item))
        np.testing.assert_array_equal(model.outcome_probabilities(), np.eye(L + 1)[0])


def test_recalled_items_get_zero_probability_and_stop_ends_recall():
    model = CMR(5, cmrlab.DEFAULT_PARAMETERS)
    for item in range(1, 6):
        model = model.experience(item)
    model = model.start_retrieving().retrieve(3)
    assert float(model.outcome_probabilities()[3]) == 0.0
    stopped = model.retrieve(0)
    np.testing.assert_array_equal(stopped.outcome_probabilities(), np.eye(6)[0])


def test_model_is_a_pytree_through_jit_and_grad():
    model = CMR(6, cmrlab.DEFAULT_PARAMETERS)
    leaves, treedef = jax.tree_util.tree_flatten(model)
    assert isinstance(jax.tree_util.tree_unflatten(treedef, leaves), CMR)

    @jax.jit
    def after_study(model):
        for item in range(1, 7):
            model = model.experience(item)
        return model.start_retrieving()

    studied = after_study(model)
    assert isinstance(studied, CMR) and studied.list_length == 6

    def p_first(drift):
        params = {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": drift}
        return after_study(CMR(6, params)).outcome_probabilities()[6]

    gradient = jax.grad(p_first)(0.46)
    assert np.isfinite(gradient) and gradient != 0


def test_bad_list_length():
    with pytest.raises(ValueError, match="list_length"):
        CMR(0, cmrlab.DEFAULT_PARAMETERS)


@pytest.mark.parametrize("seed", range(4))
def test_batched_recall_phase_matches_the_model_outcome_by_outcome(seed):
    from cmrlab import recall_phase
    from cmrlab.simulation import studied_state

    rng = np.random.default_rng(100 + seed)
    L = int(rng.integers(3, 14))
    params = random_parameters(rng)
    model = CMR(L, params)
    for item in range(1, L + 1):
        model = model.experience(item)
    model = model.start_retrieving()
    state = studied_state(model.params, L)
    tables = recall_phase.recall_tables(state)
    rs = recall_phase.start(state, (1,))
    for item in list(rng.permutation(L)[: int(rng.integers(0, L + 1))] + 1) + [0]:
        np.testing.assert_allclose(recall_phase.outcome_probabilities(rs, model.params)[:, 0],
                                   model.outcome_probabilities(), rtol=1e-4, atol=1e-7)
        expected = np.log(np.asarray(model.outcome_probabilities())[item])
        actual = float(recall_phase.outcome_log_probability(rs, model.params, jnp.array([item]))[0])
        assert actual == pytest.approx(expected, rel=1e-4, abs=1e-5)
        model = model.retrieve(int(item))
        rs = recall_phase.apply(rs, tables, model.params, jnp.array([item]))
