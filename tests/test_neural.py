"""cmrlab.neural: the next-recall transformer, its baselines, training and files.

Known answers on hand cases first (encoding, masks, baseline fits), then the
conventions shared with ``cmrlab.log_likelihood`` as properties (every
possible recall sequence's probability sums to 1, cleaning, the forced stop),
then checks against independent computations (the attention weights against
equinox's layer, the MM fit against scipy, simulation frequencies against the
model's own probabilities). The networks here are tiny and untrained or
trained for seconds: no test asserts a trained number that depends on the CPU.
"""

from __future__ import annotations

import itertools
import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab.datasets import RecallDataset
from cmrlab.neural import (
    LagCRPBaseline,
    NetworkConfig,
    NextRecallModel,
    SerialPositionBaseline,
    TrainSettings,
    load_next_recall,
    train_next_recall,
)
from cmrlab.neural import baselines, serialization
from cmrlab.neural.encoding import encode_recalls, scored
from cmrlab.neural.network import allowed_outcomes
from cmrlab.neural.next_recall import CHUNK, _chunk_log_likelihoods, _decision_log_probabilities, _simulate

TINY = NetworkConfig(max_list_length=4, width=16, depth=1, heads=2, mlp_width=16, dropout=0.0)


@pytest.fixture(scope="module")
def tiny():
    return NextRecallModel.untrained(TINY, key=jax.random.PRNGKey(3))


def all_sequences(L):
    """Every possible clean recall sequence of ``L`` items (distinct items, any length)."""
    rows = []
    for n in range(L + 1):
        for seq in itertools.permutations(range(1, L + 1), n):
            rows.append(list(seq) + [0] * (L - n))
    return np.array(rows)


# ----------------------------------------------------------------------------- encoding


def test_encoding_cleans_like_the_likelihood_and_scores_each_stop():
    lists = encode_recalls(np.array([[3, -1, 4, 3, 5, 0], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]]), 6, 6)
    np.testing.assert_array_equal(lists.outcomes, [[3, 4, 5, 0, 0, 0, 0], [0] * 7, [1, 2, 3, 4, 5, 6, 0]])
    np.testing.assert_array_equal(lists.n_events, [4, 1, 7])
    np.testing.assert_array_equal(scored(lists.outcomes)[0], [1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(lists.list_length, [6, 6, 6])


def test_allowed_outcomes_mask_recalled_items_and_items_beyond_the_list():
    allowed = np.asarray(allowed_outcomes(jnp.array([2, 1, 0, 0, 0]), 3, 4))
    assert allowed.shape == (5, 5)
    np.testing.assert_array_equal(allowed[0], [1, 1, 1, 1, 0])  # stop, items 1..3; item 4 is beyond L
    np.testing.assert_array_equal(allowed[1], [1, 1, 0, 1, 0])  # item 2 recalled
    np.testing.assert_array_equal(allowed[2], [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(allowed[:, 0], 1)  # stop is always possible


@pytest.mark.parametrize("recalls, list_length, message", [
    ([[1, 2, 0, 0, 0]], 5, "longer than this network was built for"),
    ([[1, 5, 0]], 3, "outside -1..3"),
    ([[1, -2, 0]], 3, "outside -1..3"),
    ([[1, 0, 2]], 3, "after 0 padding"),
    ([[1, 2]], 0, "positive int"),
    ([1, 2], 3, "2-D"),
])
def test_bad_recalls_and_list_lengths_are_refused_clearly(tiny, recalls, list_length, message):
    with pytest.raises(ValueError, match=message):
        tiny.log_likelihood(np.array(recalls), list_length)


def test_simulate_refuses_lists_longer_than_the_network(tiny):
    with pytest.raises(ValueError, match="max_list_length=4"):
        tiny.simulate(jax.random.PRNGKey(0), 5, 10)
    with pytest.raises(ValueError, match="n_trials"):
        tiny.simulate(jax.random.PRNGKey(0), 4, 0)


def test_bad_network_configs_are_refused():
    with pytest.raises(ValueError, match="must divide width"):
        NetworkConfig(width=10, heads=4).check()
    with pytest.raises(ValueError, match="dropout"):
        NetworkConfig(dropout=1.0).check()
    with pytest.raises(ValueError, match="max_list_length"):
        NetworkConfig(max_list_length=0).check()


# ----------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("L", [1, 3, 4])
def test_probabilities_of_all_possible_recall_sequences_sum_to_one(tiny, L):
    """The outcome space is CMR's: stop or an item not yet recalled, a stop ending every list."""
    sequences = all_sequences(L)
    total = np.exp(tiny.trial_log_likelihoods(sequences, L)).sum()
    assert total == pytest.approx(1.0, abs=1e-5)


def test_cmr_and_the_baselines_share_the_outcome_space():
    sequences = all_sequences(3)
    cmr = np.exp([float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, row[None], 3)) for row in sequences])
    assert cmr.sum() == pytest.approx(1.0, abs=1e-5)
    data = np.array([[1, 2, 3], [3, 2, 0], [2, 0, 0], [3, 1, 2], [0, 0, 0]])
    for baseline in (SerialPositionBaseline.fit(data, 3), LagCRPBaseline.fit(data, 3)):
        assert np.exp(baseline.trial_log_likelihoods(sequences, 3)).sum() == pytest.approx(1.0, abs=1e-12)


def test_outcome_probabilities_mask_recalled_items_and_force_the_final_stop(tiny):
    p = tiny.outcome_probabilities([], 4)
    assert p.shape == (5,) and p.sum() == pytest.approx(1.0, abs=1e-6) and (p > 0).all()
    p = tiny.outcome_probabilities([2, 4], 4)
    assert p[2] == 0 and p[4] == 0 and p.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(tiny.outcome_probabilities([1, 2, 3, 4], 4), [1, 0, 0, 0, 0])
    assert tiny.outcome_probabilities([1, 2], 2).tolist() == [1, 0, 0]  # L < M: all L recalled
    with pytest.raises(ValueError, match="repeat"):
        tiny.outcome_probabilities([1, 1], 4)
    with pytest.raises(ValueError, match="items 1..4"):
        tiny.outcome_probabilities([5], 4)


def test_log_likelihood_is_the_sum_of_the_stepwise_outcome_probabilities(tiny):
    row = [3, 1, 4]
    expected = sum(math.log(tiny.outcome_probabilities(row[:t], 4)[row[t]]) for t in range(3))
    expected += math.log(tiny.outcome_probabilities(row, 4)[0])
    assert tiny.log_likelihood(np.array([row + [0]]), 4) == pytest.approx(expected, abs=1e-5)


def test_intrusions_and_repeats_are_removed_and_padding_does_not_matter(tiny):
    raw = np.array([[3, -1, 1, 3, 4, -1, 0, 0], [-1, -1, 0, 0, 0, 0, 0, 0]])
    clean = np.array([[3, 1, 4, 0], [0, 0, 0, 0]])
    expected = tiny.log_likelihood(clean, 4)
    assert tiny.log_likelihood(raw, 4) == pytest.approx(expected, abs=1e-6)
    assert tiny.log_likelihood(np.pad(clean, ((0, 0), (0, 5))), 4) == pytest.approx(expected, abs=1e-6)
    all_recalled = tiny.trial_log_likelihoods(np.array([[1, 2, 3, 4], [1, 2, 3, 0]]), 4)
    stop_after_three = math.log(tiny.outcome_probabilities([1, 2, 3], 4)[0])
    p4 = math.log(tiny.outcome_probabilities([1, 2, 3], 4)[4])
    # the stop after all L items scores log 1 = 0
    assert all_recalled[0] - all_recalled[1] == pytest.approx(p4 - stop_after_three, abs=1e-5)


def test_predictions_are_causal(tiny):
    """What the network predicts at decision t does not depend on later recalls."""
    a = np.asarray(_decision_log_probabilities(tiny.network, jnp.array([2, 1, 3, 0, 0]), 4, 0))
    b = np.asarray(_decision_log_probabilities(tiny.network, jnp.array([2, 4, 1, 3, 0]), 4, 0))
    np.testing.assert_allclose(a[:2], b[:2], atol=1e-6)
    assert not np.allclose(a[2:4], b[2:4])


def test_lists_beyond_one_chunk_match_list_by_list(tiny):
    rng = np.random.default_rng(0)
    rows = np.zeros((CHUNK + 7, 4), int)
    for row in rows:
        n = rng.integers(0, 5)
        row[:n] = rng.permutation(4)[:n] + 1
    together = tiny.trial_log_likelihoods(rows, 4)
    one_by_one = [tiny.trial_log_likelihoods(rows[i:i + 1], 4)[0] for i in (0, CHUNK - 1, CHUNK, CHUNK + 6)]
    np.testing.assert_allclose(together[[0, CHUNK - 1, CHUNK, CHUNK + 6]], one_by_one, atol=1e-5)


def test_repeated_calls_do_not_recompile(tiny):
    rows = np.array([[1, 2, 0, 0]] * 10)
    tiny.log_likelihood(rows, 4)
    tiny.simulate(jax.random.PRNGKey(0), 4, 10)
    sizes = (_chunk_log_likelihoods._cached._cache_size(), _simulate._cached._cache_size())
    for i in range(3):
        tiny.log_likelihood(rows[: 5 + i], 4)
        tiny.simulate(jax.random.PRNGKey(i), 4, 10)
    assert (_chunk_log_likelihoods._cached._cache_size(), _simulate._cached._cache_size()) == sizes


# ----------------------------------------------------------------------------- attention


@eqx.filter_jit
def _attention_check(network, outcomes, L):
    block = network.blocks[0]
    mask = network.attention_mask(L)
    x = network.embed(outcomes, L)
    weights = block.attention_weights(x, mask)  # (heads, S, S)
    h = jax.vmap(block.attention_norm)(x)
    values = jax.vmap(block.attention.value_proj)(h).reshape(h.shape[0], network.config.heads, -1)
    mixed = jnp.einsum("hsS,Shd->shd", weights, values).reshape(h.shape[0], -1)
    return weights, mask, jax.vmap(block.attention.output_proj)(mixed), block.attention(h, h, h, mask)


def test_attention_weights_reproduce_the_library_layer(tiny):
    """The weights shown in the notebook are the ones equinox's attention uses."""
    weights, mask, mixed, expected = map(np.asarray, _attention_check(tiny.network, jnp.array([2, 3, 0, 0, 0]), 3))
    np.testing.assert_allclose(mixed, expected, atol=1e-5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.where(mask[None], 0.0, weights).max() < 1e-6  # nothing masked is attended
    maps = tiny.attention(np.array([[2, 3, 0]]), 3)
    assert maps.shape == (1, TINY.depth, TINY.heads, TINY.sequence_length, TINY.sequence_length)
    np.testing.assert_allclose(maps[0, 0], weights, atol=1e-6)
    assert maps[0, 0, :, 4:, 3].max() < 1e-6  # study token of item 4 is padding when L = 3: never attended


# ----------------------------------------------------------------------------- simulation


def test_simulate_is_a_valid_reproducible_recall_matrix(tiny):
    a = np.asarray(tiny.simulate(jax.random.PRNGKey(1), 4, 300))
    assert a.shape == (300, 4) and a.dtype == np.int32
    np.testing.assert_array_equal(a, np.asarray(tiny.simulate(jax.random.PRNGKey(1), 4, 300)))
    assert not np.array_equal(a, np.asarray(tiny.simulate(jax.random.PRNGKey(2), 4, 300)))
    np.testing.assert_array_equal(cmrlab.clean_recalls(a, 4), a)  # no intrusions, repeats or gaps


def test_simulated_sequences_follow_the_model_probabilities(tiny):
    """Frequencies of every complete sequence of 2 items against exp(log-likelihood)."""
    L, n = 2, 20_000
    sequences = all_sequences(L)
    expected = np.exp(tiny.trial_log_likelihoods(sequences, L))
    simulated = np.asarray(tiny.simulate(jax.random.PRNGKey(7), L, n))
    assert simulated.shape == (n, L) and simulated.max() == L  # L < M: items beyond L never drawn
    counts = np.array([np.all(simulated == row, axis=1).sum() for row in sequences])
    assert counts.sum() == n
    sd = np.sqrt(n * expected * (1 - expected))
    assert np.all(np.abs(counts - n * expected) < 5 * sd + 1), (counts, n * expected)


# ----------------------------------------------------------------------------- baselines


def test_serial_position_baseline_known_answer():
    # every choice from all 2 items: the MLE is the choice share, with a = 1 virtual choice of each
    data = np.array([[1, 0], [1, 0], [2, 0], [0, 0]])
    model = SerialPositionBaseline.fit(data, 2, pseudo_count=1.0)
    np.testing.assert_allclose(model.item_weights, [3 / 5, 2 / 5])
    # stops: at r = 0, 1 of 4 lists (+1)/(+2); at r = 1, 3 of 3
    np.testing.assert_allclose(model.stop, [2 / 6, 4 / 5, 1.0])
    p = model.outcome_probabilities([], 2)
    np.testing.assert_allclose(p, [1 / 3, 2 / 3 * 3 / 5, 2 / 3 * 2 / 5])
    np.testing.assert_allclose(model.outcome_probabilities([1], 2), [4 / 5, 0, 1 / 5])
    expected = math.log(2 / 3 * 3 / 5) + math.log(4 / 5)
    assert model.log_likelihood(np.array([[1, -1, 1]]), 2) == pytest.approx(expected)


def test_lag_crp_baseline_known_answer():
    # 3 items; transitions: 1->2 (lag +1, from {2, 3}), 2->1 (lag -1, from {1, 3})
    data = np.array([[1, 2, 0], [2, 1, 0]])
    model = LagCRPBaseline.fit(data, 3, pseudo_count=1.0)
    np.testing.assert_allclose(model.first_weights, [2 / 5, 2 / 5, 1 / 5])  # PFR with +1 each
    table = model.weight_table()
    assert table.shape == (4, 3)
    g = model.lag_weights  # lags -2..2
    np.testing.assert_allclose(table[1], [g[2], g[3], g[4]])  # after item 1: lags 0, +1, +2
    p = model.outcome_probabilities([1], 3)
    assert p[1] == 0 and p.sum() == pytest.approx(1.0)
    assert p[2] / p[3] == pytest.approx(g[3] / g[4])
    by_hand = np.log(model.outcome_probabilities([], 3)[1]) + np.log(p[2]) + np.log(model.outcome_probabilities([1, 2], 3)[0])
    assert model.log_likelihood(np.array([[1, 2, 0]]), 3) == pytest.approx(by_hand)


def test_luce_mm_fit_matches_a_general_optimiser():
    from scipy.optimize import minimize

    rng = np.random.default_rng(4)
    E, K = 200, 5
    available = (rng.random((E, K)) < 0.6).astype(float)
    available[np.arange(E), rng.integers(0, K, E)] = 1
    chosen = np.array([rng.choice(np.flatnonzero(row)) for row in available])
    w = baselines.luce_weights(available, chosen, pseudo_count=0.5)
    result = minimize(lambda z: -baselines.luce_objective(np.exp(z), available, chosen, 0.5),
                      np.zeros(K), method="BFGS", options={"gtol": 1e-9})
    scipy_w = np.exp(result.x) / np.exp(result.x).sum()
    np.testing.assert_allclose(w, scipy_w, rtol=1e-4)
    assert baselines.luce_objective(w, available, chosen, 0.5) >= -result.fun - 1e-8


def test_baselines_refuse_other_list_lengths_and_bad_settings():
    model = SerialPositionBaseline.fit(np.array([[1, 0]]), 2)
    with pytest.raises(ValueError, match="fitted to lists of 2 items"):
        model.log_likelihood(np.array([[1, 0, 0]]), 3)
    with pytest.raises(ValueError, match="pseudo_count"):
        LagCRPBaseline.fit(np.array([[1, 0]]), 2, pseudo_count=0)
    with pytest.raises(ValueError, match="outside -1..2"):
        LagCRPBaseline.fit(np.array([[3, 0]]), 2)


def test_baseline_simulation_matches_its_probabilities():
    data = np.array([[1, 2, 0], [2, 3, 1], [3, 0, 0], [1, 3, 2]])
    model = LagCRPBaseline.fit(data, 3)
    simulated = model.simulate(0, 3, 4000)
    first = np.bincount(simulated[:, 0], minlength=4) / 4000
    np.testing.assert_allclose(first, model.outcome_probabilities([], 3), atol=0.03)
    np.testing.assert_array_equal(cmrlab.clean_recalls(simulated, 3), simulated)


# ----------------------------------------------------------------------------- training and files


MANY = {**cmrlab.DEFAULT_PARAMETERS, "stop_probability_scale": 0.01}
FEW = {**cmrlab.DEFAULT_PARAMETERS, "stop_probability_scale": 0.5}
CONDITIONS = ("many", "few")


def _synthetic_dataset(n_subjects=12, lists_each=20, L=4, seed=0):
    """CMR-simulated lists in two study conditions that differ in how soon recall stops."""
    n = n_subjects * lists_each
    many = np.asarray(cmrlab.simulate(jax.random.PRNGKey(seed), MANY, L, n))
    few = np.asarray(cmrlab.simulate(jax.random.PRNGKey(seed + 100), FEW, L, n))
    condition = np.tile(np.array(CONDITIONS), n // 2)
    recalls = np.where((condition == "many")[:, None], many, few)
    return RecallDataset(recalls=recalls, subject=np.repeat(np.arange(n_subjects), lists_each), list_length=L,
                         presentations=np.tile(np.arange(1, L + 1), (n, 1)), condition=condition)


FAST = TrainSettings(batch_size=32, learning_rate=1e-2, warmup_steps=5, max_epochs=6, patience=6)


def _train(data, key=0, **kwargs):
    return train_next_recall(data, key=jax.random.PRNGKey(key), config=TINY, settings=FAST, conditions=CONDITIONS,
                             progress=False, **kwargs)


@pytest.fixture(scope="module")
def trained():
    data = _synthetic_dataset()
    return data, _train(data)


def test_training_learns_holds_out_subjects_and_is_reproducible(trained):
    data, model = trained
    record = model.training
    assert record.n_lists == 240 and record.n_subjects == 12
    assert record.n_validation_lists == 20  # one whole subject of 12 (10 %, rounded)
    assert 1 <= record.best_epoch <= record.epochs <= FAST.max_epochs and np.isfinite(record.validation_loss)
    held_out = _synthetic_dataset(n_subjects=4, seed=1)
    untrained = NextRecallModel.untrained(TINY, key=jax.random.PRNGKey(0))
    score = model.log_likelihood(held_out.recalls, 4, condition=held_out.condition)
    assert score > untrained.log_likelihood(held_out.recalls, 4) + 20
    again = _train(data)
    assert again.log_likelihood(held_out.recalls, 4, condition=held_out.condition) == score


def test_study_conditions_are_learned_and_named(trained):
    data, model = trained
    assert model.config.conditions == CONDITIONS
    condition = data.condition
    right = model.log_likelihood(data.recalls, 4, condition=condition)
    swapped = model.log_likelihood(data.recalls, 4, condition=np.where(condition == "few", "many", "few"))
    assert right > swapped + 20
    many = data.recalls[condition == "many"]
    assert model.log_likelihood(many, 4) == model.log_likelihood(many, 4, condition="many")  # the first is the default
    recalled = {name: (np.asarray(model.simulate(jax.random.PRNGKey(0), 4, 400, condition=name)) > 0).sum()
                for name in CONDITIONS}
    assert recalled["few"] < 0.8 * recalled["many"]
    with pytest.raises(ValueError, match="unknown study condition"):
        model.log_likelihood(many, 4, condition="other")
    with pytest.raises(ValueError, match="one per list"):
        model.log_likelihood(many, 4, condition=["few", "many"])
    with pytest.raises(ValueError, match="one condition name"):
        model.simulate(jax.random.PRNGKey(0), 4, 10, condition=["few"])
    with pytest.raises(ValueError, match="without study conditions"):
        NextRecallModel.untrained(TINY, key=jax.random.PRNGKey(0)).log_likelihood(many, 4, condition="few")
    with pytest.raises(ValueError, match="unknown study condition"):
        train_next_recall(data, key=jax.random.PRNGKey(0), config=TINY, conditions=("few",), progress=False)


def test_few_subjects_hold_out_lists_for_validation():
    model = _train(_synthetic_dataset(n_subjects=2, lists_each=30))
    assert model.training.n_validation_lists == 6  # 10 % of the 60 lists


def test_training_refuses_bad_input():
    data = _synthetic_dataset(n_subjects=2, lists_each=5, L=6)
    with pytest.raises(ValueError, match="longer than this network was built for"):
        train_next_recall(data, key=jax.random.PRNGKey(0), config=TINY, progress=False)
    with pytest.raises(TypeError, match="RecallDataset"):
        train_next_recall(np.zeros((3, 4), int), key=jax.random.PRNGKey(0), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train_next_recall(data, key=jax.random.PRNGKey(0), settings=TrainSettings(batch_size=0), progress=False)


def test_save_and_load_round_trip(trained, tmp_path):
    data, model = trained
    path = model.save(tmp_path / "model.eqx")
    loaded = load_next_recall(path)
    assert loaded.config == model.config and loaded.training == model.training
    assert loaded.log_likelihood(data.recalls, 4, data.condition) == model.log_likelihood(data.recalls, 4, data.condition)
    np.testing.assert_array_equal(loaded.simulate(jax.random.PRNGKey(0), 4, 20, "few"),
                                  model.simulate(jax.random.PRNGKey(0), 4, 20, "few"))


def test_damaged_mismatched_and_untrained_files_are_refused(trained, tmp_path):
    _, model = trained
    path = model.save(tmp_path / "model.eqx")
    raw = path.read_bytes()
    first, header, weights = raw.split(b"\n", 2)

    (tmp_path / "other.txt").write_text("hello\n")
    with pytest.raises(ValueError, match="not a cmrlab next-recall model file"):
        load_next_recall(tmp_path / "other.txt")
    (tmp_path / "short.eqx").write_bytes(raw[:-10])
    with pytest.raises(ValueError, match="truncated or edited"):
        load_next_recall(tmp_path / "short.eqx")
    (tmp_path / "v9.eqx").write_bytes(b"cmrlab-next-recall 9\n" + header + b"\n" + weights)
    with pytest.raises(ValueError, match="version 9"):
        load_next_recall(tmp_path / "v9.eqx")
    for edit in ([b'"width": 16', b'"width": 32'], [b'"heads": 2', b'"heads": 4']):
        changed = header.replace(*edit)
        assert changed != header
        (tmp_path / "edited.eqx").write_bytes(first + b"\n" + changed + b"\n" + weights)
        with pytest.raises(ValueError, match="damaged"):
            load_next_recall(tmp_path / "edited.eqx")
    # a consistent file (checksum right) whose weights belong to a network of another shape
    for other in (TINY._replace(width=8), TINY._replace(depth=2)):
        wrong = NextRecallModel(NextRecallModel.untrained(other, key=jax.random.PRNGKey(0)).network, model.training)
        path = wrong.save(tmp_path / "wrong.eqx")
        first, header, weights = path.read_bytes().split(b"\n", 2)
        fields = json.loads(header)
        fields["config"] = TINY._asdict()
        fields["sha256"] = serialization._checksum(fields["config"], weights)
        path.write_bytes(first + b"\n" + json.dumps(fields).encode() + b"\n" + weights)
        with pytest.raises(ValueError, match="mismatched"):
            load_next_recall(path)
    (tmp_path / "broken.eqx").write_bytes(first + b"\n{not json\n" + weights)
    with pytest.raises(ValueError, match="damaged header"):
        load_next_recall(tmp_path / "broken.eqx")

    untrained = NextRecallModel.untrained(TINY, key=jax.random.PRNGKey(0)).save(tmp_path / "untrained.eqx")
    with pytest.raises(ValueError, match="untrained"):
        load_next_recall(untrained)
    assert load_next_recall(untrained, allow_untrained=True).training is None


# ----------------------------------------------------------------------------- comparison and attention


def test_cmr_decision_log_probabilities_sum_to_cmrlab_log_likelihood():
    from cmrlab.neural.comparison import cmr_decision_log_probabilities

    rows = np.array([[3, -1, 1, 3, 2, 0], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 0]])
    per_decision = cmr_decision_log_probabilities(cmrlab.DEFAULT_PARAMETERS, rows, 5)
    assert per_decision.shape == (3, 6)
    expected = [float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, row[None], 5)) for row in rows]
    np.testing.assert_allclose(per_decision.sum(axis=1), expected, rtol=1e-5)
    assert per_decision[0, 4] == 0 and per_decision[2, 5] == 0  # after the stop; the forced stop scores log 1


def test_breakdown_splits_the_score_by_kind_of_decision():
    from cmrlab.neural.comparison import breakdown, n_events, per_event

    rows = np.array([[2, 1, 0], [0, 0, 0]])
    log_p = np.array([[-1.0, -2.0, -3.0, 0.0], [-4.0, 0.0, 0.0, 0.0]])
    parts = breakdown(log_p, rows, 3)
    assert parts["first recall"] == {"events": 1, "nats": -1.0}
    assert parts["later recalls"] == {"events": 1, "nats": -2.0}
    assert parts["stop"] == {"events": 2, "nats": -3.5}
    assert parts["all"] == {"events": 4, "nats": -2.5}
    assert n_events(rows, 3) == 4 and per_event(-10.0, rows, 3) == -2.5
    with pytest.raises(ValueError, match="shape"):
        breakdown(log_p[:, :3], rows, 3)


def test_model_decision_log_probabilities_sum_to_its_log_likelihoods(tiny):
    rows = np.array([[3, 1, 0, 0], [0, 0, 0, 0], [4, 3, 2, 1]])
    per_decision = tiny.decision_log_probabilities(rows, 4)
    assert per_decision.shape == (3, 5)
    np.testing.assert_allclose(per_decision.sum(axis=1), tiny.trial_log_likelihoods(rows, 4), atol=1e-6)
    assert per_decision[2, 4] == pytest.approx(0.0, abs=1e-6)  # stop after all 4 items
    empty = tiny.decision_log_probabilities(np.zeros((0, 4), int), 4)
    assert empty.shape == (0, 5) and tiny.log_likelihood(np.zeros((0, 4), int), 4) == 0.0


def test_split_subjects_is_a_fixed_partition():
    from cmrlab.neural.comparison import split_subjects

    train, test = split_subjects(np.repeat(np.arange(10, 20), 3), 7, seed=0)
    assert len(train) == 7 and len(test) == 3 and not set(train) & set(test)
    assert sorted(np.concatenate([train, test])) == list(range(10, 20))
    again = split_subjects(np.arange(10, 20), 7, seed=0)
    np.testing.assert_array_equal(train, again[0])
    with pytest.raises(ValueError, match="n_train"):
        split_subjects(np.arange(5), 5)


def test_cmr_context_similarity_matches_the_float64_reference():
    from cmrlab.neural.attention import by_lag, cmr_context_similarity
    from reference import ReferenceCMR, norm

    L = 6
    model = ReferenceCMR(L, cmrlab.DEFAULT_PARAMETERS)
    contexts = []
    for item in range(1, L + 1):
        model.study(item)
        contexts.append(model.c.copy())
    expected = np.array([[norm(model.mfc[j]) @ contexts[i] for i in range(L)] for j in range(L)])
    similarity = cmr_context_similarity(cmrlab.DEFAULT_PARAMETERS, L)
    np.testing.assert_allclose(similarity, expected, atol=1e-5)
    profile = by_lag(similarity)
    assert profile.shape == (2 * L - 1,) and np.argmax(profile) == L - 1  # strongest at lag 0 (the item itself)
    assert profile[L] > profile[L - 2]  # forward asymmetry: lag +1 above lag -1


def test_by_lag_averages_diagonals():
    from cmrlab.neural.attention import by_lag

    matrix = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [np.nan, np.nan, np.nan]])
    np.testing.assert_allclose(by_lag(matrix), [np.nan, 4.0, 3.0, 4.0, 3.0], equal_nan=True)
    np.testing.assert_allclose(by_lag(np.stack([matrix, matrix]))[1], by_lag(matrix), equal_nan=True)


def test_attention_to_study_averages_the_maps_over_recalls(tiny):
    from cmrlab.neural.attention import attention_to_study

    rows = np.array([[2, 3, 0], [3, -1, 1], [0, 0, 0]])
    result = attention_to_study(tiny, rows, 3)
    assert result.shape == (TINY.depth, TINY.heads, 3, 3)
    maps = tiny.attention(rows, 3)
    M = TINY.max_list_length
    # item 3 is recalled as list 0's 2nd recall and list 1's 1st (the intrusion is removed)
    expected = (maps[0, :, :, M + 2, :3] + maps[1, :, :, M + 1, :3]) / 2
    np.testing.assert_allclose(result[:, :, 2], expected, atol=1e-6)
    np.testing.assert_allclose(result[:, :, 1], maps[0, :, :, M + 1, :3], atol=1e-6)
    assert np.isnan(result[:, :, 0]).sum() == 0 and (result <= 1 + 1e-6).all()
