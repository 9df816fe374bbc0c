import jax
import numpy as np
import pytest

import cmrlab
from cmrlab.model import CMR
from cmrlab.simulation import _simulate, sample_outcome


def test_shape_dtype_and_reproducibility():
    key = jax.random.PRNGKey(7)
    a = cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 12, 300)
    b = cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 12, 300)
    assert a.shape == (300, 12) and np.issubdtype(a.dtype, np.integer)
    np.testing.assert_array_equal(a, b)
    c = cmrlab.simulate(jax.random.PRNGKey(8), cmrlab.DEFAULT_PARAMETERS, 12, 300)
    assert (np.asarray(a) != np.asarray(c)).any()


@pytest.mark.parametrize("preset", list(cmrlab.PRESETS))
def test_rows_are_valid_recall_sequences(preset):
    L = 15
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(1), cmrlab.PRESETS[preset], L, 500))
    assert rows.min() >= 0 and rows.max() <= L
    for row in rows:
        recalled = row[row > 0]
        assert len(set(recalled.tolist())) == len(recalled), "repeat in a simulated row"
        n = len(recalled)
        assert (row[:n] > 0).all() and (row[n:] == 0).all(), "padding must be trailing"


def test_new_parameter_values_do_not_recompile():
    key = jax.random.PRNGKey(0)
    cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 9, 77)
    size = _simulate._cache_size()
    for drift in (0.2, 0.5, 0.9):
        cmrlab.simulate(key, {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": drift}, 9, 77)
    assert _simulate._cache_size() == size


def test_first_outcome_frequencies_match_model_probabilities():
    L, n = 8, 40_000
    params = {**cmrlab.DEFAULT_PARAMETERS, "stop_probability_scale": 0.1}
    model = CMR(L, params)
    for item in range(1, L + 1):
        model = model.experience(item)
    expected = np.asarray(model.start_retrieving().outcome_probabilities())
    first = np.asarray(cmrlab.simulate(jax.random.PRNGKey(3), params, L, n))[:, 0]
    observed = np.bincount(first, minlength=L + 1) / n
    tolerance = 4 * np.sqrt(expected * (1 - expected) / n) + 1e-4
    assert (np.abs(observed - expected) < tolerance).all(), (observed, expected)


def test_second_outcome_given_first_matches_the_model():
    L, n = 6, 60_000
    params = dict(cmrlab.DEFAULT_PARAMETERS)
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(4), params, L, n))
    model = CMR(L, params)
    for item in range(1, L + 1):
        model = model.experience(item)
    model = model.start_retrieving().retrieve(L)
    expected = np.asarray(model.outcome_probabilities())
    given = rows[rows[:, 0] == L]
    observed = np.bincount(given[:, 1], minlength=L + 1) / len(given)
    tolerance = 4 * np.sqrt(expected * (1 - expected) / len(given)) + 1e-4
    assert (np.abs(observed - expected) < tolerance).all(), (observed, expected)


def test_sampler_never_draws_impossible_outcomes():
    probabilities = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 1.0], [0.5, 0.0]], np.float32)
    u = np.array([0.999999, 0.999999], np.float32)
    np.testing.assert_array_equal(sample_outcome(probabilities, u), [3, 2])
    np.testing.assert_array_equal(sample_outcome(probabilities, np.zeros(2, np.float32)), [1, 2])


def test_default_parameters_show_the_benchmark_phenomena():
    L = 16
    rows = cmrlab.simulate(jax.random.PRNGKey(2026), cmrlab.DEFAULT_PARAMETERS, L, 2000)
    curve = np.asarray(cmrlab.spc(rows, L))
    assert curve[-1] == curve.max(), "recency: the last position is recalled best"
    assert curve[0] > curve[L // 2], "primacy: position 1 above the middle"
    crp = np.asarray(cmrlab.lag_crp(rows, L))
    plus1, minus1 = crp[L], crp[L - 2]
    assert plus1 > minus1 > crp[L - 4], "contiguity with a forward asymmetry"
    assert 0.2 < plus1 < 0.4 and 0.05 < minus1 < 0.2  # spec: about 0.29 and 0.11


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive int"):
        cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, bad, 10)
    with pytest.raises(ValueError, match="positive int"):
        cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 10, bad)


@pytest.mark.parametrize("make", [np.int64, np.int32, jax.numpy.int32])
def test_numpy_and_jax_integer_sizes_are_accepted(make):
    key = jax.random.PRNGKey(6)
    expected = cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 12, 40)
    np.testing.assert_array_equal(cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, make(12), make(40)), expected)
    rows = np.asarray(expected)
    assert float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, rows, make(12))) == \
        float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, rows, 12))


def test_an_int_seed_is_taken_as_prngkey():
    np.testing.assert_array_equal(cmrlab.simulate(3, cmrlab.DEFAULT_PARAMETERS, 10, 50),
                                  cmrlab.simulate(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS, 10, 50))
    typed = jax.random.key(3)
    assert cmrlab.simulate(typed, cmrlab.DEFAULT_PARAMETERS, 10, 50).shape == (50, 10)


@pytest.mark.parametrize("bad", [None, 2.5, "seed", np.zeros(3, np.uint32), True])
def test_a_bad_key_says_what_to_pass(bad):
    with pytest.raises(ValueError, match=r"pass jax\.random\.PRNGKey\(seed\)"):
        cmrlab.simulate(bad, cmrlab.DEFAULT_PARAMETERS, 10, 5)


@pytest.mark.parametrize("chunk", [64, 100])
def test_large_simulations_run_in_chunks_with_the_numbers_of_one_call(monkeypatch, chunk):
    key = jax.random.PRNGKey(12)
    whole = np.asarray(cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 16, 300))
    monkeypatch.setattr(cmrlab.simulation, "base_chunk_size", lambda L: chunk)
    chunked = np.asarray(cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 16, 300))
    np.testing.assert_array_equal(chunked, whole)


def test_simulation_function_prepares_once_and_gives_simulates_numbers():
    from cmrlab.simulation import simulation_function

    rng = np.random.default_rng(0)
    n, L, pool = 30, 8, 40
    similarity = rng.uniform(-0.2, 1, (pool, pool))
    lists = dict(study_items=rng.integers(0, pool, (n, L)), sources=rng.integers(0, 2, (n, L)),
                 similarity=similarity)
    params = {**cmrlab.DEFAULT_PARAMETERS, "source_drift_rate": 0.5, "shift_drift_rate": 0.4,
              "source_learning_rate": 0.3, "semantic_scale": 2.0}
    run = simulation_function(L, n, **lists)
    lists["similarity"] = similarity.copy()
    similarity[:] = np.nan  # prepared: later changes to the caller's arrays do not matter
    for seed in (1, 2):
        np.testing.assert_array_equal(run(seed, params), cmrlab.simulate(seed, params, L, n, **lists))
    base = simulation_function(L, n)
    np.testing.assert_array_equal(base(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS),
                                  cmrlab.simulate(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS, L, n))
    with pytest.raises(ValueError, match="return_times=True needs retrieval='accumulator'"):
        simulation_function(L, n, return_times=True)
    with pytest.raises(ValueError, match="study_items has shape"):
        simulation_function(L, n + 1, **lists)
    with pytest.raises(ValueError, match="outside its allowed range"):
        run(1, {**params, "shift_drift_rate": 2.0})


# ---------------------------------------------------------------- list-length buckets


@pytest.mark.parametrize("preset", ["Healey & Kahana (2014) median fits", "no contiguity"])
def test_a_bucket_gives_simulates_numbers_for_every_shorter_list(preset):
    from cmrlab.simulation import _simulate_bucket, simulate_padded
    from cmrlab.widgets.explorer import wait_for_prepared_buckets

    wait_for_prepared_buckets()  # an Explorer of an earlier test may still compile a bucket in the background
    params = cmrlab.PRESETS[preset]
    before = None
    for list_length in (1, 3, 9, 16):
        for seed in (0, 1):
            key = jax.random.PRNGKey(seed)
            padded = np.asarray(simulate_padded(key, params, list_length, 300, 16))
            assert padded.shape == (300, 16)
            np.testing.assert_array_equal(padded[:, :list_length],
                                          np.asarray(cmrlab.simulate(key, params, list_length, 300)))
            assert (padded[:, list_length:] == 0).all()
        if before is None:
            before = _simulate_bucket._cache_size()
    assert _simulate_bucket._cache_size() == before  # one compiled function for every length


def test_list_length_buckets_and_their_errors():
    from cmrlab.simulation import LIST_LENGTH_BUCKETS, list_length_bucket, simulate_padded

    assert [list_length_bucket(n) for n in (1, 16, 17, 40)] == [16, 16, 40, 40]
    assert list_length_bucket(41) == 41 and max(LIST_LENGTH_BUCKETS) == 40
    with pytest.raises(ValueError, match="must hold the list"):
        simulate_padded(0, cmrlab.DEFAULT_PARAMETERS, 20, 10, 16)
    with pytest.raises(ValueError, match="base model"):
        simulate_padded(0, {**cmrlab.DEFAULT_PARAMETERS, "source_learning_rate": 0.5}, 10, 10)
