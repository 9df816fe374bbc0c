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
from cmrlab import fitting
from cmrlab.datasets import load_healey_kahana2014
from cmrlab.fitting import FitWarning, fit, fit_subjects, load_fit, save_fit
from cmrlab.search import DESettings, MultistartSettings

ROOT = Path(__file__).resolve().parents[1]
# small searches may disagree: the tests that are about that catch the warning themselves
pytestmark = pytest.mark.filterwarnings("ignore::cmrlab.fitting.FitWarning")
# one small configuration for most tests, so that they share compiled code: these settings, 60 lists of 16
# (or fewer: lists are padded to a multiple of 4), all 11 parameters free, the default number of searches
# screen=1: no screening of the starts, about half the code to compile (the screening is checked in
# test_search.py and by the default fits below)
SMALL = MultistartSettings(samples=256, starts=8, steps=60, polish_starts=1, polish_steps=20, screen=1)
SMALL_DE = DESettings(population=24, generations=40)
BEST_64 = -480.56  # the best optimum any search found for subject 64 (issue 13; reproduced by benchmarks/)
BEST_91 = -545.79  # subject 91's best: choice_sensitivity near 90 on a narrow ridge (benchmarks/bench_fitting.py)
COMMON_91 = -547.18  # the wide optimum near choice_sensitivity 10 that a search over the whole range finds


@pytest.fixture(scope="module")
def hk2014():
    return load_healey_kahana2014(no_task_only=True)


def test_default_fit_of_subject_64_finds_the_narrow_best_optimum_from_several_keys(hk2014):
    # (subject 63's default fit, against jaxcmr's published -694.93, is checked by notebook 06)
    data = hk2014.for_subject(64)
    results = [fit(data.recalls, 16, key=jax.random.PRNGKey(k)) for k in (11, 12)]
    values = [r.log_likelihood for r in results]
    assert min(values) >= BEST_64 - 0.5, values
    result = results[0]
    assert result.n_lists == 28 and result.converged and result.agreement >= 2
    assert len(result.search_values) == result.searches >= 4
    assert result.spread == pytest.approx(result.search_values[0] - result.search_values[-1])
    expected = float(cmrlab.log_likelihood(result.parameters, data.recalls, 16))
    assert result.log_likelihood == pytest.approx(expected, rel=1e-5)


def test_default_fit_of_subject_91_reaches_the_high_choice_sensitivity_ridge(hk2014):
    # a sample over the whole range of choice_sensitivity rarely starts Adam on this ridge (2 of 8 keys
    # before the range was split at 20); the search's own stratum above 20 does
    result = fit(hk2014.for_subject(91).recalls, 16, key=jax.random.PRNGKey(13))
    assert result.log_likelihood >= BEST_91 - 0.5 > COMMON_91, result
    assert result.parameters["choice_sensitivity"] > 20


def test_the_search_splits_choice_sensitivity_only_when_it_is_free():
    strata = cmrlab.fitting._strata(cmrlab.PARAMETER_NAMES)
    assert strata.coordinate == cmrlab.PARAMETER_NAMES.index("choice_sensitivity")
    assert strata.edges == (8.0, 20.0) and len(strata.weights) == 3
    free = tuple(n for n in cmrlab.PARAMETER_NAMES if n != "choice_sensitivity")
    assert cmrlab.fitting._strata(free) is None


def test_parameter_recovery_from_simulated_lists():
    true = dict(cmrlab.DEFAULT_PARAMETERS)
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(11), true, 16, 60))
    result = fit(recalls, 16, key=jax.random.PRNGKey(1), settings=SMALL)
    true_loglik = float(cmrlab.log_likelihood(true, recalls, 16))
    assert result.log_likelihood >= true_loglik - 1.0


def test_fit_is_reproducible_in_bounds_and_respects_fixed_values():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    fixed = {"primacy_decay": 1.6, "learning_rate": 0.15}
    a = fit(recalls, 16, key=jax.random.PRNGKey(5), fixed=fixed, settings=SMALL)
    b = fit(recalls, 16, key=jax.random.PRNGKey(5), fixed=fixed, settings=SMALL)
    assert a.parameters == b.parameters and a.log_likelihood == b.log_likelihood
    assert a.search_values == b.search_values
    assert a.free == tuple(n for n in cmrlab.PARAMETER_NAMES if n not in fixed)
    for p in cmrlab.PARAMETERS:
        value = a.parameters[p.name]
        assert np.isfinite(value) and p.lower <= value <= p.upper
    assert a.parameters["primacy_decay"] == pytest.approx(1.6) and a.parameters["learning_rate"] == pytest.approx(0.15)


def test_searches_that_disagree_are_reported_and_warned_about():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    one_generation = DESettings(population=8, generations=1)
    with pytest.warns(FitWarning, match="did not agree.*more searches"):
        result = fit(recalls, 16, key=jax.random.PRNGKey(0), method="de", settings=one_generation, searches=4,
                     max_rounds=1)
    assert not result.converged and result.agreement < 2 and result.searches == 4
    assert result.spread > 0.5
    assert result.search_values == tuple(sorted(result.search_values, reverse=True))
    assert result.log_likelihood == pytest.approx(result.search_values[0], rel=1e-5)


def test_a_second_round_runs_when_the_first_disagrees():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(3), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    one_generation = DESettings(population=8, generations=1)
    with pytest.warns(FitWarning, match=r"searches=4 or more") as caught:  # twice the searches of a round
        result = fit(recalls, 16, key=jax.random.PRNGKey(0), method="de", settings=one_generation, searches=2,
                     max_rounds=3)
    assert result.searches == 6  # three rounds of two: they never agreed
    assert "the 6 independent searches" in str(caught[0].message)


def test_at_bound_names_parameters_on_a_bound():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    result = fit(recalls, 16, key=jax.random.PRNGKey(5), settings=SMALL)
    for name in result.at_bound:
        p = cmrlab.PARAMETERS[cmrlab.PARAMETER_NAMES.index(name)]
        value = result.parameters[name]
        assert value <= p.lower + 1e-3 * (p.upper - p.lower) or value >= p.upper * 0.99 or value < 1e-4, name
    from cmrlab.fitting import _at_bound
    from cmrlab.search import make_box
    box = make_box([1e-7, 1e-7, 0.0], [1.0, 100.0, 1.0])
    assert _at_bound(np.array([0.5, 100.0, 0.0]), ("a", "b", "c"), box) == ("b", "c")
    assert _at_bound(np.array([0.5, 50.0, 0.5]), ("a", "b", "c"), box) == ()


def test_intrusions_and_repeats_are_cleaned_and_counted():
    clean = np.array(cmrlab.simulate(jax.random.PRNGKey(6), cmrlab.DEFAULT_PARAMETERS, 16, 58))
    recalls = np.concatenate([clean, np.zeros((58, 3), clean.dtype)], axis=1)
    recalls[0], recalls[1] = 0, 0
    recalls[0, :4] = [3, -1, 2, 3]
    recalls[1, :3] = [1, 1, -1]
    clean[0, :3], clean[0, 3:] = [3, 2, 0], 0
    clean[1, :1], clean[1, 1:] = [1], 0
    result = fit(recalls, 16, key=jax.random.PRNGKey(0), settings=SMALL, max_rounds=1)
    assert (result.n_intrusions, result.n_repeats) == (2, 2)
    assert result.log_likelihood == pytest.approx(float(cmrlab.log_likelihood(result.parameters, clean, 16)), rel=1e-5)


def test_bad_input():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="0 rows"):
        fit(np.zeros((0, 5), int), 5, key=key)
    with pytest.raises(ValueError, match="2-D"):
        fit(np.zeros(5, int), 5, key=key)
    with pytest.raises(ValueError, match="unknown CMR parameter"):
        fit(np.ones((2, 1), int), 5, key=key, fixed={"beta": 0.1})
    with pytest.raises(ValueError, match="outside"):
        fit(np.ones((2, 1), int), 5, key=key, fixed={"learning_rate": 2.0})
    with pytest.raises(ValueError, match="must be a number"):
        fit(np.ones((2, 1), int), 5, key=key, fixed={"learning_rate": "0.2"})
    with pytest.raises(ValueError, match="method"):
        fit(np.ones((2, 1), int), 5, key=key, method="nelder-mead")
    with pytest.raises(ValueError, match="summary.*de"):
        fit(np.ones((2, 1), int), 5, key=key, objective="summary", method="multistart")
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(np.ones((2, 1), int), 5, key=key, fixed=cmrlab.DEFAULT_PARAMETERS)
    with pytest.raises(ValueError, match="searches must be a positive int"):
        fit(np.ones((2, 1), int), 5, key=key, searches=0)
    with pytest.raises(ValueError, match="MultistartSettings"):
        fit(np.ones((2, 1), int), 5, key=key, settings=SMALL_DE)
    with pytest.raises(ValueError, match="snap_margin is a distance in the unit box"):
        fit(np.ones((2, 1), int), 5, key=key, settings=MultistartSettings(snap_margin=0.9))


def test_degenerate_data_is_refused_or_warned_about():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="nothing to fit.*no list has a valid recall"):
        fit(np.zeros((10, 5), int), 5, key=key)
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(np.full((10, 3), -1), 5, key=key)  # only intrusions
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(np.array([[-1, 0], [-1, -1]]), 5, key=key)
    single = np.zeros((60, 16), int)
    single[:, 0] = np.arange(60) % 16 + 1
    with pytest.warns(FitWarning, match="two valid recalls"):
        fit(single, 16, key=key, settings=SMALL, max_rounds=1)


def test_summary_statistic_fit_moves_toward_the_data():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(4), cmrlab.DEFAULT_PARAMETERS, 12, 300))
    result = fit(recalls, 12, key=jax.random.PRNGKey(0), objective="summary", n_simulated=500,
                 settings=DESettings(population=32, generations=60), searches=2, max_rounds=1)
    from cmrlab.fitting import summary_loss
    observed = cmrlab.summarize(recalls, 12)
    start = cmrlab.summarize(cmrlab.simulate(jax.random.PRNGKey(9), cmrlab.PRESETS["jaxcmr documentation example"],
                                             12, 500), 12)
    assert result.objective == "summary" and result.method == "de"
    assert np.isfinite(result.loss) and np.isfinite(result.log_likelihood)
    assert result.loss < float(summary_loss(start, observed))
    assert result.search_values[0] == pytest.approx(result.loss)  # summary searches report their loss, best first
    assert result.searches == 2 and 1 <= result.agreement <= 2


def test_save_and_load_round_trip_and_preset(tmp_path):
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    result = fit(recalls, 16, key=jax.random.PRNGKey(5), settings=SMALL)
    path = save_fit(result, tmp_path / "fits" / "subject.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["subject.json"], "no temporary files left"
    again = load_fit(path)
    assert again.parameters == result.parameters and again.log_likelihood == result.log_likelihood
    assert (again.agreement, again.searches, again.search_values, again.at_bound) == (
        result.agreement, result.searches, result.search_values, result.at_bound)
    from cmrlab.widgets import Explorer
    panel = Explorer(n_lists=100, list_length=8)
    panel.add_preset("my fit", again.parameters)
    panel.preset.value = "my fit"
    assert panel.parameters == pytest.approx(again.parameters, abs=1e-6), "a preset shows the fit's true values"


def test_save_fit_takes_numpy_and_jax_numbers_and_load_fit_says_what_is_wrong(tmp_path):
    values = {n: np.float32(v) for n, v in cmrlab.DEFAULT_PARAMETERS.items()}
    values["choice_sensitivity"] = jnp.float32(7.5)
    path = save_fit({"parameters": values, "note": np.int64(3)}, tmp_path / "dict.json")
    loaded = load_fit(path)
    assert loaded.parameters["choice_sensitivity"] == 7.5
    assert loaded.parameters["encoding_drift_rate"] == pytest.approx(0.46)
    plain = save_fit(dict(cmrlab.DEFAULT_PARAMETERS), tmp_path / "plain.json")
    assert load_fit(plain).parameters == pytest.approx(cmrlab.DEFAULT_PARAMETERS)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"parameters": {"encoding_drift_rate": 0.5,')
    with pytest.raises(ValueError, match="corrupt.json is not a saved fit: it is not valid JSON"):
        load_fit(corrupt)
    other = tmp_path / "other.json"
    other.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="not a saved fit"):
        load_fit(other)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"parameters": {**cmrlab.DEFAULT_PARAMETERS, "encoding_drift_rate": 3.0}}))
    with pytest.raises(ValueError, match="bad.json.*encoding_drift_rate"):
        load_fit(bad)
    with pytest.raises(TypeError, match="FitResult or a dict"):
        save_fit([1, 2], tmp_path / "list.json")


def test_fit_subjects_gives_each_subject_its_own_fit(hk2014):
    three = hk2014.select(np.isin(hk2014.subject, hk2014.subjects[:3]))
    table = fit_subjects(three, key=jax.random.PRNGKey(0), settings=SMALL, progress=False)  # one at a time
    assert list(table.subject) == list(hk2014.subjects[:3])
    assert set(cmrlab.PARAMETER_NAMES) <= set(table.columns)
    assert {"agreement", "searches", "spread", "converged", "at_bound"} <= set(table.columns)
    assert (table.n_lists == 28).all() and np.isfinite(table.log_likelihood).all()
    single = fit(three.for_subject(hk2014.subjects[1]).recalls, 16,
                 key=jax.random.fold_in(jax.random.PRNGKey(0), 1), settings=SMALL)
    assert table.log_likelihood[1] == pytest.approx(single.log_likelihood, abs=0.01)
    assert table.agreement[1] == single.agreement and table.searches[1] == single.searches


def test_the_shipped_table_holds_each_subjects_fit_at_its_stated_log_likelihood(hk2014):
    table = cmrlab.fitting.healey_kahana2014_fits()
    assert list(table.subject) == [int(s) for s in hk2014.subjects]
    assert ((table.agreement >= 1) & (table.agreement <= table.searches)).all()
    assert (table.converged == (table.agreement >= 2)).all()
    for row in table.itertuples():
        parameters = {name: getattr(row, name) for name in cmrlab.PARAMETER_NAMES}
        recalls = hk2014.for_subject(row.subject).recalls
        assert row.n_lists == len(recalls)
        # parameters and value are stored to 6 significant digits
        assert float(cmrlab.log_likelihood(parameters, recalls, 16)) == pytest.approx(row.log_likelihood, abs=0.05)


def test_fit_subjects_on_four_cpu_devices_and_other_batch_sizes_matches_one():
    script = textwrap.dedent("""
        import json, sys, jax, numpy as np
        from cmrlab.datasets import load_healey_kahana2014
        from cmrlab.fitting import fit_subjects
        from cmrlab.search import MultistartSettings
        data = load_healey_kahana2014(no_task_only=True)
        data = data.select(np.isin(data.subject, data.subjects[:5]))
        # the snapped points are polished to convergence (snap_steps=30): a Newton run cut short carries
        # the last-digit differences of another vmap width far (at 10 steps subject 3 ended at -617.11 on
        # four devices and at -619.61 on one; both reach -612.13 at 30)
        settings = MultistartSettings(samples=128, starts=4, steps=30, polish_starts=1, polish_steps=10, snap_steps=30,
                                      screen=1)
        table = fit_subjects(data, key=jax.random.PRNGKey(0), settings=settings, searches=2, max_rounds=1,
                             batch_size=int(sys.argv[1]), progress=False)
        print(json.dumps({"devices": len(jax.devices()), "loglik": table.log_likelihood.tolist(),
                          "drift": table.encoding_drift_rate.tolist(), "agreement": table.agreement.tolist()}))
    """)
    results = []
    for count, batch in ((4, 4), (1, 1)):  # four devices in batches of 4, against one device one at a time
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={count} --xla_cpu_max_isa=AVX",
               "JAX_PLATFORMS": "cpu"}
        out = subprocess.run([sys.executable, "-W", "ignore::UserWarning", "-c", script, str(batch)], env=env,
                             capture_output=True, text=True, cwd=ROOT, timeout=900)
        assert out.returncode == 0, out.stderr[-3000:]
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [r["devices"] for r in results] == [4, 1]
    for other in results[1:]:
        np.testing.assert_allclose(results[0]["loglik"], other["loglik"], rtol=1e-4)
        np.testing.assert_allclose(results[0]["drift"], other["drift"], rtol=1e-3, atol=1e-4)
        assert results[0]["agreement"] == other["agreement"]


_process_mappings = fitting._mappings  # the real count, also where a test switches fitting's check off


def _mappings() -> int:
    return _process_mappings()[0]


def test_fitting_programs_are_dropped_least_recently_used_first(monkeypatch):
    programs, built = fitting._Programs(), []

    def build(name):
        return lambda: built.append(name) or name

    monkeypatch.setattr(fitting, "FITTING_PROGRAMS_KEPT", 2)
    monkeypatch.setattr(fitting, "_mappings", lambda: (100, 65530))
    for name in "abab":
        assert programs.get(name, build(name)) == name
    assert built == ["a", "b"], "a configuration used again must not be rebuilt"
    programs.get("c", build("c"))  # a is the least recently used
    assert list(programs.programs) == ["b", "c"]
    monkeypatch.setattr(fitting, "_mappings", lambda: (40000, 65530))  # over half the limit: make room
    programs.get("d", build("d"))
    assert list(programs.programs) == ["d"]


def test_dropped_fitting_programs_give_their_compiled_code_back(monkeypatch):
    """With one program kept, compiling ten configurations leaves the mappings where one left them."""
    def step(x, k):
        return jnp.sin(x * k) + jnp.cos(x) ** 2, x

    def program(x, n):
        return jax.lax.scan(step, x, jnp.arange(n, dtype=x.dtype))

    compiled = fitting._FittingJit(program, static_argnames=("n",))
    # only the number kept decides here, not how many mappings the rest of the process holds
    monkeypatch.setattr(fitting, "_mappings", lambda: None)
    monkeypatch.setattr(fitting, "FITTING_PROGRAMS_KEPT", 1)
    monkeypatch.setattr(fitting, "_PROGRAMS", fitting._Programs())
    compiled(jnp.ones(3), 2)
    before = _mappings()
    for n in range(3, 13):
        compiled(jnp.ones(3), n)
    assert _mappings() - before < 10 * 5, "each new configuration should replace the last one's compiled code"
    monkeypatch.setattr(fitting, "FITTING_PROGRAMS_KEPT", 16)
    for n in range(13, 23):
        compiled(jnp.ones(3), n)
    assert _mappings() - before >= 10 * 5, "control: kept programs hold their code (else this test shows nothing)"


def test_many_fits_in_one_process_keep_memory_flat():
    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 16, 60))
    tiny = MultistartSettings(samples=64, starts=2, steps=5, polish_starts=1, polish_steps=2, screen_steps=2)
    for k in range(3):  # compile and settle
        fit(recalls, 16, key=jax.random.PRNGKey(k), settings=tiny, searches=2, max_rounds=1)
    before = _mappings()
    for k in range(40):
        fit(recalls, 16, key=jax.random.PRNGKey(100 + k), settings=tiny, searches=2, max_rounds=1)
    assert _mappings() - before < 20, "each fit should reuse the compiled code, not add to it"


# ----------------------------------------------------------------------------- the full model (Polyn et al., 2009)

TINY = MultistartSettings(samples=32, starts=2, steps=20, polish_starts=0, polish_steps=0,
                          screen=1)  # no Newton polish or screening: less to compile


@pytest.fixture(scope="module")
def polyn_lists():
    from cmrlab.datasets import load_polyn2009

    data = load_polyn2009()
    rows = np.flatnonzero(data.subject == data.subjects[0])[:12]
    return data, rows


def test_full_model_fit_improves_on_the_published_set_and_scores_as_log_likelihood_says(polyn_lists):
    data, rows = polyn_lists
    lists = dict(study_items=data.study_items[rows], sources=data.sources[rows], similarity=data.similarity)
    preset = cmrlab.SOURCE_PRESETS["Polyn 2009 full"]
    luce = {n: preset[n] for n in cmrlab.parameters.LUCE_PARAMETER_NAMES}
    free = ("encoding_drift_rate", "source_learning_rate", "semantic_scale")
    fixed = {n: v for n, v in luce.items() if n not in free}
    result = fit(data.recalls[rows], 24, key=jax.random.PRNGKey(0), fixed=fixed, settings=TINY, searches=2,
                 max_rounds=1, **lists)
    assert set(result.parameters) == set(cmrlab.parameters.LUCE_PARAMETER_NAMES)
    assert result.free == free
    assert all(result.parameters[n] == pytest.approx(v) for n, v in fixed.items())
    expected = float(cmrlab.log_likelihood(result.parameters, data.recalls[rows], 24, **lists))
    assert result.log_likelihood == pytest.approx(expected, rel=1e-5)
    assert result.log_likelihood >= float(cmrlab.log_likelihood(luce, data.recalls[rows], 24, **lists)) - 1e-3


def test_full_model_parameters_with_nothing_to_act_on_are_not_fitted(polyn_lists):
    from cmrlab.fitting import FULL_SPACE, _free_and_fixed, _list_data

    data, rows = polyn_lists
    space, sources, semantic, n_sources, inert = _list_data(len(rows), 24, None, data.sources[rows], None)
    assert space is FULL_SPACE and n_sources == 2 and semantic is None and inert == ("semantic_scale",)
    free, values, _ = _free_and_fixed({"learning_rate": 0.3}, space, inert)
    assert "semantic_scale" not in free and "learning_rate" not in free and "shift_drift_rate" in free
    assert values[space.names.index("semantic_scale")] == 0.0
    *_, inert = _list_data(len(rows), 24, data.study_items[rows], None, data.similarity)
    assert inert == ("source_drift_rate", "shift_drift_rate")


def test_full_model_fit_bad_input(polyn_lists):
    data, rows = polyn_lists
    recalls = data.recalls[rows]
    with pytest.raises(ValueError, match="full model"):
        fit(recalls, 24, key=jax.random.PRNGKey(0), fixed={"semantic_scale": 1.0})
    with pytest.raises(ValueError, match="accumulator"):
        fit(recalls, 24, key=jax.random.PRNGKey(0), sources=data.sources[rows], fixed={"accumulator_leak": 0.1})
    with pytest.raises(ValueError, match="outside its allowed range"):
        fit(recalls, 24, key=jax.random.PRNGKey(0), sources=data.sources[rows], fixed={"shift_drift_rate": 2.0})
    with pytest.raises(ValueError, match="sources"):
        fit(recalls, 24, key=jax.random.PRNGKey(0), sources=data.sources[rows][:3])


def test_fit_subjects_fits_the_full_model_subject_by_subject(polyn_lists):
    data, _ = polyn_lists
    two = np.isin(data.subject, data.subjects[:2])
    subset = data.select(two)
    fixed = {n: v for n, v in cmrlab.SOURCE_PRESETS["Polyn 2009 full"].items()
             if n in cmrlab.parameters.LUCE_PARAMETER_NAMES and n not in ("source_learning_rate", "semantic_scale")}
    lists = dict(study_items=subset.study_items, sources=subset.sources, similarity=subset.similarity)
    table = fit_subjects(subset, key=jax.random.PRNGKey(0), fixed=fixed, settings=TINY, searches=2, max_rounds=1,
                         progress=False, **lists)
    assert {"source_learning_rate", "semantic_scale", "shift_drift_rate"} <= set(table.columns)
    for i, subject in enumerate(subset.subjects):
        mine = subset.subject == subject
        expected = float(cmrlab.log_likelihood(table.iloc[i][list(cmrlab.parameters.LUCE_PARAMETER_NAMES)].to_dict(),
                                               subset.recalls[mine], 24, study_items=subset.study_items[mine],
                                               sources=subset.sources[mine], similarity=subset.similarity))
        assert table.log_likelihood[i] == pytest.approx(expected, rel=1e-4)


def test_full_model_summary_fit_targets_source_and_semantic_clustering_too(polyn_lists):
    from cmrlab.fitting import _full_summary_lists, _full_summary_vector
    from cmrlab.parameters import as_full_parameters, pack_luce
    from cmrlab.recalls import clean_recalls
    from cmrlab.simulation import _simulate_source
    from cmrlab.study_lists import prepare_lists

    data, _ = polyn_lists
    rows = np.flatnonzero(np.isin(data.subject, data.subjects[:2]))
    lists = dict(study_items=data.study_items[rows], sources=data.sources[rows], similarity=data.similarity)
    clean = clean_recalls(data.recalls[rows], 24)
    prepared = prepare_lists(len(rows), 24, **lists)
    arrays = _full_summary_lists(prepared.source_matrix(len(rows), 24), prepared.semantic, lists["study_items"],
                                 data.similarity, len(rows), 24)
    observed = np.asarray(_full_summary_vector(jnp.asarray(clean), arrays, 24))
    # the objective's two new entries are the published analyses: source clustering on the lists with
    # both tasks, and the semantic factor with 1 - LSA
    mixed = data.list_type[rows] == 2
    assert np.array_equal(np.asarray(arrays.mixed), mixed)
    assert observed[-2] == pytest.approx(float(cmrlab.category_crp(clean[mixed], data.sources[rows][mixed], 24)))
    assert observed[-1] == pytest.approx(float(cmrlab.distance_rank(clean, lists["study_items"], 1 - data.similarity,
                                                                    24)))
    key = jax.random.PRNGKey(0)
    result = fit(data.recalls[rows], 24, key=key, objective="summary", n_simulated=180,
                 settings=DESettings(population=16, generations=10), searches=2, max_rounds=1, **lists)

    def loss(parameters):  # the objective as fit computes it: the lists simulated 180 // 45 = 4 times
        tiled = jax.tree_util.tree_map(lambda x: jnp.tile(x, (4,) + (1,) * (x.ndim - 1)), arrays)
        uniforms = jax.random.uniform(jax.random.fold_in(key, 2**31 - 1), (24, 4 * len(rows)))
        simulated = _simulate_source(uniforms, pack_luce(as_full_parameters(parameters)), tiled.sources,
                                     tiled.semantic, 2)
        diff = np.asarray(_full_summary_vector(simulated, tiled, 24)) - observed
        return float(np.sum(np.where(np.isnan(diff), 0, diff**2)))

    assert result.objective == "summary" and len(result.parameters) == 15
    assert result.loss == pytest.approx(loss(result.parameters), rel=0.02)  # a recall may flip on another CPU
    far = {**cmrlab.SOURCE_PRESETS["Polyn 2009 full"], "semantic_scale": 10.0, "choice_sensitivity": 1.0}
    assert result.loss < loss(far)
