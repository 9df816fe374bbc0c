"""Source, semantic and task-train organization: hand counts, properties, psifr, the paper's figures."""

import warnings

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cmrlab
from cmrlab.datasets import RecallDataset, data_dir, load_polyn2009
from tests import reference_analyses as ref

psifr_fr = pytest.importorskip("psifr.fr", reason="psifr is in the test extras: pip install -e .[test]")


# ---------------------------------------------------------------- hand-counted


def test_category_crp_counted_on_paper():
    # psifr's own example: 4 -> 3 -> 1 -> 2 over categories a a b b: both transitions
    # that could stay in category (4->3, 1->2) did; 3->1 had no b left -> (2, 2)
    assert float(cmrlab.category_crp([[4, 3, 1, 2]], [[0, 0, 1, 1]], 4)) == 1.0
    # list 1, categories a a b b: 1 -> 3 leaves a for b while 2 (a) was available: possible 1,
    # actual 0; then an intrusion, 2, a repeat of 2 and 4 make no counted transition.
    # list 2, categories a a a b: 2 -> 4 (a -> b, 1 and 3 available): possible 1, actual 0;
    # 4 -> 1 (no b left): possible 0.
    rows = [[1, 3, -1, 2, 2, 4], [2, 4, 1, 0, 0, 0]]
    cats = [[0, 0, 1, 1], [0, 0, 0, 1]]
    assert float(cmrlab.category_crp(rows, cats, 4)) == 0.0
    # reversing list 2 (1 -> 4 -> 2): 4 -> 2 still has no b; 1 -> 4 again a -> b: 0 of 2
    assert float(cmrlab.category_crp([[1, 4, 2]], [[0, 0, 0, 1]], 4)) == 0.0
    assert float(cmrlab.category_crp([[1, 3, 4]], [[0, 0, 0, 1]], 4)) == 0.5
    assert np.isnan(cmrlab.category_crp([[1, 0]], [[0, 1]], 2)), "no transition: NaN"


def test_distance_rank_counted_on_paper():
    # psifr's example: transitions 4->2 (0.75), 2->3 (0.0), 3->1 (one item left: no score)
    distances = np.array([[0, 1, 2, 2], [1, 0, 2, 2], [2, 2, 0, 3], [2, 2, 3, 0]])
    value = cmrlab.distance_rank([[4, 2, 3, 1]], [[0, 1, 2, 3]], distances, 4)
    assert float(value) == pytest.approx(0.375)
    # the row is the previous item: transposing an asymmetric matrix changes the answer
    asymmetric = np.array([[0, 1, 5], [9, 0, 1], [1, 2, 0]])
    # 1 -> 3: from item 1 (row 0): available 2, 3 at 1, 5: farthest -> 0
    assert float(cmrlab.distance_rank([[1, 3, 2]], [[0, 1, 2]], asymmetric, 3)) == 0.0
    # transposed: row 0 = (0, 9, 1): 3 is the closest -> 1
    assert float(cmrlab.distance_rank([[1, 3, 2]], [[0, 1, 2]], asymmetric.T, 3)) == 1.0


def test_lag_crp_by_train_counted_on_paper():
    # sources a a b b a: trains 0 0 1 1 2
    sources = [[0, 0, 1, 1, 0]]
    # 2 -> 3 (across, lag +1), 3 -> 4 (within, lag +1)
    within, across = cmrlab.lag_crp_by_train([[2, 3, 4, 0, 0]], sources, 5)
    # 2 -> 3: available 1 (within, -1), 3, 4 (across, +1, +2), 5 (across, +3)
    # 3 -> 4: available 1 (across, -2), 4 (within, +1), 5 (across, +2)
    L = 5
    expected_within = np.full(2 * L - 1, np.nan)
    expected_within[L - 2] = 0.0  # lag -1: possible once, never made
    expected_within[L] = 1.0  # lag +1: 3 -> 4
    expected_across = np.full(2 * L - 1, np.nan)
    expected_across[[L - 3, L, L + 1, L + 2]] = [0.0, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(within, expected_within, equal_nan=True)
    np.testing.assert_allclose(across, expected_across, equal_nan=True)


# ---------------------------------------------------------------- properties


L = 10  # one list length (one compilation per analysis) for the property tests


def _random_lists(seed, n, list_length=L):
    """Lists of random recall orders and lengths, with intrusions and repeats mixed in."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((n, list_length + 4), np.int64)
    for row in rows:
        codes = list(rng.permutation(np.arange(1, list_length + 1))[: rng.integers(0, list_length + 1)])
        for _ in range(rng.integers(0, 3)):
            code = -1 if rng.random() < 0.5 or not codes else codes[rng.integers(0, len(codes))]
            codes.insert(rng.integers(0, len(codes) + 1), code)
        row[: len(codes)] = codes
    return rows


@pytest.fixture(scope="module")
def lists():
    rng = np.random.default_rng(3)
    n = 240
    return dict(recalls=_random_lists(3, n), sources=rng.integers(0, 2, (n, L)),
                items=np.stack([rng.permutation(30)[:L] for _ in range(n)]),
                distances=rng.integers(0, 4, (30, 30)).astype(float))  # many ties


def test_lag_crp_by_train_partitions_the_lag_crp_counts(lists):
    from cmrlab import _transitions as tr
    from cmrlab import analysis, organization

    rows, sources = lists["recalls"], lists["sources"]
    parts = organization._train_lag_counts(rows, sources, L)
    actual, possible = jax.jit(lambda r: analysis._lag_counts(tr.transitions(tr.outputs(r, L), L), L))(rows)
    np.testing.assert_array_equal(parts[0] + parts[2], actual)
    np.testing.assert_array_equal(parts[1] + parts[3], possible)
    # one task per list: nothing is across
    within, across = cmrlab.lag_crp_by_train(rows, np.zeros_like(sources), L)
    np.testing.assert_array_equal(within, cmrlab.lag_crp(rows, L))
    assert np.isnan(across).all()


def test_distance_rank_on_serial_distances_is_the_temporal_factor(lists):
    rows = lists["recalls"]
    positions = np.tile(np.arange(L), (len(rows), 1))
    serial = np.abs(np.arange(L)[:, None] - np.arange(L)[None, :])
    assert float(cmrlab.distance_rank(rows, positions, serial, L)) == pytest.approx(
        float(cmrlab.temporal_factor(rows, L)), abs=1e-6)


def test_category_crp_extremes(lists):
    rows = lists["recalls"]
    assert float(cmrlab.category_crp(rows, np.zeros((len(rows), L), int), L)) == 1.0  # one category
    assert np.isnan(cmrlab.category_crp(rows, np.tile(np.arange(L), (len(rows), 1)), L)), \
        "every item its own category: a same-category item is never available"


def test_padding_and_vmap_do_not_change_the_answers(lists):
    rows, sources, items, distances = (lists[k] for k in ("recalls", "sources", "items", "distances"))
    wide = np.pad(rows, ((0, 0), (0, 7)))
    for fn, args in ((cmrlab.category_crp, (sources,)), (cmrlab.distance_rank, (items, distances)),
                     (cmrlab.lag_crp_by_train, (sources,))):
        np.testing.assert_array_equal(np.asarray(fn(rows, *args, L)), np.asarray(fn(wide, *args, L)))
    groups, group_sources = rows.reshape(4, 60, -1), sources.reshape(4, 60, L)
    batched = jax.vmap(lambda r, s: cmrlab.category_crp(r, s, L))(groups, group_sources)
    for g, s, b in zip(groups, group_sources, batched):
        assert float(b) == float(cmrlab.category_crp(g, s, L))


def test_same_answers_as_the_numpy_reference(x64, lists):
    rows, sources, items, distances = (lists[k] for k in ("recalls", "sources", "items", "distances"))
    assert float(cmrlab.category_crp(rows, sources, L)) == pytest.approx(ref.category_crp(rows, sources, L), abs=1e-12)
    assert float(cmrlab.distance_rank(rows, items, distances, L)) == pytest.approx(
        ref.distance_rank(rows, items, distances, L), abs=1e-12)
    a_w, p_w, a_a, p_a = ref.lag_counts_by_train(rows, sources, L)
    with np.errstate(invalid="ignore"):
        expected = (np.where(p_w > 0, a_w / p_w, np.nan), np.where(p_a > 0, a_a / p_a, np.nan))
    np.testing.assert_allclose(cmrlab.lag_crp_by_train(rows, sources, L), expected, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_what_to_pass():
    rows = np.array([[1, 2, 0], [3, -1, 2]])
    cats = np.array([[0, 1, 0], [1, 1, 0]])
    D = np.ones((5, 5))
    items = np.array([[0, 1, 2], [3, 4, 0]])
    with pytest.raises(ValueError, match=r"categories must have shape \(2, 3\)"):
        cmrlab.category_crp(rows, cats[:1], 3)
    with pytest.raises(ValueError, match="categories must be an integer"):
        cmrlab.category_crp(rows, cats.astype(float), 3)
    with pytest.raises(ValueError, match=r"study_items must have shape \(2, 3\)"):
        cmrlab.distance_rank(rows, items[:, :2], D, 3)
    with pytest.raises(ValueError, match="outside the distance matrix"):
        cmrlab.distance_rank(rows, items + 1, D, 3)
    with pytest.raises(ValueError, match="outside the distance matrix"):
        cmrlab.distance_rank(rows, items - 1, D, 3)
    with pytest.raises(ValueError, match="square"):
        cmrlab.distance_rank(rows, items, np.ones((5, 4)), 3)
    with pytest.raises(ValueError, match="NaN"):
        cmrlab.distance_rank(rows, items, np.full((5, 5), np.nan), 3)
    with pytest.raises(ValueError, match=r"sources must have shape \(2, 3\)"):
        cmrlab.lag_crp_by_train(rows, cats.T, 3)
    with pytest.raises(ValueError, match="outside -1..3"):
        cmrlab.category_crp(np.array([[4]]), cats[:1], 3)


# ---------------------------------------------------------------- psifr oracle


def _psifr_measures(rows, categories, items, distances, list_length):
    data = RecallDataset(recalls=rows, subject=np.ones(len(rows), int), list_length=list_length,
                         presentations=np.tile(np.arange(1, list_length + 1), (len(rows), 1)),
                         condition=np.full(len(rows), "x"), sources=categories, study_items=items)
    merged = psifr_fr.merge_free_recall(data.to_psifr(), study_keys=["source", "item_index"])
    with warnings.catch_warnings():  # psifr warns on empty slices (no transitions)
        warnings.simplefilter("ignore", RuntimeWarning)
        category = psifr_fr.category_crp(merged, "source")["prob"].to_numpy()[0]
        rank = psifr_fr.distance_rank(merged, "item_index", distances)["rank"].to_numpy()[0]
    return category, rank


@st.composite
def organized_lists(draw):
    list_length = draw(st.sampled_from([4, 7]))  # fixed shapes: one compilation per length
    n_lists, width, pool = 5, list_length + 3, 11
    rows = np.zeros((n_lists, width), np.int64)
    for row in rows[: draw(st.integers(1, n_lists))]:
        n = draw(st.integers(0, width))
        row[:n] = draw(st.lists(st.sampled_from([-1] + list(range(1, list_length + 1))), min_size=n, max_size=n))
    categories = np.array(draw(st.lists(st.integers(0, 2), min_size=n_lists * list_length,
                                        max_size=n_lists * list_length))).reshape(n_lists, list_length)
    items = np.stack([draw(st.permutations(range(pool)))[:list_length] for _ in range(n_lists)])
    distances = np.array(draw(st.lists(st.integers(0, 3), min_size=pool * pool, max_size=pool * pool)),
                         float).reshape(pool, pool)
    return rows, categories, items, distances, list_length


@given(organized_lists())
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_matches_psifr_on_random_lists_with_intrusions_repeats_and_ties(x64, data):
    rows, categories, items, distances, L = data
    category, rank = _psifr_measures(rows, categories, items, distances, L)
    ours = float(cmrlab.category_crp(rows, categories, L))
    assert (np.isnan(ours) and np.isnan(category)) or ours == pytest.approx(category, abs=1e-12)
    ours = float(cmrlab.distance_rank(rows, items, distances, L))
    assert (np.isnan(ours) and np.isnan(rank)) or ours == pytest.approx(rank, abs=1e-12)


# ---------------------------------------------------------------- Polyn et al. (2009)


@pytest.fixture(scope="module")
def polyn():
    return load_polyn2009()


@pytest.fixture(scope="module")
def psifr_polyn():
    """psifr's frame of the 1,262 lists, built from the raw file (not from cmrlab's loader)."""
    import pandas as pd
    from scipy.io import loadmat

    data = loadmat(data_dir() / "polyn2009" / "behavior.mat")["data"][0, 0]
    rows = []
    for part in ("co", "sh"):  # the experimental lists
        table = data[part][0, 0]
        for index in range(table["recalls"].shape[0]):
            common = {"subject": int(table["subject"][index, 0]), "list": f"{part}{index}",
                      "list_type": int(table["listType"][index, 0])}
            for position, (item, task) in enumerate(zip(table["pres_itemnos"][index], table["pres_task"][index])):
                rows.append({**common, "trial_type": "study", "position": position + 1, "item": int(item),
                             "task": int(task), "item_index": int(item) - 1})
            for output, item in enumerate(table["rec_itemnos"][index]):
                if item == 0:
                    break
                rows.append({**common, "trial_type": "recall", "position": output + 1, "item": int(item)})
    frame = pd.DataFrame(rows)
    frame["list"] = frame.groupby("subject")["list"].transform(lambda x: pd.factorize(x)[0] + 1)
    return psifr_fr.merge_free_recall(frame, study_keys=["task", "item_index"], list_keys=["list_type"])


def test_source_clustering_of_each_subject_matches_psifr(x64, polyn, psifr_polyn):
    shift = polyn.select(polyn.list_type == 2)
    ours = shift.per_subject(lambda d: cmrlab.category_crp(d.recalls, d.sources, d.list_length))
    theirs = psifr_fr.category_crp(psifr_polyn[psifr_polyn.list_type == 2], "task")
    np.testing.assert_array_equal(theirs["subject"].to_numpy(), shift.subjects)
    np.testing.assert_allclose(ours, theirs["prob"].to_numpy(), rtol=0, atol=1e-6)
    # the spec's figure: the mean of subject means, as psifr reports it
    assert round(float(np.nanmean(ours)), 3) == 0.606
    pooled = theirs[["actual", "possible"]].sum()
    assert float(cmrlab.category_crp(shift.recalls, shift.sources, 24)) == pytest.approx(
        pooled["actual"] / pooled["possible"], abs=1e-12)


def test_semantic_clustering_of_each_subject_matches_psifr(x64, polyn, psifr_polyn):
    distances = 1 - polyn.similarity
    ours = polyn.per_subject(lambda d: cmrlab.distance_rank(d.recalls, d.study_items, distances, d.list_length))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = psifr_fr.distance_rank(psifr_polyn, "item_index", distances)
    np.testing.assert_allclose(ours, theirs["rank"].to_numpy(), rtol=0, atol=1e-6)
    assert round(float(np.nanmean(ours)), 3) == 0.537


def test_recall_probability_by_list_type_matches_the_spec(polyn):
    def p_recall(d):
        return float(np.mean(cmrlab.spc(d.recalls, d.list_length)))

    control = polyn.select(polyn.list_type < 2).per_subject(p_recall)
    shift = polyn.select(polyn.list_type == 2).per_subject(p_recall)
    assert (round(float(np.mean(control)), 3), round(float(np.mean(shift)), 3)) == (0.499, 0.453)


def test_task_shifts_break_up_contiguity_in_the_data(polyn):
    shift = polyn.select(polyn.list_type == 2)
    within, across = (np.asarray(x) for x in cmrlab.lag_crp_by_train(shift.recalls, shift.sources, 24))
    # Polyn et al. (2009): a neighbour across a task shift is recalled next less often
    assert within[24] > 1.5 * across[24] and within[22] > across[22]
    assert np.isnan(within[23]) and np.isnan(across[23])
