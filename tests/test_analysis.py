"""Analyses: hand-counted cases, properties, and psifr as an independent oracle."""

import warnings

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cmrlab
from cmrlab.datasets import MURDOCK_CONDITIONS, RecallDataset, load_murdock1962

psifr_fr = pytest.importorskip("psifr.fr", reason="psifr is in the test extras: pip install -e .[test]")


# ---------------------------------------------------------------- hand-counted


def test_three_item_list_counted_on_paper():
    # trial 1: 3 -> 1 -> 2 ; trial 2: 2 -> intrusion -> 3 -> 3 (repeat)
    rows = np.array([[3, 1, 2, 0], [2, -1, 3, 3]])
    np.testing.assert_allclose(cmrlab.spc(rows, 3), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(cmrlab.pfr(rows, 3), [0.0, 0.5, 0.5])
    # transitions counted: 3->1 (lag -2; possible lags -2, -1), 1->2 (lag +1; possible +1)
    # trial 2 has none (2->-1 and -1->3 are skipped, 3->3 is a repeat)
    crp = np.asarray(cmrlab.lag_crp(rows, 3))
    np.testing.assert_allclose(crp, [1.0, 0.0, np.nan, 1.0, np.nan], equal_nan=True)
    # 3->1: |lags| available {2, 1}, actual 2 ranks 2 of 2 -> score 0; 1->2: m = 1, not scored
    assert float(cmrlab.temporal_factor(rows, 3)) == 0.0


def test_pnr_rows_count_only_available_items():
    rows = np.array([[1, 2, 0], [1, 3, 2], [2, 0, 0]])
    table = np.asarray(cmrlab.pnr(rows, 3))
    np.testing.assert_allclose(table[0], [2 / 3, 1 / 3, 0])
    # second valid recall: trials 1 and 2 made one, item 1 unavailable in both
    np.testing.assert_allclose(table[1], [np.nan, 1 / 2, 1 / 2], equal_nan=True)
    # third: only trial 2, with items 1 and 3 already recalled
    np.testing.assert_allclose(table[2], [np.nan, 1.0, np.nan], equal_nan=True)


# ---------------------------------------------------------------- properties


def test_padding_width_does_not_change_any_analysis():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 12, 300))
    wide = np.pad(rows, ((0, 0), (0, 9)))
    narrow = rows[:, : int((rows > 0).sum(1).max())]
    for fn in (cmrlab.spc, cmrlab.pnr, cmrlab.lag_crp, cmrlab.temporal_factor, cmrlab.mean_recalls):
        a, b, c = (np.asarray(fn(r, 12)) for r in (rows, wide, narrow))
        np.testing.assert_allclose(a, b, equal_nan=True)
        np.testing.assert_allclose(a, c, equal_nan=True)


def test_vmap_over_groups_of_trials_equals_separate_calls():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(1), cmrlab.DEFAULT_PARAMETERS, 10, 400))
    groups = rows.reshape(4, 100, 10)
    batched = jax.vmap(lambda g: cmrlab.lag_crp(g, 10))(groups)
    for g, b in zip(groups, batched):
        np.testing.assert_allclose(b, cmrlab.lag_crp(g, 10), equal_nan=True)
    jitted = jax.jit(lambda r: cmrlab.spc(r, 10))(rows)
    np.testing.assert_allclose(jitted, cmrlab.spc(rows, 10))


def test_pfr_sums_to_one_and_lag_zero_is_nan():
    rows = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 16, 500))
    assert float(np.nansum(cmrlab.pfr(rows, 16))) == pytest.approx(1.0, abs=1e-6)
    # the same divisions, bit for bit (XLA may not turn pfr's into multiplications by a reciprocal)
    np.testing.assert_array_equal(cmrlab.pfr(rows, 16), cmrlab.pnr(rows, 16)[0])
    np.testing.assert_array_equal(cmrlab.summarize(rows, 16).pfr, cmrlab.pfr(rows, 16))
    assert np.isnan(cmrlab.lag_crp(rows, 16)[15])


def test_bad_recall_matrix_is_refused():
    with pytest.raises(ValueError, match="integer"):
        cmrlab.spc(np.array([[1.5, 2.0]]), 3)
    with pytest.raises(ValueError, match="outside -1..3"):
        cmrlab.lag_crp(np.array([[1, 4]]), 3)


# ---------------------------------------------------------------- psifr oracle


def psifr_curves(rows, list_length):
    with warnings.catch_warnings():  # psifr warns on empty slices (no transitions)
        warnings.simplefilter("ignore", RuntimeWarning)
        return _psifr_curves(rows, list_length)


def _psifr_curves(rows, list_length):
    data = RecallDataset(recalls=rows, subject=np.ones(len(rows), int), list_length=list_length,
                         presentations=np.tile(np.arange(1, list_length + 1), (len(rows), 1)),
                         condition=np.full(len(rows), "x"))
    merged = psifr_fr.merge_free_recall(data.to_psifr())
    spc = psifr_fr.spc(merged)["recall"].to_numpy()
    pnr = psifr_fr.pnr(merged)
    pnr_table = np.full((list_length, list_length), np.nan)
    for output, inp, prob in pnr[["output", "input", "prob"]].itertuples(index=False):
        if output <= list_length:
            pnr_table[int(output) - 1, int(inp) - 1] = prob
    crp = psifr_fr.lag_crp(merged)
    rank = psifr_fr.lag_rank(merged)["rank"].to_numpy()[0]
    return spc, pnr_table, crp["prob"].to_numpy(), rank, crp


def assert_matches_psifr(rows, list_length):
    spc, pnr, crp, rank, frame = psifr_curves(rows, list_length)
    np.testing.assert_allclose(cmrlab.spc(rows, list_length), spc, rtol=0, atol=1e-9)
    ours_pnr = np.asarray(cmrlab.pnr(rows, list_length))
    both = ~np.isnan(pnr)
    np.testing.assert_allclose(ours_pnr[both], pnr[both], rtol=0, atol=1e-9)
    # where psifr lists nothing, no trial reached that output
    assert np.isnan(ours_pnr[~both]).all() or np.nan_to_num(ours_pnr[~both]).max() == 0
    np.testing.assert_allclose(cmrlab.lag_crp(rows, list_length), crp, rtol=0, atol=1e-9, equal_nan=True)
    ours_rank = float(cmrlab.temporal_factor(rows, list_length))
    if np.isnan(rank):
        assert np.isnan(ours_rank)
    else:
        assert ours_rank == pytest.approx(rank, abs=1e-9)


@st.composite
def recall_matrices(draw):
    # a few fixed shapes (lists past the drawn count recall nothing, psifr sees them too), so that
    # each analysis compiles once per list length; other widths are tested by the padding test
    list_length = draw(st.sampled_from([2, 3, 6, 10]))
    n_trials, width = 8, list_length + 4
    rows = np.zeros((n_trials, width), np.int64)
    for row in rows[: draw(st.integers(1, n_trials))]:
        n = draw(st.integers(0, width))
        row[:n] = draw(st.lists(st.sampled_from([-1] + list(range(1, list_length + 1))), min_size=n, max_size=n))
    return rows, list_length


@given(recall_matrices())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_matches_psifr_on_random_matrices_with_intrusions_and_repeats(x64, data):
    rows, list_length = data
    assert_matches_psifr(rows, list_length)


@pytest.mark.parametrize("condition", list(MURDOCK_CONDITIONS))
def test_matches_psifr_on_every_murdock_condition(x64, condition):
    data = load_murdock1962(condition)
    subject = data.for_subject(3)
    assert_matches_psifr(subject.recalls, data.list_length)
    # and pooled over all subjects: counts agree with psifr's summed counts
    merged = psifr_fr.merge_free_recall(data.to_psifr())
    frame = psifr_fr.lag_crp(merged).groupby("lag")[["actual", "possible"]].sum()
    pooled = frame["actual"] / frame["possible"].where(frame["possible"] > 0)
    np.testing.assert_allclose(cmrlab.lag_crp(data.recalls, data.list_length), pooled.to_numpy(),
                               atol=1e-9, equal_nan=True)


@given(recall_matrices())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_list_length_bucket_gives_summarizes_numbers(data):
    # the Explorer's padded path: lists of L items analysed as lists of 16 with the rest never available
    from cmrlab.analysis import summarize_padded

    rows, list_length = data
    exact, padded = cmrlab.summarize(rows, list_length), summarize_padded(rows, list_length, 16)
    for name in exact._fields:
        np.testing.assert_array_equal(np.asarray(getattr(padded, name)), np.asarray(getattr(exact, name)),
                                      err_msg=name)
    with pytest.raises(ValueError, match="must hold the list"):
        summarize_padded(rows, list_length, list_length - 1)
