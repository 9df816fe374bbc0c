"""Polyn et al.'s leaky competitive accumulator: step by step against the reference, then over many lists."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ndtr

import cmrlab
from cmrlab import accumulator
from cmrlab.parameters import SOURCE_PRESETS, as_full_parameters

import polyn_data
from reference import ReferenceSourceCMR, accumulator_recall, accumulator_step, similarity_block
from test_source_model import random_full_parameters, random_lists

FULL = SOURCE_PRESETS["Polyn 2009 full"]


@pytest.fixture(scope="module")
def polyn():
    return polyn_data.load()


def same_task_crp(recalls, categories, subjects=None):
    """psifr's category_crp convention, written for these tests (NumPy).

    Over transitions between two consecutive valid recalls (a serial
    position 1..L at its first appearance), ``actual`` counts those whose
    two items share a category and ``possible`` those where some item not
    yet recalled (the next one included) shares the previous item's
    category. Returns actual / possible pooled over the lists, or the mean
    over ``subjects`` of each subject's ratio.
    """
    actual, possible = {}, {}
    subjects = np.zeros(len(recalls), int) if subjects is None else subjects
    L = categories.shape[1]
    for row, cats, subject in zip(recalls, categories, subjects):
        seen, previous = set(), None
        for item in row:
            if item == 0:
                break
            valid = 1 <= item <= L and item not in seen
            if valid and previous is not None:
                available = [j for j in range(1, L + 1) if j not in seen]
                actual[subject] = actual.get(subject, 0) + (cats[item - 1] == cats[previous - 1])
                possible[subject] = possible.get(subject, 0) + any(
                    cats[j - 1] == cats[previous - 1] for j in available)
            if valid:
                seen.add(item)
            previous = item if valid else None
    ratios = [actual[s] / possible[s] for s in possible if possible[s] > 0]
    return float(np.mean(ratios))


def test_same_task_crp_helper_on_a_hand_counted_case():
    # psifr's own documented example: items 4 3 1 2 with categories 1 1 2 2 -> (2, 2)
    assert same_task_crp(np.array([[4, 3, 1, 2]]), np.array([[1, 1, 2, 2]])) == 1.0
    # 1 -> 3 crosses categories while 2 (same as 1) is available; 3 -> 4 stays
    assert same_task_crp(np.array([[1, 3, 4, 0]]), np.array([[0, 0, 1, 1]])) == 0.5


def test_step_matches_the_reference_equation():
    rng = np.random.default_rng(0)
    params = {**FULL, "accumulator_leak": 0.2, "accumulator_time_constant": 300.0}
    full = as_full_parameters(params)
    for _ in range(20):
        x = rng.uniform(0, 1.2, 9)
        a = np.maximum(rng.normal(0.5, 0.6, 9), 0)
        recalled = rng.random(9) < 0.3
        noise = rng.normal(size=9)
        expected = accumulator_step(x.copy(), a, recalled, noise, params)
        actual = accumulator.step(jnp.asarray(x, jnp.float32), jnp.asarray(a, jnp.float32),
                                  jnp.asarray(recalled), jnp.asarray(noise, jnp.float32), full)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    # recalled items that reach the threshold go back to 0.95; the others may exceed it
    out = accumulator.step(jnp.array([2.0, 2.0]), jnp.zeros(2), jnp.array([True, False]), jnp.zeros(2), full)
    assert float(out[0]) == pytest.approx(0.95) and float(out[1]) > 1


def test_ties_are_broken_uniformly_in_item_order():
    crossed = jnp.array([[False, True, False, True, True]] * 4 + [[False] * 5])
    u = jnp.array([0.0, 0.34, 0.7, 0.9999, 0.5])
    np.testing.assert_array_equal(accumulator.pick_winner(crossed, u), [2, 4, 5, 5, 0])


def _reference_run(params, L, key, n, sources, items, similarity, rows=None):
    """The float64 reference on lists ``rows`` of ``n``, fed with the draws the package used."""
    rows = np.arange(n) if rows is None else rows
    list_keys = jax.random.split(key, n)[rows]
    draws = np.asarray(jax.vmap(lambda g: accumulator.slot_draws(list_keys, g, L))(
        jnp.arange(accumulator.N_SLOTS)), np.float64)  # (slots, len(rows), L + 1)
    n_sources = None if sources is None else int(np.max(sources)) + 1
    out = []
    for i, j in enumerate(rows):
        block = None if items is None else similarity_block(similarity, items[j])
        model = ReferenceSourceCMR(L, params, None if sources is None else sources[j], block, n_sources)
        model.study_all()
        model.start_recall()
        out.append(accumulator_recall(model, draws[:, i, :L], ndtr(draws[:, i, L])))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_whole_recall_periods_match_the_reference_for_fixed_draws(seed):
    rng = np.random.default_rng(seed)
    n, L = 12, 10
    params = random_full_parameters(rng)
    params.update(FULL if seed == 0 else {
        "accumulator_leak": float(rng.uniform(0.05, 0.3)), "accumulator_inhibition": float(rng.uniform(0.1, 0.5)),
        "accumulator_noise": float(rng.uniform(0.2, 0.6)), "accumulator_time_constant": float(rng.uniform(300, 800)),
        "semantic_scale": params["semantic_scale"]})
    items, sources, similarity = random_lists(rng, n, L)
    key = jax.random.PRNGKey(seed)
    recalls, times = cmrlab.simulate(key, params, L, n, study_items=items, sources=sources, similarity=similarity,
                                     retrieval="accumulator", return_times=True)
    recalls, times = np.asarray(recalls), np.asarray(times)
    reference = _reference_run(params, L, key, n, sources, items, similarity)
    assert _mismatches(recalls, times, reference) <= 1
    assert (recalls > 0).sum() > n, "the lists recall something"


def _mismatches(recalls, times, reference):
    """Lists whose recalls or times differ from the reference; each must have had a near tie.

    float32 and float64 accumulators can only decide differently when some
    accumulator came within rounding error (here 1e-5) of the threshold.
    """
    count = 0
    for j, (ref_recalls, ref_times, margin) in enumerate(reference):
        k = len(ref_recalls)
        same = (recalls[j, :k].tolist() == ref_recalls and (recalls[j, k:] == 0).all()
                and times[j, :k].tolist() == ref_times and (times[j, k:] == 0).all())
        if not same:
            assert margin < 1e-5, f"list {j} differs from the reference without a near tie (margin {margin:.2g})"
            count += 1
    return count


def test_chunked_simulation_gives_the_numbers_of_one_call(monkeypatch):
    rng = np.random.default_rng(0)
    random_full_parameters(rng)
    items, sources, similarity = random_lists(rng, 12, 10)  # the shapes of the tests above: compiled once
    kwargs = dict(study_items=items, sources=sources, similarity=similarity)
    key = jax.random.PRNGKey(5)
    whole = [np.asarray(x) for x in cmrlab.simulate(key, FULL, 10, 12, retrieval="accumulator", return_times=True,
                                                     **kwargs)]
    luce_whole = np.asarray(cmrlab.simulate(key, FULL, 10, 12, **kwargs))
    monkeypatch.setattr(cmrlab.simulation, "source_chunk_size", lambda L: 5)
    chunked = [np.asarray(x) for x in cmrlab.simulate(key, FULL, 10, 12, retrieval="accumulator", return_times=True,
                                                       **kwargs)]
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_array_equal(cmrlab.simulate(key, FULL, 10, 12, **kwargs), luce_whole)


def _simulate_polyn(polyn, preset, key):
    return [np.asarray(x) for x in cmrlab.simulate(
        key, SOURCE_PRESETS[preset], 24, 1262, study_items=polyn.study_items, sources=polyn.sources,
        similarity=polyn.similarity, retrieval="accumulator", return_times=True)]


def _summary(polyn, recalls):
    shift = polyn.list_type == 2
    p_recall = (recalls > 0).sum(axis=1) / 24
    crp = same_task_crp(recalls[shift], polyn.sources[shift], polyn.subject[shift])
    return p_recall[~shift].mean(), p_recall[shift].mean(), crp


@pytest.fixture(scope="module")
def full_run(polyn):
    """The Full set over the 1,262 real lists with key 0: recalls and times."""
    return _simulate_polyn(polyn, "Polyn 2009 full", jax.random.PRNGKey(0))


@pytest.fixture(scope="module")
def published_sets(polyn, full_run):
    """(P(recall) control, P(recall) shift, same-task CRP on shift lists) per set and key: 3 x 3 runs."""
    out = {}
    for name in ("full", "associations only", "disruption only"):
        runs = [full_run[0] if (name, k) == ("full", 0) else
                _simulate_polyn(polyn, f"Polyn 2009 {name}", jax.random.PRNGKey(k))[0] for k in range(3)]
        out[name] = np.array([_summary(polyn, recalls) for recalls in runs])
    return out


def test_real_polyn_lists_match_the_reference(polyn, full_run):
    rows = np.arange(0, 1262, 180)  # 8 lists, control and shift
    reference = _reference_run(FULL, 24, jax.random.PRNGKey(0), 1262, polyn.sources, polyn.study_items,
                               polyn.similarity, rows=rows)
    assert _mismatches(full_run[0][rows], full_run[1][rows], reference) <= 1


def test_outputs_are_valid_recall_sequences_with_times(polyn, full_run):
    recalls, times = full_run
    assert recalls.shape == times.shape == (1262, 24)
    assert recalls.dtype == np.int32 and times.dtype == np.int32
    for row, t in zip(recalls, times):
        k = int((row > 0).sum())
        assert (row[:k] > 0).all() and (row[k:] == 0).all()
        assert len(set(row[:k].tolist())) == k, "no repeats"
        assert (t[k:] == 0).all() and (t[:k] % 100 == 0).all()
        assert (np.diff(t[:k]) >= 200).all() and (k == 0 or 200 <= t[0]) and (t[:k] < 90_000).all()
    again = _simulate_polyn(polyn, "Polyn 2009 full", jax.random.PRNGKey(0))
    np.testing.assert_array_equal(again[0], recalls)
    np.testing.assert_array_equal(again[1], times)


def test_full_set_reproduces_recall_and_task_clustering_over_many_lists(published_sets):
    # Polyn et al. (2009), Full model over the 1,262 real lists; the data give
    # 0.50 (control), 0.45 (shift) and a same-task CRP of 0.61 on shift lists.
    results = published_sets["full"]
    control, shift, crp = results.mean(axis=0)
    spread = results.max(axis=0) - results.min(axis=0)
    print(f"Full set over 3 keys: P(recall) control {control:.3f}, shift {shift:.3f}, "
          f"same-task CRP {crp:.3f}; spread (max - min) {np.round(spread, 3)}")
    assert control == pytest.approx(0.48, abs=0.025)
    assert shift == pytest.approx(0.43, abs=0.025)
    assert crp == pytest.approx(0.61, abs=0.03)
    assert (spread < 0.03).all()
    assert (results[:, 0] > results[:, 1]).all(), "shift lists are recalled worse with every key"


def test_the_three_published_sets_reproduce_the_papers_argument(published_sets):
    sets = {name: results.mean(axis=0) for name, results in published_sets.items()}
    for name, (control, shift, crp) in sets.items():
        print(f"{name}: P(recall) control {control:.3f}, shift {shift:.3f}, cost {control - shift:.3f}, "
              f"same-task CRP {crp:.3f}")
    full, associations, disruption = sets["full"], sets["associations only"], sets["disruption only"]
    assert full[0] - full[1] > 0.02, "with disruption, shift lists are recalled worse"
    assert abs(associations[0] - associations[1]) < 0.5 * (full[0] - full[1]), "no disruption, no shift cost"
    assert disruption[2] < full[2] - 0.015, "without source associations task clustering weakens"


@pytest.mark.parametrize("kwargs,message", [
    ({"retrieval": "luce", "return_times": True}, "return_times=True needs retrieval='accumulator'"),
    ({"retrieval": "race"}, "retrieval must be 'luce' or 'accumulator'"),
    ({"sources": np.zeros((5, 6), int)}, r"there are 4 lists \(n_trials\)"),
    ({"study_items": np.full((4, 6), 3), "similarity": np.eye(3)}, "outside the similarity matrix"),
])
def test_bad_simulation_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cmrlab.simulate(jax.random.PRNGKey(0), FULL, 6, 4, **kwargs)
