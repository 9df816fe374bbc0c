"""The search strategies behind fit, on objectives whose maxima are known."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmrlab.search import (
    DESettings,
    MultistartSettings,
    Strata,
    _adam,
    _bound_variants,
    _newton,
    _shares,
    _stratum_boxes,
    check_multistart,
    differential_evolution,
    finite_or_worst,
    from_unit,
    make_box,
    multistart,
    to_unit,
)

BOX = make_box([0.0, 1e-7, 0.0], [1.0, 100.0, 10.0])
SMALL = MultistartSettings(samples=256, starts=8, steps=60, polish_starts=2, polish_steps=30)


def test_unit_coordinates_round_trip_and_stay_in_bounds():
    z = jax.random.uniform(jax.random.PRNGKey(0), (1000, 3))
    x = from_unit(z, BOX)
    assert bool(jnp.all((x >= BOX.lower[None]) & (x <= BOX.upper[None])))
    np.testing.assert_allclose(to_unit(x, BOX), z, atol=2e-4)
    assert bool(BOX.warped[1]) and bool(BOX.warped[2]) and not bool(BOX.warped[0])
    # the warp spends as much of the cube below 1 as above 1 for a [0, 100] range
    assert 0.45 < float(to_unit(jnp.array([0.5, 1.0, 1.0]), BOX)[1]) < 0.6


def _two_peaks(x):
    """A broad peak of height 1 and a narrower, higher one (height 2) at x1 = 100 (a bound)."""
    broad = jnp.exp(-jnp.sum((x - jnp.array([0.3, 5.0, 2.0])) ** 2 / jnp.array([0.1, 50.0, 4.0])))
    narrow = 2 * jnp.exp(-((x[0] - 0.7) ** 2) / 0.05 - (jnp.log(x[1]) - jnp.log(100.0)) ** 2 / 2.0
                         - (x[2] - 8.0) ** 2 / 4.0)
    return broad + narrow


def test_multistart_finds_the_higher_peak_on_a_bound():
    found = jax.jit(lambda k: multistart(k, _two_peaks, BOX, SMALL))(jax.random.PRNGKey(1))
    x = from_unit(found.z, BOX)
    assert float(found.value) == pytest.approx(2.0, abs=1e-3)
    np.testing.assert_allclose(x, [0.7, 100.0, 8.0], rtol=2e-2)


def test_bound_variants_set_near_coordinates_on_their_bound():
    z = jnp.array([[0.5, 0.99, 0.005], [0.3, 0.2, 0.999]])
    variants = _bound_variants(z, jnp.array([1.0, 2.0]), 0.02, 2)
    np.testing.assert_array_equal(variants, np.array([
        [0.5, 1.0, 0.0], [0.3, 0.2, 1.0],        # every near coordinate of each point
        [0.5, 1.0, 0.005], [0.5, 0.99, 0.0]],    # the best point (loss 1.0), its near coordinates in turn
        np.float32))
    # with room for one, the near coordinate farthest from its bound (0.99, not 0.005) is the one snapped
    np.testing.assert_array_equal(_bound_variants(z, jnp.array([1.0, 2.0]), 0.02, 1)[2],
                                  np.array([0.5, 1.0, 0.005], np.float32))
    # a nearest coordinate that is not within the margin leaves the best point as it is
    variants = _bound_variants(z, jnp.array([2.0, 1.0]), 0.02, 2)
    np.testing.assert_array_equal(variants[2:], np.array([[0.3, 0.2, 1.0], [0.3, 0.2, 0.999]], np.float32))


def _bump_on_the_bound(x):
    """A broad peak of height 1 at x1 = 0.985 and a narrow one, 1.5 higher, on the bound x1 = 1."""
    return (-((x[0] - 0.4) ** 2) + jnp.exp(-(((x[1] - 0.985) / 0.2) ** 2))
            + 1.5 * jnp.exp(-(((x[1] - 1.0) / 0.002) ** 2)))


def test_a_second_optimum_on_a_bound_is_found_by_snapping_onto_it():
    box = make_box([0.0, 0.0], [1.0, 1.0])
    settings = MultistartSettings(samples=32, starts=2, steps=40, polish_starts=1, polish_steps=20)
    no_snap = settings._replace(snap_margin=0.0)
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    search = jax.jit(jax.vmap(lambda k, s=settings: multistart(k, _bump_on_the_bound, box, s).value))
    plain = jax.jit(jax.vmap(lambda k: multistart(k, _bump_on_the_bound, box, no_snap).value))
    snapped, unsnapped = np.asarray(search(keys)), np.asarray(plain(keys))
    assert (unsnapped < 1.1).any()  # without snapping, some searches end on the inner peak
    np.testing.assert_allclose(snapped, 1.5 + np.exp(-((0.015 / 0.2) ** 2)), atol=1e-3)  # x = (0.4, 1)
    assert (snapped >= unsnapped - 1e-6).all()  # snapping only adds candidates


def test_multistart_steps_around_non_finite_regions():
    def objective(x):
        value = -jnp.sum((x - jnp.array([0.3, 0.6, 5.0])) ** 2)
        value = jnp.where(x[0] > 0.8, jnp.nan, value)
        return jnp.where(x[2] < 1.0, -jnp.inf, value)

    found = jax.jit(lambda k: multistart(k, objective, BOX, SMALL))(jax.random.PRNGKey(2))
    np.testing.assert_allclose(from_unit(found.z, BOX), [0.3, 0.6, 5.0], atol=2e-2)
    assert bool(jnp.isfinite(found.value))


def test_differential_evolution_finds_the_maximum_and_counts_evaluations():
    settings = DESettings(population=24, generations=80)
    found = jax.jit(lambda k: differential_evolution(k, jax.vmap(_two_peaks), BOX, settings))(jax.random.PRNGKey(0))
    assert float(found.value) > 0.99  # at least the broad peak
    assert int(found.evaluations) % 24 == 0 and 24 <= int(found.evaluations) <= 81 * 24


def test_non_finite_values_are_the_worst():
    np.testing.assert_array_equal(finite_or_worst(jnp.array([1.0, jnp.nan, jnp.inf, -jnp.inf])),
                                  [1.0, -np.inf, -np.inf, -np.inf])


def test_strata_partition_the_box_and_share_the_starts():
    strata = Strata(1, (1.0, 20.0), (1.0, 1.0, 2.0))
    boxes = _stratum_boxes(BOX, strata)
    assert [(float(b.lower[1]), float(b.upper[1])) for b in boxes] == [(pytest.approx(1e-7), 1.0), (1.0, 20.0),
                                                                        (20.0, 100.0)]
    for b in boxes:  # the other coordinates keep the whole range
        np.testing.assert_array_equal(np.asarray(b.lower)[[0, 2]], np.asarray(BOX.lower)[[0, 2]])
        np.testing.assert_array_equal(np.asarray(b.upper)[[0, 2]], np.asarray(BOX.upper)[[0, 2]])
    assert _shares(96, strata.weights) == [24, 24, 48]
    assert _shares(1, strata.weights) == [1, 1, 1]  # every stratum gets a start


def _hidden_peak(x):
    """A broad peak (height 1) at x1 = 2 and a higher one (height 1.5), narrow in x1, at x1 = 60."""
    broad = jnp.exp(-((x[0] - 0.3) ** 2) / 0.2 - (jnp.log(x[1]) - jnp.log(2.0)) ** 2 / 2.0 - (x[2] - 2.0) ** 2 / 8)
    narrow = 1.5 * jnp.exp(-((x[0] - 0.9) ** 2) / 0.1 - (jnp.log(x[1]) - jnp.log(60.0)) ** 2 / 0.05
                           - (x[2] - 7.0) ** 2 / 8)
    return broad + narrow


def test_a_stratum_of_its_own_finds_a_narrow_peak_that_one_sample_misses():
    settings = MultistartSettings(samples=64, starts=4, steps=60, polish_starts=1, polish_steps=20)
    strata = Strata(1, (30.0,), (1.0, 1.0))
    keys = jax.random.split(jax.random.PRNGKey(0), 16)
    whole = jax.jit(jax.vmap(lambda k: multistart(k, _hidden_peak, BOX, settings)))(keys)
    split = jax.jit(jax.vmap(lambda k: multistart(k, _hidden_peak, BOX, settings, strata)))(keys)
    found_whole = int(jnp.sum(whole.value > 1.4))
    found_split = int(jnp.sum(split.value > 1.4))
    assert found_split >= 14 and found_split > found_whole + 4, (found_whole, found_split)
    best = from_unit(split.z[jnp.argmax(split.value)], BOX)
    np.testing.assert_allclose(best, [0.9, 60.0, 7.0], rtol=1e-2)


def test_a_result_on_a_stratum_edge_is_polished_beyond_it():
    # the only peak is at x1 = 40, above the edge at 20: the lower stratum's Adam stops at 20,
    # the Newton polish (in the whole box) moves on; both strata end on the peak
    def objective(x):
        return -((jnp.log(x[1]) - jnp.log(40.0)) ** 2) - (x[0] - 0.5) ** 2 - (x[2] - 3.0) ** 2

    settings = MultistartSettings(samples=64, starts=2, steps=80, polish_starts=1, polish_steps=30)
    found = jax.jit(lambda k: multistart(k, objective, BOX, settings, Strata(1, (20.0,), (1.0, 1.0))))(
        jax.random.PRNGKey(3))
    np.testing.assert_allclose(from_unit(found.z, BOX), [0.5, 40.0, 3.0], rtol=1e-3)


def _banana(y):
    """Rosenbrock's curved valley (minimum 0 at (1, 1)), the shape of CMR's long ridges."""
    return (1 - y[0]) ** 2 + 100 * (y[1] - y[0] ** 2) ** 2


def test_newton_follows_a_curved_valley_where_adam_with_the_same_budget_does_not():
    start = jnp.array([-1.2, 1.0])
    y, value = jax.jit(lambda y0: _newton(_banana, y0, 40))(start)
    np.testing.assert_allclose(y, [1.0, 1.0], atol=1e-3)
    assert float(value) < 1e-6
    # 40 Newton iterations cost about as many gradients as 40 x (d + 2) = 160 Adam steps
    _, adam_value = jax.jit(lambda y0: _adam(_banana, y0, 160, 0.1))(start)
    assert float(adam_value) > 100 * float(value)


def test_newton_descends_from_a_saddle_and_stops_at_non_finite_values():
    def saddle_bowl(y):  # a saddle at the origin; minima at y0 = +-1, y1 = 0
        return (y[0] ** 2 - 1) ** 2 + y[1] ** 2

    y, value = _newton(saddle_bowl, jnp.array([1e-3, 0.5]), 30)
    np.testing.assert_allclose(jnp.abs(y), [1.0, 0.0], atol=1e-4)

    def walled(y):  # NaN beyond y0 = 0.5: the polish never steps there and keeps a finite best
        return jnp.where(y[0] > 0.5, jnp.nan, (y[0] - 1.0) ** 2 + y[1] ** 2)

    y, value = _newton(walled, jnp.array([0.0, 1.0]), 30)
    assert bool(jnp.isfinite(value)) and float(y[0]) <= 0.5
    assert float(value) < walled(jnp.array([0.0, 1.0]))


@pytest.mark.parametrize("change, message", [
    ({"samples": 0}, "samples must be an int >= 1, got 0"),
    ({"steps": 2.5}, "steps must be an int >= 1"),
    ({"snap_steps": -1}, "snap_steps must be an int >= 0 (0 turns it off)"),
    ({"learning_rate": 0.0}, "learning_rate must be positive"),
    ({"snap_margin": 0.5}, "snap_margin is a distance in the unit box"),
    ({"screen": 0}, "screen must be an int >= 1, got 0"),
    ({"screen_steps": 150}, "screen_steps must be between 1 and steps - 1 = 149 while screen > 1, got 150; "
                            "set screen=1"),
])
def test_multistart_settings_out_of_range_are_refused(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_multistart(MultistartSettings()._replace(**change))
    assert check_multistart(MultistartSettings(snap_margin=0, polish_steps=0)).snap_margin == 0
    assert check_multistart(MultistartSettings(steps=5, screen=1)).screen_steps == 20  # unused without screening


def _hill_and_spike(x):
    """A broad hill of height 1 at (0.25, 0.25) and a spike of height 3 at (0.75, 0.75), 0.045 wide."""
    return jnp.exp(-jnp.sum((x - 0.25) ** 2) / 0.1) + 3 * jnp.exp(-jnp.sum((x - 0.75) ** 2) / 0.002)


def test_screening_the_starts_finds_a_spike_whose_samples_look_worse_than_the_hill():
    # One Adam start: without screening it is the best of 64 samples, on the spike only when a
    # sample falls within 0.047 of its centre; with screen=32 the 32 best samples take 20 steps
    # first, and any of them on the spike's flank has climbed above the hill by then.
    box = make_box([0.0, 0.0], [1.0, 1.0])
    keys = jax.random.split(jax.random.PRNGKey(0), 40)
    reached, evaluations = {}, {}
    for screen in (1, 32):
        settings = MultistartSettings(samples=64, starts=1, steps=40, polish_starts=0, polish_steps=0, screen=screen)
        found = jax.jit(jax.vmap(lambda k, s=settings: multistart(k, _hill_and_spike, box, s)))(keys)
        reached[screen] = int(jnp.sum(found.value > 2.9))
        evaluations[screen] = int(found.evaluations[0])
    assert reached[1] <= 20 and reached[32] >= reached[1] + 10, reached  # measured: 12 and 31 of 40
    assert evaluations == {1: 64 + 41, 32: 64 + 32 * 21 + 21}

