"""Inter-response times: hand counts, the NumPy reference, the Polyn (2009) times."""

import numpy as np
import pytest

import cmrlab
from cmrlab.datasets import load_polyn2009
from tests import reference_analyses as ref


def test_irt_counted_on_paper():
    rows = np.array([[5, -1, 6, 7, 0], [1, 2, 3, 0, 0], [1, 2, 2, 3, 0]])
    times = np.array([[1000, 1500, 2100, 3000, 0], [100, 300, 700, 0, 0], [0, 100, 250, 400, 0]])
    # list 1: 5 (valid 1), intrusion, 6 (valid 2), 7 (valid 3): only 6 -> 7 (900 ms) at k = 2
    # list 2: 200 ms at k = 1, 400 ms at k = 2
    # list 3: 1 -> 2 (100 ms) at k = 1; the repeat of 2 breaks 2 -> 3
    expected = np.full(7, np.nan)
    expected[:2] = [(200 + 100) / 2, (900 + 400) / 2]
    np.testing.assert_allclose(cmrlab.irt(rows, times, 8), expected, equal_nan=True)


def test_irt_matches_the_reference_and_ignores_padding(x64):
    rng = np.random.default_rng(0)
    L = 9
    rows = np.zeros((300, L + 3), np.int64)
    for row in rows:
        codes = list(rng.permutation(np.arange(1, L + 1))[: rng.integers(0, L + 1)])
        for _ in range(rng.integers(0, 3)):
            code = -1 if rng.random() < 0.5 or not codes else codes[rng.integers(0, len(codes))]
            codes.insert(rng.integers(0, len(codes) + 1), code)
        row[: len(codes)] = codes
    times = np.cumsum(rng.exponential(1500, rows.shape), axis=1) * (rows != 0)
    ours = np.asarray(cmrlab.irt(rows, times, L))
    np.testing.assert_allclose(ours, ref.irt(rows, times, L), rtol=1e-12, equal_nan=True)
    wide = np.pad(rows, ((0, 0), (0, 5)))
    np.testing.assert_array_equal(cmrlab.irt(wide, np.pad(times, ((0, 0), (0, 5)), constant_values=np.nan), L), ours)


def test_polyn_recall_slows_down_with_output_position(x64):
    data = load_polyn2009()
    gaps = np.asarray(cmrlab.irt(data.recalls, data.times, 24))
    np.testing.assert_allclose(gaps, ref.irt(data.recalls, data.times, 24), rtol=1e-12, equal_nan=True)
    assert (np.diff(gaps[:6]) > 0).all(), "each of the first gaps is longer than the one before"
    assert 1000 < gaps[0] < 1500 and gaps[5] > 4000  # ms
    assert np.isnan(gaps[-1]), "no list has 24 consecutive valid recalls"


def test_bad_times_are_refused():
    rows = np.array([[1, 2, 0]])
    with pytest.raises(ValueError, match=r"times must have the shape of recalls \(1, 3\)"):
        cmrlab.irt(rows, np.zeros((1, 2)), 3)
    with pytest.raises(ValueError, match="finite"):
        cmrlab.irt(rows, np.array([[0.0, np.nan, 0.0]]), 3)
    with pytest.raises(ValueError, match="numbers"):
        cmrlab.irt(rows, np.array([["a", "b", "c"]]), 3)
