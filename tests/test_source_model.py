"""The full model (source and semantic context, task shifts) against the float64 reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab import CMR, source_model, source_recall_phase
from cmrlab.parameters import as_full_parameters
from cmrlab.study_lists import prepare_lists

from reference import ReferenceSourceCMR, similarity_block
from test_model import random_parameters


def random_full_parameters(rng, zero_supports=False):
    params = random_parameters(rng)
    params.update(
        source_drift_rate=float(rng.uniform(0.05, 0.95)),
        shift_drift_rate=float(rng.uniform(0.05, 0.9)),
        source_learning_rate=float(rng.uniform(0.05, 0.8)),
        semantic_scale=float(rng.uniform(0.2, 4.0)),
    )
    if zero_supports:
        params.update(start_drift_rate=0.0, shared_support=0.0, item_support=0.0)
    return params


def random_lists(rng, n, L, pool=40, n_sources=2):
    """Random words, trains of tasks with shifts, and a pool similarity with negative values."""
    similarity = rng.uniform(-0.4, 1.0, (pool, pool))
    similarity[np.arange(pool), np.arange(pool)] = 1.0
    items = np.array([rng.choice(pool, L, replace=False) for _ in range(n)])
    sources = np.zeros((n, L), int)
    for row in sources:
        k, task = 0, int(rng.integers(n_sources))
        while k < L:
            length = int(rng.integers(1, 5))
            row[k:k + length] = task
            task = (task + int(rng.integers(1, n_sources))) % n_sources
            k += length
    sources[0, 0], sources[0, -1] = 0, n_sources - 1  # the first list has a shift
    return items, sources, similarity


@pytest.mark.parametrize("seed", range(5))
def test_one_list_matches_the_reference_outcome_by_outcome(seed):
    rng = np.random.default_rng(seed)
    L, n_sources = 9, 2 + seed % 2
    params = random_full_parameters(rng, zero_supports=seed % 2 == 1)
    items, sources, similarity = random_lists(rng, 1, L, n_sources=n_sources)
    block = similarity_block(similarity, items[0])
    assert (block < 0).any(), "negative similarities are part of the test"
    ref = ReferenceSourceCMR(L, params, sources[0], block, n_sources)
    model = CMR(L, params, study_items=items[0], sources=sources[0], similarity=similarity)
    assert not model.is_base_model and model.context.shape == (2 * L,)
    np.testing.assert_allclose(model.mcf, ref.mcf_t, rtol=1e-6, atol=1e-6)
    for item in range(1, L + 1):
        ref.study_next()
        model = model.experience(item)
        np.testing.assert_allclose(model.context, ref.ct, atol=3e-6)
        np.testing.assert_allclose(model.source_context, ref.cs, atol=3e-6)
    for mine, theirs in [(model.mfc, ref.mfc_t), (model.mcf, ref.mcf_t),
                         (model.mfc_source, ref.mfc_s), (model.mcf_source, ref.mcf_s)]:
        np.testing.assert_allclose(mine, theirs, rtol=2e-5, atol=2e-6)
    ref.start_recall()
    model = model.start_retrieving()
    for item in list(rng.permutation(L)[: int(rng.integers(1, L + 1))] + 1):
        np.testing.assert_allclose(model.activations(), ref.activations(), rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(model.outcome_probabilities(), ref.probabilities(), rtol=2e-4, atol=1e-6)
        ref.recall(int(item))
        model = model.retrieve(int(item))
    np.testing.assert_allclose(model.outcome_probabilities(), ref.probabilities(), rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_many_lists_in_activation_coordinates_match_the_reference(seed):
    rng = np.random.default_rng(10 + seed)
    n, L = 6, 10
    params = random_full_parameters(rng, zero_supports=seed == 0)
    items, sources, similarity = random_lists(rng, n, L, n_sources=2 + seed % 2)
    data = prepare_lists(n, L, items, sources, similarity)
    full = as_full_parameters(params)
    tables, rs = source_recall_phase.study(full, jnp.asarray(data.sources), jnp.asarray(data.semantic),
                                           data.n_sources)
    refs = []
    for j in range(n):
        ref = ReferenceSourceCMR(L, params, sources[j], similarity_block(similarity, items[j]), data.n_sources)
        ref.study_all()
        ref.start_recall()
        refs.append(ref)
    orders = np.array([rng.permutation(L) + 1 for _ in range(n)])
    orders[0, L // 2:] = 0  # a stop in the middle of one list (then P(stop) = 1)
    for t in range(L):
        expected = np.array([ref.probabilities() for ref in refs])
        np.testing.assert_allclose(source_recall_phase.outcome_probabilities(rs, full), expected,
                                   rtol=3e-4, atol=1e-6)
        choice = jnp.asarray(orders[:, t])
        log_p = np.asarray(source_recall_phase.outcome_log_probability(rs, full, choice))
        np.testing.assert_allclose(log_p, np.log(expected[np.arange(n), orders[:, t]]), rtol=2e-4, atol=2e-5)
        rs = source_recall_phase.apply(rs, source_recall_phase.table_rows(tables, choice), full, choice)
        for ref, item in zip(refs, orders[:, t]):
            if item > 0:
                ref.recall(int(item))
            else:
                ref.recallable[:] = False  # stopped


def test_initial_state_layout():
    rng = np.random.default_rng(0)
    L = 5
    params = {**cmrlab.DEFAULT_PARAMETERS, "learning_rate": 0.3, "item_support": 2.0, "shared_support": 0.5,
              "semantic_scale": 2.0, "source_learning_rate": 0.1}
    items, sources, similarity = random_lists(rng, 1, L)
    model = CMR(L, params, study_items=items[0], sources=sources[0], similarity=similarity)
    block = similarity_block(similarity, items[0])
    expected = np.zeros((2 * L, L))
    expected[1:L + 1] = 0.5 + 1.5 * np.eye(L) + 2.0 * block
    np.testing.assert_allclose(model.mcf, expected, rtol=1e-6, atol=1e-6)
    assert (np.asarray(model.mcf)[L + 1:] == 0).all(), "placeholder rows start empty"
    np.testing.assert_array_equal(model.context, np.eye(2 * L)[0])
    np.testing.assert_array_equal(model.source_context, np.eye(2)[sources[0, 0]])
    np.testing.assert_allclose(model.mfc, 0.7 * np.eye(L, 2 * L, k=1), rtol=1e-6)
    assert (np.asarray(model.mfc_source) == 0).all() and (np.asarray(model.mcf_source) == 0).all()


def test_each_shift_has_its_own_placeholder_and_learns_nothing():
    L = 8
    sources = np.array([0, 0, 1, 1, 0, 1, 1, 1])  # shifts before positions 3, 5 and 6
    params = {**cmrlab.DEFAULT_PARAMETERS, "shift_drift_rate": 0.6, "source_drift_rate": 0.5,
              "source_learning_rate": 0.2, "encoding_drift_rate": 0.3}
    model = CMR(L, params, sources=sources)
    placeholder_use = []
    for item in range(1, L + 1):
        model = model.experience(item)
        placeholder_use.append(np.asarray(model.context)[L + 1:] > 1e-6)
    # the m-th shift switches on unit L + m, and units of later shifts stay 0 until then
    assert not placeholder_use[1].any()
    assert placeholder_use[2].tolist() == [True] + [False] * (L - 2)
    assert placeholder_use[4][:2].tolist() == [True, True] and not placeholder_use[4][2:].any()
    assert placeholder_use[5][:3].all() and not placeholder_use[5][3:].any()
    assert int(model.state.shift_count) == 3
    # only item features learn: M^FC_t rows are (1 - gamma) e_i + gamma c_t, no placeholder rows
    assert model.mfc.shape == (L, 2 * L) and model.mfc_source.shape == (L, 2)
    # the primacy gradient advanced once per item, not per shift
    phi = params["primacy_scale"] * np.exp(-params["primacy_decay"] * np.arange(L)) + 1
    start = CMR(L, params, sources=sources).mcf
    learned = np.asarray(model.mcf) - np.asarray(start)
    contexts = learned / phi  # each column = the context at that item's study
    np.testing.assert_allclose(np.linalg.norm(contexts, axis=0), 1.0, atol=1e-5)


def test_shift_disruption_drives_context_away_from_the_previous_train():
    L = 6
    sources = np.array([0, 0, 0, 1, 1, 1])
    base = {**cmrlab.DEFAULT_PARAMETERS, "source_learning_rate": 0.1}

    def overlap_across_shift(d):
        model = CMR(L, {**base, "shift_drift_rate": d}, sources=sources)
        contexts = []
        for item in range(1, L + 1):
            model = model.experience(item)
            contexts.append(np.asarray(model.context))
        return contexts[2] @ contexts[3]

    assert overlap_across_shift(0.9) < overlap_across_shift(0.3) < overlap_across_shift(0.0)


def test_without_new_mechanisms_the_object_is_the_base_model():
    params = {**cmrlab.DEFAULT_PARAMETERS, "source_drift_rate": 0.4, "shift_drift_rate": 0.0,
              "source_learning_rate": 0.0, "semantic_scale": 0.0, "accumulator_leak": 0.2}
    rng = np.random.default_rng(1)
    items, sources, similarity = random_lists(rng, 1, 7)
    base = CMR(7, cmrlab.DEFAULT_PARAMETERS)
    for model in (CMR(7, params), CMR(7, params, sources=sources[0], study_items=items[0], similarity=similarity)):
        assert model.is_base_model
        for item in range(1, 8):
            model = model.experience(item)
        assert model.source_context is None
    for item in range(1, 8):
        base = base.experience(item)
    np.testing.assert_array_equal(model.start_retrieving().outcome_probabilities(),
                                  base.start_retrieving().outcome_probabilities())


def test_full_model_with_mechanisms_at_zero_agrees_with_the_base_model():
    # The full model's code path, forced with a traced source_learning_rate of 0,
    # computes the base model (up to float32 rounding).
    rng = np.random.default_rng(2)
    L, params = 9, random_parameters(rng)

    @jax.jit
    def probabilities(zero):
        model = CMR(L, {**params, "source_learning_rate": zero})
        assert not model.is_base_model
        for item in range(1, L + 1):
            model = model.experience(item)
        model = model.start_retrieving().retrieve(L).retrieve(3)
        return model.outcome_probabilities()

    base = CMR(L, params)
    for item in range(1, L + 1):
        base = base.experience(item)
    expected = base.start_retrieving().retrieve(L).retrieve(3).outcome_probabilities()
    np.testing.assert_allclose(probabilities(0.0), expected, rtol=1e-5, atol=1e-7)


def test_the_object_api_is_a_pytree_and_differentiable():
    rng = np.random.default_rng(3)
    items, sources, similarity = random_lists(rng, 1, 6)

    def p_first(scale):
        params = {**cmrlab.DEFAULT_PARAMETERS, "semantic_scale": scale, "source_learning_rate": 0.2}
        model = CMR(6, params, study_items=items[0], sources=sources[0], similarity=similarity)
        for item in range(1, 7):
            model = model.experience(item)
        return model.start_retrieving().outcome_probabilities()[1]

    value, gradient = jax.jit(jax.value_and_grad(p_first))(1.5)
    assert np.isfinite(gradient) and gradient != 0
    h = 1e-2
    assert float(gradient) == pytest.approx((float(p_first(1.5 + h)) - float(p_first(1.5 - h))) / (2 * h),
                                            rel=0.02)


@pytest.mark.parametrize("kwargs,message", [
    ({"sources": np.zeros(6, int)}, "without a second source"),
    ({"sources": np.array([0, 1, 0, 1, 0])}, r"shape \(5,\)"),
    ({"study_items": np.arange(6)}, "without similarity"),
    ({"similarity": np.eye(10)}, "without study_items"),
    ({"study_items": np.arange(6) + 5, "similarity": np.eye(10)}, r"study_items\[0, 5\] = 10 is outside"),
    ({"study_items": np.arange(6), "similarity": np.ones((10, 9))}, "square"),
])
def test_bad_list_data_for_the_object_api(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CMR(6, cmrlab.DEFAULT_PARAMETERS, **kwargs)


def test_reduces_to_base_rule():
    full = as_full_parameters({**cmrlab.DEFAULT_PARAMETERS, "source_drift_rate": 0.5})
    assert source_model.reduces_to_base(full, has_sources=True, has_semantics=True)
    with_shift = full._replace(shift_drift_rate=np.float32(0.3))
    assert source_model.reduces_to_base(with_shift, has_sources=False, has_semantics=False)
    assert not source_model.reduces_to_base(with_shift, has_sources=True, has_semantics=False)
    with_semantics = full._replace(semantic_scale=np.float32(1.0))
    assert source_model.reduces_to_base(with_semantics, has_sources=True, has_semantics=False)
    assert not source_model.reduces_to_base(with_semantics, has_sources=False, has_semantics=True)
    # learned source associations add phi_k L_sw to every item even without sources
    assert not source_model.reduces_to_base(full._replace(source_learning_rate=np.float32(0.1)), False, False)
