"""Fits of many lists at once: each search explores a random subset of the lists, then polishes on all of them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab import fitting
from cmrlab.search import MultistartSettings, make_box, refine

pytestmark = pytest.mark.filterwarnings("ignore::cmrlab.fitting.FitWarning")
TINY = MultistartSettings(samples=128, starts=4, steps=30, polish_starts=1, polish_steps=8, screen=1, subsample=40)


def _problem(n_real: int, n_rows: int, L: int = 6):
    recalls = np.zeros((n_rows, L), np.int32)
    recalls[:, 0] = np.arange(n_rows)  # the row's number, to tell which rows a subset holds (only gathered here)
    weights = (np.arange(n_rows) < n_real).astype(np.float32)
    return fitting._Problem(jnp.asarray(recalls), jnp.asarray(weights), jnp.arange(2), jnp.zeros(11),
                            make_box(jnp.zeros(2), jnp.ones(2)))


def test_a_subsample_holds_only_real_lists_each_once_and_depends_on_the_key():
    problem = _problem(n_real=50, n_rows=52)
    drawn = [fitting._some_lists(jax.random.PRNGKey(k), problem, 50) for k in range(2)]
    for part in drawn:  # all 50 real lists, none of the two padding rows
        assert sorted(np.asarray(part.recalls)[:, 0]) == list(range(50))
        assert np.all(np.asarray(part.weights) == 1)
    rows = [np.asarray(fitting._some_lists(jax.random.PRNGKey(k), problem, 20).recalls)[:, 0] for k in range(2)]
    for drawn_rows in rows:  # 20 different real lists, from all over the data (not the first 20)
        assert len(set(drawn_rows)) == 20 and drawn_rows.max() < 50 and drawn_rows.max() >= 20
    assert set(rows[0]) != set(rows[1])  # each search (key) draws its own


def test_a_subsample_of_at_least_every_list_is_turned_off_and_a_negative_one_refused():
    assert fitting._default_settings("multistart", "likelihood", None).subsample == 0  # opt-in
    assert fitting._for_lists(TINY, 40).subsample == 0  # nothing to leave out
    assert fitting._for_lists(TINY, 41).subsample == 40
    with pytest.raises(ValueError, match="subsample must be an int >= 0"):
        fitting._default_settings("multistart", "likelihood", TINY._replace(subsample=-1))


def test_refine_never_ends_below_its_start():
    box = make_box(jnp.zeros(2), jnp.ones(2))

    def objective(x):
        return -jnp.sum((x - jnp.array([0.3, 0.8])) ** 2)

    start = jnp.array([0.9, 0.1])
    found = jax.jit(lambda z: refine(objective, box, z, 30))(start)
    assert float(found.value) > float(objective(start))
    np.testing.assert_allclose(np.asarray(found.z), [0.3, 0.8], atol=1e-3)
    unmoved = refine(objective, box, start, 0)
    np.testing.assert_allclose(np.asarray(unmoved.z), np.asarray(start), atol=1e-6)


@pytest.fixture(scope="module")
def pooled():
    """600 simulated lists of 10, and the log-likelihood of the parameters behind them."""
    truth = dict(cmrlab.DEFAULT_PARAMETERS)
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(7), truth, 10, 600))
    return recalls, float(cmrlab.log_likelihood(truth, recalls, 10))


def test_a_subsampled_search_reports_the_value_of_all_lists(pooled):
    recalls, _ = pooled
    result = cmrlab.fit(recalls, 10, key=jax.random.PRNGKey(0), settings=TINY, searches=2, max_rounds=1)
    # every search's value is that of all 600 lists: a subset of 40 would give about 40/600 of it
    assert result.search_values[0] == pytest.approx(result.log_likelihood, rel=1e-4)
    assert result.log_likelihood == pytest.approx(float(cmrlab.log_likelihood(result.parameters, recalls, 10)),
                                                  rel=1e-5)
    again = cmrlab.fit(recalls, 10, key=jax.random.PRNGKey(0), settings=TINY, searches=2, max_rounds=1)
    assert again.parameters == result.parameters  # same key, same numbers


def test_the_pooled_search_beats_the_true_parameters_and_agrees_across_keys(pooled):
    recalls, at_truth = pooled
    results = [cmrlab.fit(recalls, 10, key=jax.random.PRNGKey(k), settings=fitting.POOLED_SETTINGS, searches=4)
               for k in (0, 1)]
    for result in results:
        assert result.converged
        # the maximum of the likelihood is at least its value where the data came from
        assert result.log_likelihood >= at_truth
    assert abs(results[0].log_likelihood - results[1].log_likelihood) <= fitting.TOLERANCE
