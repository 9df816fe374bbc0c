"""The search strategies behind fit, on objectives whose maxima are known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmrlab.search import (
    DESettings,
    MultistartSettings,
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
