"""The full model's likelihood: known answer on Polyn et al. (2009), reference, reduction, bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab.likelihood import _source_log_likelihood, list_log_likelihoods
from cmrlab.parameters import LUCE_PARAMETER_NAMES, as_full_parameters, pack_luce
from cmrlab.recalls import clean_recalls
from cmrlab.study_lists import prepare_lists

import polyn_data
from reference import similarity_block, source_trial_log_likelihood
from test_source_model import random_full_parameters, random_lists

KNOWN_ANSWER_PARAMETERS = {
    "encoding_drift_rate": 0.77, "start_drift_rate": 0.0, "recall_drift_rate": 0.51,
    "shared_support": 0.0, "item_support": 0.0, "learning_rate": 0.898, "primacy_scale": 1.07,
    "primacy_decay": 0.98, "stop_probability_scale": 0.02, "stop_probability_growth": 0.25,
    "choice_sensitivity": 3.0, "source_drift_rate": 0.59, "shift_drift_rate": 0.77,
    "source_learning_rate": 0.129, "semantic_scale": 2.78,
}
KNOWN_ANSWER = -298.99670739748854


@pytest.fixture(scope="module")
def polyn():
    return polyn_data.load()


def test_known_answer_first_ten_polyn_lists(polyn):
    data = polyn
    value = cmrlab.log_likelihood(KNOWN_ANSWER_PARAMETERS, data.clean_recalls()[:10], 24,
                                  study_items=data.study_items[:10], sources=data.sources[:10],
                                  similarity=data.similarity)
    assert float(value) == pytest.approx(KNOWN_ANSWER, rel=1e-4)


def test_known_answer_from_the_reference_in_float64(polyn):
    data = polyn
    total = sum(
        source_trial_log_likelihood(KNOWN_ANSWER_PARAMETERS, 24, data.recalls[j], data.sources[j],
                                    similarity_block(data.similarity, data.study_items[j]), n_sources=2)
        for j in range(10))
    assert total == pytest.approx(KNOWN_ANSWER, abs=1e-9)


def test_polyn_data_as_the_tests_read_it(polyn):
    assert polyn.recalls.shape[0] == 1262 and polyn.study_items.shape == (1262, 24)
    assert (np.bincount(polyn.list_type) == [312, 319, 631]).all()
    assert polyn.study_items.min() >= 0 and polyn.study_items.max() < 1297
    shift_lists = polyn.list_type == 2
    assert (np.diff(polyn.sources[shift_lists], axis=1) != 0).any(axis=1).all()
    assert (np.diff(polyn.sources[~shift_lists], axis=1) == 0).all()


@pytest.mark.parametrize("seed", range(4))
def test_matches_the_reference_on_random_lists(seed):
    rng = np.random.default_rng(seed)
    n, L = 8, 10
    params = random_full_parameters(rng, zero_supports=seed % 2 == 0)
    items, sources, similarity = random_lists(rng, n, L, n_sources=2 + seed // 3)
    rows = np.zeros((n, L + 4), int)
    for row in rows:
        k = int(rng.integers(0, L + 5))
        row[:k] = rng.integers(-1, L + 1, k)
        row[:k][row[:k] == 0] = -1
    n_sources = int(sources.max()) + 1
    expected = [source_trial_log_likelihood(params, L, rows[j], sources[j],
                                            similarity_block(similarity, items[j]), n_sources)
                for j in range(n)]
    loglik = cmrlab.log_likelihood(params, rows, L, study_items=items, sources=sources, similarity=similarity)
    assert float(loglik) == pytest.approx(sum(expected), rel=2e-5)
    data = prepare_lists(n, L, items, sources, similarity)
    per_list = list_log_likelihoods(pack_luce(as_full_parameters(params)), clean_recalls(rows, L),
                                    data.sources, data.semantic, n_sources=data.n_sources)
    np.testing.assert_allclose(per_list, expected, rtol=2e-5, atol=1e-5)


def test_sources_only_and_semantics_only(polyn):
    rng = np.random.default_rng(7)
    L, n = 10, 8
    params = random_full_parameters(rng)
    items, sources, similarity = random_lists(rng, n, L)
    rows = np.array([np.pad(rng.permutation(L)[:5] + 1, (0, L - 5)) for _ in range(n)])
    only_sources = sum(source_trial_log_likelihood(params, L, rows[j], sources[j], None) for j in range(n))
    only_semantics = sum(source_trial_log_likelihood(params, L, rows[j], None, similarity_block(similarity, items[j]))
                         for j in range(n))
    assert float(cmrlab.log_likelihood(params, rows, L, sources=sources)) == pytest.approx(only_sources, rel=2e-5)
    assert float(cmrlab.log_likelihood(params, rows, L, study_items=items, similarity=similarity)) == \
        pytest.approx(only_semantics, rel=2e-5)


def test_one_list_broadcasts_to_every_row():
    rng = np.random.default_rng(8)
    L = 9
    params = random_full_parameters(rng)
    items, sources, similarity = random_lists(rng, 1, L)
    rows = np.array([rng.permutation(L)[:4] + 1 for _ in range(5)])
    shared = cmrlab.log_likelihood(params, rows, L, study_items=items[0], sources=sources[0], similarity=similarity)
    repeated = cmrlab.log_likelihood(params, rows, L, study_items=np.repeat(items, 5, 0),
                                     sources=np.repeat(sources, 5, 0), similarity=similarity)
    assert float(shared) == pytest.approx(float(repeated), rel=1e-6)


HK_OFF = {"source_drift_rate": 0.0, "shift_drift_rate": 0.0, "source_learning_rate": 0.0,
          "semantic_scale": 0.0, "accumulator_leak": 0.2, "accumulator_inhibition": 0.3,
          "accumulator_noise": 0.4, "accumulator_time_constant": 500.0}


@pytest.fixture(scope="module")
def hk2014():
    return cmrlab.datasets.load_healey_kahana2014(no_task_only=True)


def test_reduction_to_the_base_model_on_hk2014_is_bit_for_bit(hk2014):
    recalls = hk2014.recalls
    for preset in ("spec defaults (Murdock 1962 LL20-1s fit)", "Healey & Kahana (2014) median fits"):
        base = cmrlab.PRESETS[preset]
        explicit = {**base, **HK_OFF}
        assert np.array_equal(cmrlab.log_likelihood(base, recalls, 16), cmrlab.log_likelihood(explicit, recalls, 16))
        prepared = cmrlab.log_likelihood_function(recalls, 16)
        assert np.array_equal(prepared(base), prepared(explicit))
        # sources or similarities given with their mechanisms off: still the base model
        tasks = np.tile(np.arange(16) % 2, (len(recalls), 1))
        sim = np.random.default_rng(0).uniform(-1, 1, (20, 20))
        with_data = cmrlab.log_likelihood({**explicit, "source_drift_rate": 0.7}, recalls, 16, sources=tasks,
                                          study_items=np.arange(16), similarity=sim)
        assert np.array_equal(with_data, cmrlab.log_likelihood(base, recalls, 16))
        key = jax.random.PRNGKey(11)
        assert np.array_equal(cmrlab.simulate(key, base, 16, 3000), cmrlab.simulate(key, explicit, 16, 3000))


def test_full_path_with_mechanisms_at_zero_agrees_with_the_base_path(hk2014):
    recalls = hk2014.recalls[:500]
    base = dict(cmrlab.DEFAULT_PARAMETERS)
    full_path = jax.jit(lambda zero: cmrlab.log_likelihood({**base, "source_learning_rate": zero}, recalls, 16))
    assert float(full_path(0.0)) == pytest.approx(float(cmrlab.log_likelihood(base, recalls, 16)), rel=1e-5)


def test_gradient_is_finite_and_matches_finite_differences(polyn):
    data = polyn
    rows = slice(0, 10)
    loglik = cmrlab.log_likelihood_function(data.clean_recalls()[rows], 24, study_items=data.study_items[rows],
                                            sources=data.sources[rows], similarity=data.similarity)
    params = {k: float(v) for k, v in KNOWN_ANSWER_PARAMETERS.items()}
    params.update(start_drift_rate=0.1, shared_support=0.05, item_support=0.2)
    grad = jax.grad(loglik)(params)
    assert all(np.isfinite(float(g)) for g in grad.values())
    for name in ("source_drift_rate", "shift_drift_rate", "source_learning_rate", "semantic_scale",
                 "encoding_drift_rate"):
        h = 1e-2 * params[name]
        up, down = float(loglik({**params, name: params[name] + h})), float(loglik({**params, name: params[name] - h}))
        assert float(grad[name]) == pytest.approx((up - down) / (2 * h), rel=0.03, abs=0.5), name


def test_vmap_over_packed_parameter_vectors_and_no_recompiling(polyn):
    data = polyn
    rows = slice(0, 10)
    clean = clean_recalls(data.clean_recalls()[rows], 24)
    prepared = prepare_lists(10, 24, data.study_items[rows], data.sources[rows], data.similarity)
    base_vector = pack_luce(as_full_parameters(KNOWN_ANSWER_PARAMETERS))
    candidates = np.stack([base_vector, base_vector * np.float32(0.95)])
    candidates[:, LUCE_PARAMETER_NAMES.index("source_learning_rate")] = [0.129, 0.3]
    batched = jax.vmap(functools.partial(list_log_likelihoods, n_sources=2), in_axes=(0, None, None, None))
    out = np.asarray(batched(candidates, clean, prepared.sources, prepared.semantic))
    assert out.shape == (2, 10)
    single = list_log_likelihoods(candidates[1], clean, prepared.sources, prepared.semantic, n_sources=2)
    np.testing.assert_allclose(out[1], single, rtol=1e-5)
    assert float(out[0].sum()) == pytest.approx(KNOWN_ANSWER, rel=1e-4)
    loglik = cmrlab.log_likelihood_function(data.clean_recalls()[rows], 24, study_items=data.study_items[rows],
                                            sources=data.sources[rows], similarity=data.similarity)
    loglik(KNOWN_ANSWER_PARAMETERS)
    size = _source_log_likelihood._cache_size()
    for drift in (0.3, 0.5, 0.9):
        loglik({**KNOWN_ANSWER_PARAMETERS, "shift_drift_rate": drift})
    assert _source_log_likelihood._cache_size() == size


@pytest.mark.parametrize("kwargs,message", [
    ({"sources": np.zeros((3, 8), int)}, r"shape \(3, 8\), but there are 4 lists \(recalls\)"),
    ({"sources": np.zeros((4, 6), int)}, "without a second source"),
    ({"sources": np.full((4, 6), 0.5)}, "integer"),
    ({"sources": -np.eye(4, 6, dtype=int)}, "negative"),
    ({"study_items": np.zeros((4, 7), int), "similarity": np.eye(9)}, r"shape \(4, 7\)"),
    ({"study_items": np.full((4, 6), 9), "similarity": np.eye(9)}, r"study_items\[0, 0\] = 9 is outside"),
    ({"study_items": np.zeros((4, 6), int), "similarity": np.ones((9, 8))}, "square"),
    ({"study_items": np.zeros((4, 6), int), "similarity": np.full((9, 9), np.nan)}, "finite"),
    ({"study_items": np.zeros((4, 6), int)}, "without similarity"),
    ({"retrieval": "accumulator"}, "accumulator has no likelihood"),
    ({"retrieval": "lca"}, "retrieval must be 'luce'"),
])
def test_bad_list_data(kwargs, message):
    rows = np.array([[1, 2, 0], [3, -1, 0], [6, 5, 4], [0, 0, 0]])
    with pytest.raises(ValueError, match=message):
        cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, rows, 6, **kwargs)
    with pytest.raises(ValueError, match=message):
        cmrlab.log_likelihood_function(rows, 6, **kwargs)


def test_parameter_names_and_bounds_of_the_full_model():
    rows = np.array([[1, 2, 0]])
    with pytest.raises(ValueError, match="unknown.*'source_drift'.*semantic_scale"):
        cmrlab.log_likelihood({**cmrlab.DEFAULT_PARAMETERS, "source_drift": 0.3}, rows, 6)
    with pytest.raises(ValueError, match=r"shift_drift_rate.*outside.*0\.95\]"):
        cmrlab.log_likelihood({**cmrlab.DEFAULT_PARAMETERS, "shift_drift_rate": 0.97}, rows, 6)
    zero_supports = {**cmrlab.DEFAULT_PARAMETERS, "item_support": 0.0, "shared_support": 0.0,
                     "start_drift_rate": 0.0}
    assert np.isfinite(float(cmrlab.log_likelihood(zero_supports, rows, 6)))


def test_simulate_works_under_jit_and_vmap():
    rng = np.random.default_rng(4)
    items, sources, similarity = random_lists(rng, 8, 10)
    lists = dict(study_items=items, sources=sources, similarity=similarity)
    preset = cmrlab.SOURCE_PRESETS["Polyn 2009 full"]
    key = jax.random.PRNGKey(2)
    traced = jax.jit(lambda s: cmrlab.simulate(key, {**preset, "semantic_scale": s}, 10, 8, **lists))(2.78)
    np.testing.assert_array_equal(traced, cmrlab.simulate(key, preset, 10, 8, **lists))
    drifts = jnp.array([0.3, 0.6])
    batched = jax.vmap(lambda d: cmrlab.simulate(key, {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": d},
                                                 10, 50))(drifts)
    single = cmrlab.simulate(key, {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": 0.6}, 10, 50)
    np.testing.assert_array_equal(batched[1], single)
