import numpy as np

from cmrlab.recalls import _repeats, clean_recalls


def test_clean_removes_intrusions_and_repeats_keeping_order():
    rows = np.array([[3, 1, 3, -1, 2, 1, 0, 0], [2, 2, 2, 2, 0, 0, 0, 0], [-1, -1, 0, 0, 0, 0, 0, 0]])
    cleaned = clean_recalls(rows, 3, return_counts=True)
    np.testing.assert_array_equal(cleaned.recalls, [[3, 1, 2], [2, 0, 0], [0, 0, 0]])
    assert (cleaned.n_intrusions, cleaned.n_repeats) == (3, 5)


def test_repeat_detection_agrees_for_short_and_long_lists():
    rng = np.random.default_rng(0)
    rows = rng.integers(-1, 9, (2000, 14))
    # the bit-set path (L < 63) and the loop path give the same answer
    np.testing.assert_array_equal(_repeats(rows, rows > 0, 8), _repeats(rows, rows > 0, 80))
