import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab.datasets import load_healey_kahana2014
from cmrlab.fitting import (
    DESettings,
    GradientSettings,
    _differential_evolution,
    _Problem,
    _safe,
    fit,
    fit_subjects,
    load_fit,
    save_fit,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL_DE = DESettings(population=24, generations=40)


def test_subject_63_reaches_the_published_fit():
    data = load_healey_kahana2014(no_task_only=True).for_subject(63)
    result = fit(data.recalls, 16, key=jax.random.PRNGKey(0))
    # jaxcmr's published fit for this subject scores -694.93 under the spec
    assert result.log_likelihood >= -694.93
    assert result.n_lists == 28 and result.converged
    expected = float(cmrlab.log_likelihood(result.parameters, data.recalls, 16))
    assert result.log_likelihood == pytest.approx(expected, rel=1e-5)


def test_parameter_recovery_from_simulated_lists():
    true = dict(cmrlab.DEFAULT_PARAMETERS)
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(11), true, 16, 100))
    result = fit(recalls, 16, key=jax.random.PRNGKey(1))
    true_loglik = float(cmrlab.log_likelihood(true, recalls, 16))
    assert result.log_likelihood >= true_loglik - 1.0


def test_fit_is_reproducible_in_bounds_and_respects_fixed_values():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 10, 60))
    fixed = {"primacy_decay": 1.6, "learning_rate": 0.15}
    a = fit(recalls, 10, key=jax.random.PRNGKey(5), fixed=fixed, de=SMALL_DE)
    b = fit(recalls, 10, key=jax.random.PRNGKey(5), fixed=fixed, de=SMALL_DE)
    assert a.parameters == b.parameters and a.log_likelihood == b.log_likelihood
    assert a.free == tuple(n for n in cmrlab.PARAMETER_NAMES if n not in fixed)
    for p in cmrlab.PARAMETERS:
        value = a.parameters[p.name]
        assert np.isfinite(value) and p.lower <= value <= p.upper
    assert a.parameters["primacy_decay"] == pytest.approx(1.6) and a.parameters["learning_rate"] == pytest.approx(0.15)


@pytest.mark.parametrize("method", ["gradient", "de+gradient"])
def test_other_methods_improve_on_the_start(method):
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS, 10, 60))
    result = fit(recalls, 10, key=jax.random.PRNGKey(0), method=method, de=SMALL_DE,
                 gradient=GradientSettings(starts=8, steps=300))
    example = cmrlab.PRESETS["jaxcmr documentation example"]
    assert result.log_likelihood > float(cmrlab.log_likelihood(example, recalls, 10))
    assert all(p.lower <= result.parameters[p.name] <= p.upper for p in cmrlab.PARAMETERS)


def test_differential_evolution_steps_around_non_finite_regions():
    problem = _Problem(recalls=jnp.zeros((1, 1), jnp.int32), weights=jnp.ones(1), free_index=jnp.arange(2),
                       fixed_full=jnp.zeros(11), lower=jnp.zeros(2), upper=jnp.ones(2))

    def score(x):  # best at (0.3, 0.6); NaN or -inf on part of the box
        value = -jnp.sum((x - jnp.array([[0.3, 0.6]])) ** 2, axis=1)
        value = jnp.where(x[:, 0] > 0.8, jnp.nan, value)
        return _safe(jnp.where(x[:, 1] < 0.1, -jnp.inf, value))

    population, fitness, _, _ = _differential_evolution(jax.random.PRNGKey(0), problem, 1, SMALL_DE, score)
    best = population[jnp.argmax(fitness)]
    np.testing.assert_allclose(best, [0.3, 0.6], atol=0.02)
    assert bool(jnp.isfinite(jnp.max(fitness)))
    assert float(_safe(jnp.array([jnp.nan]))[0]) == -np.inf


def test_intrusions_and_repeats_are_cleaned_and_counted():
    recalls = np.array([[3, -1, 2, 3, 0], [1, 1, -1, 0, 0], [2, 1, 3, 0, 0]])
    result = fit(recalls, 3, key=jax.random.PRNGKey(0), de=SMALL_DE)
    assert (result.n_intrusions, result.n_repeats) == (2, 2)
    clean = np.array([[3, 2, 0], [1, 0, 0], [2, 1, 3]])
    assert result.log_likelihood == pytest.approx(float(cmrlab.log_likelihood(result.parameters, clean, 3)), rel=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="0 rows"):
        fit(np.zeros((0, 5), int), 5, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="2-D"):
        fit(np.zeros(5, int), 5, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="unknown CMR parameter"):
        fit(np.ones((2, 1), int), 5, key=jax.random.PRNGKey(0), fixed={"beta": 0.1})
    with pytest.raises(ValueError, match="outside"):
        fit(np.ones((2, 1), int), 5, key=jax.random.PRNGKey(0), fixed={"learning_rate": 2.0})
    with pytest.raises(ValueError, match="method"):
        fit(np.ones((2, 1), int), 5, key=jax.random.PRNGKey(0), method="nelder-mead")
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(np.ones((2, 1), int), 5, key=jax.random.PRNGKey(0), fixed=cmrlab.DEFAULT_PARAMETERS)


def test_summary_statistic_fit_moves_toward_the_data():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(4), cmrlab.DEFAULT_PARAMETERS, 12, 300))
    result = fit(recalls, 12, key=jax.random.PRNGKey(0), objective="summary", n_simulated=500,
                 de=DESettings(population=32, generations=60))
    from cmrlab.fitting import summary_loss
    observed = cmrlab.summarize(recalls, 12)
    start = cmrlab.summarize(cmrlab.simulate(jax.random.PRNGKey(9), cmrlab.PRESETS["jaxcmr documentation example"],
                                             12, 500), 12)
    assert result.objective == "summary" and np.isfinite(result.loss) and np.isfinite(result.log_likelihood)
    assert result.loss < float(summary_loss(start, observed))


def test_save_and_load_round_trip_and_preset(tmp_path):
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 8, 40))
    result = fit(recalls, 8, key=jax.random.PRNGKey(0), de=SMALL_DE)
    path = save_fit(result, tmp_path / "fits" / "subject.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["subject.json"], "no temporary files left"
    again = load_fit(path)
    assert again.parameters == result.parameters and again.log_likelihood == result.log_likelihood
    from cmrlab.widgets import Explorer
    panel = Explorer(n_lists=100, list_length=8)
    panel.add_preset("my fit", again.parameters)
    panel.preset.value = "my fit"
    for p in cmrlab.PARAMETERS:
        low, high, _ = p.slider
        assert panel.parameters[p.name] == pytest.approx(np.clip(again.parameters[p.name], max(low, p.lower), high),
                                                         abs=1e-6)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"parameters": {"encoding_drift_rate": 3.0}}))
    with pytest.raises(ValueError):
        load_fit(bad)


def test_fit_subjects_table_and_progress():
    data = load_healey_kahana2014(no_task_only=True)
    two = data.select(np.isin(data.subject, data.subjects[:3]))
    table = fit_subjects(two, key=jax.random.PRNGKey(0), de=SMALL_DE, batch_size=2, progress=False)
    assert list(table.subject) == list(data.subjects[:3])
    assert set(cmrlab.PARAMETER_NAMES) <= set(table.columns)
    assert (table.n_lists == 28).all() and np.isfinite(table.log_likelihood).all()
    single = fit(two.for_subject(data.subjects[1]).recalls, 16, key=jax.random.fold_in(jax.random.PRNGKey(0), 1),
                 de=SMALL_DE)
    assert table.log_likelihood[1] == pytest.approx(single.log_likelihood, abs=0.05)


def test_fit_subjects_on_four_cpu_devices_matches_one():
    script = textwrap.dedent("""
        import json, sys, jax, numpy as np
        from cmrlab.datasets import load_healey_kahana2014
        from cmrlab.fitting import DESettings, fit_subjects
        data = load_healey_kahana2014(no_task_only=True)
        data = data.select(np.isin(data.subject, data.subjects[:5]))
        table = fit_subjects(data, key=jax.random.PRNGKey(0), de=DESettings(population=16, generations=25),
                             batch_size=4, progress=False)
        print(json.dumps({"devices": len(jax.devices()), "loglik": table.log_likelihood.tolist(),
                          "drift": table.encoding_drift_rate.tolist()}))
    """)
    results = []
    for count in (1, 4):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={count}", "JAX_PLATFORMS": "cpu"}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [r["devices"] for r in results] == [1, 4]
    np.testing.assert_allclose(results[0]["loglik"], results[1]["loglik"], rtol=1e-4)
    np.testing.assert_allclose(results[0]["drift"], results[1]["drift"], rtol=1e-3)
