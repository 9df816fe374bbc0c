"""The exercise checks: right answers pass, classic mistakes fail with their own hint, bad functions get messages.

Every check is tried with cmrlab's own function, a second correct version
written differently (loops, as a student might), and at least three classic
mistakes written here the way a student would write them (not the
package's own mistake functions), each of which must be recognised by its
hint. Constant and random answers must fail.
"""

import sys
import threading
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmrlab
from cmrlab import exercises
from cmrlab.exercises import (
    check_context_update,
    check_lag_crp,
    check_list_log_likelihood,
    check_no_contiguity,
    check_no_primacy,
    check_outcome_probabilities,
    check_pfr,
    check_read_murdock,
    check_recall_count,
    check_spc,
    check_study,
    log_likelihood_own,
    simulate_own,
)
from cmrlab.exercises import analyses, context, likelihood, murdock, retrieval, study
from cmrlab.model import CMRState, integrate, outcome_probabilities
from cmrlab.parameters import as_parameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

EPS = float(np.finfo(np.float32).eps)


# ----------------------------------------------------------------------------- the parameter-guessing checks


def test_unanswered_and_out_of_range_answers_are_explained():
    assert check_no_primacy(None).startswith("Not answered yet")
    assert "must be a number" in check_no_contiguity(3.0)


def test_wrong_answers_get_a_hint_and_right_ones_pass():
    assert check_no_primacy(4.1).startswith("Not yet") and "Hint" in check_no_primacy(4.1)
    assert check_no_primacy(1.0).startswith("Correct")
    assert check_no_contiguity(0.46).startswith("Not yet")
    assert check_no_contiguity(1.0).startswith("Correct")
    assert "raise" in check_recall_count(0.029)
    assert check_recall_count(0.08).startswith("Correct")


# ----------------------------------------------------------------------------- helpers


def hint_of(module, words):
    """The hint of the package's classic mistake whose text contains ``words``."""
    [hint] = [m.hint for m in module.MISTAKES if words in m.hint]
    return hint


def assert_rejected_with(result, hint):
    assert not result.passed, str(result)
    assert result.hint == hint, str(result)
    assert result.expected is not None and result.got is not None, str(result)


def constant_like(value):
    return lambda *args: value


def random_like(shape_of):
    rng = np.random.default_rng(1)
    return lambda *args: rng.random(shape_of(*args))


# ----------------------------------------------------------------------------- context update


def update_loops(c, c_in, beta):
    """A second correct version: plain Python loops."""
    length = (sum(x * x for x in c_in) + EPS) ** 0.5
    c_in = [x / length for x in c_in]
    d = sum(a * b for a, b in zip(c, c_in))
    rho = (1 + beta * beta * (d * d - 1)) ** 0.5 - beta * d
    new = [rho * a + beta * b for a, b in zip(c, c_in)]
    length = (sum(x * x for x in new) + EPS) ** 0.5
    return np.array([x / length for x in new])


def update_jax(c, c_in, beta):
    c_in = c_in / jnp.linalg.norm(c_in)
    d = jnp.dot(c, c_in)
    rho = jnp.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d
    new = rho * c + beta * c_in
    return new / jnp.linalg.norm(new)


def test_context_update_accepts_cmrlab_loops_and_jax_numpy():
    for fn in (integrate, update_loops, update_jax):
        result = check_context_update(fn)
        assert result.passed, str(result)
        assert str(result) == "check_context_update: passed all 24 cases (8 edge cases, 16 random)."


def linear_drift(c, c_in, beta):
    return (1 - beta) * c + beta * c_in


def unnormalised_input(c, c_in, beta):
    d = np.dot(c, c_in)
    rho = np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d
    new = rho * c + beta * c_in
    return new / np.linalg.norm(new)


def plus_sign_in_rho(c, c_in, beta):
    c_in = c_in / np.linalg.norm(c_in)
    d = np.dot(c, c_in)
    new = (np.sqrt(1 + beta**2 * (d**2 - 1)) + beta * d) * c + beta * c_in
    return new / np.linalg.norm(new)


def elementwise_dot(c, c_in, beta):
    c_in = c_in / np.linalg.norm(c_in)
    d = c * c_in
    new = (np.sqrt(1 + beta**2 * (d**2 - 1)) - beta * d) * c + beta * c_in
    return new / np.linalg.norm(new)


@pytest.mark.parametrize("wrong, words", [
    (linear_drift, "linear drift (1 - beta)"),
    (unnormalised_input, "input is not normalised"),
    (plus_sign_in_rho, "sign in rho"),
    (elementwise_dot, "element-wise"),
])
def test_context_update_names_each_classic_mistake(wrong, words):
    assert_rejected_with(check_context_update(wrong), hint_of(context, words))


def test_context_update_rejects_constant_and_random_answers():
    assert not check_context_update(lambda c, c_in, beta: np.ones_like(c) / np.sqrt(c.size)).passed
    rng = np.random.default_rng(0)
    assert not check_context_update(lambda c, c_in, beta: rng.random(c.shape)).passed
    assert not check_context_update(lambda c, c_in, beta: c).passed


# ----------------------------------------------------------------------------- analyses, written with loops


def valid_items(row, L):
    seen, items = [], []
    for r in row:
        if 1 <= r <= L and r not in seen:
            seen.append(r)
            items.append(int(r))
    return items


def spc_loops(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in valid_items(row, L):
            counts[r - 1] += 1
    return counts / len(recalls)


def pfr_loops(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        items = valid_items(row, L)
        if items:
            counts[items[0] - 1] += 1
    total = counts.sum()
    return counts / total if total else np.full(L, np.nan)


def lag_crp_loops(recalls, L):
    actual, possible = np.zeros(2 * L - 1), np.zeros(2 * L - 1)
    for row in recalls:
        done, prev = set(), None
        for r in row:
            if r == 0:
                break
            ok = 1 <= r <= L and r not in done
            if ok and prev is not None:
                actual[r - prev + L - 1] += 1
                for j in range(1, L + 1):
                    if j not in done:
                        possible[j - prev + L - 1] += 1
            prev = r if ok else None
            if ok:
                done.add(r)
    with np.errstate(invalid="ignore"):
        return np.where(possible > 0, actual / possible, np.nan)


def spc_counting_repeats(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in row:
            if r > 0:
                counts[r - 1] += 1
    return counts / len(recalls)


def spc_unique_codes(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        for r in np.unique(row):
            counts[r - 1] += 1
    return counts / recalls.shape[0]


def spc_over_lists_with_recall(recalls, L):
    counts = np.zeros(L)
    lists = 0
    for row in recalls:
        items = valid_items(row, L)
        if items:
            lists += 1
        for r in items:
            counts[r - 1] += 1
    return counts / lists


def pfr_first_column(recalls, L):
    first = recalls[:, 0]
    first = first[(first >= 1) & (first <= L)]
    return np.bincount(first - 1, minlength=L) / len(first)


def pfr_over_all_lists(recalls, L):
    counts = np.zeros(L)
    for row in recalls:
        items = valid_items(row, L)
        if items:
            counts[items[0] - 1] += 1
    return counts / len(recalls)


def pfr_counts(recalls, L):
    return pfr_over_all_lists(recalls, L) * len(recalls)


def lag_crp_keeping_recalled(recalls, L):
    actual, possible = np.zeros(2 * L - 1), np.zeros(2 * L - 1)
    for row in recalls:
        done, prev = set(), None
        for r in row:
            if r == 0:
                break
            ok = 1 <= r <= L and r not in done
            if ok and prev is not None:
                actual[r - prev + L - 1] += 1
                for j in range(1, L + 1):
                    if j != prev:
                        possible[j - prev + L - 1] += 1
            prev = r if ok else None
            if ok:
                done.add(r)
    with np.errstate(invalid="ignore"):
        return actual / possible


def lag_crp_dropping_intrusions_first(recalls, L):
    cleaned = np.zeros_like(recalls)
    for index, row in enumerate(recalls):
        items = valid_items(row, L)
        cleaned[index, : len(items)] = items
    return lag_crp_loops(cleaned, L)


def lag_crp_zero_not_nan(recalls, L):
    return np.nan_to_num(lag_crp_loops(recalls, L))


def lag_crp_counting_repeats(recalls, L):
    actual, possible = np.zeros(2 * L - 1), np.zeros(2 * L - 1)
    for row in recalls:
        done, prev = set(), None
        for r in row:
            if r == 0:
                break
            ok = 1 <= r <= L
            if ok and prev is not None:
                actual[r - prev + L - 1] += 1
                for j in range(1, L + 1):
                    if j not in done:
                        possible[j - prev + L - 1] += 1
            prev = r if ok else None
            if ok:
                done.add(r)
    with np.errstate(invalid="ignore"):
        return actual / possible


@pytest.mark.parametrize("check, fns", [
    (check_spc, (cmrlab.spc, spc_loops)),
    (check_pfr, (cmrlab.pfr, pfr_loops)),
    (check_lag_crp, (cmrlab.lag_crp, lag_crp_loops)),
])
def test_analysis_checks_accept_cmrlab_and_loops(check, fns):
    for fn in fns:
        result = check(fn)
        assert result.passed, str(result)


@pytest.mark.parametrize("check, wrong, words", [
    (check_spc, spc_counting_repeats, "Repeats are counted twice"),
    (check_spc, spc_unique_codes, "Padding (0) and intrusions"),
    (check_spc, spc_over_lists_with_recall, "including lists with no recall"),
    (check_pfr, pfr_first_column, "skip the intrusion and take the next"),
    (check_pfr, pfr_over_all_lists, "so that the PFR sums to 1"),
    (check_pfr, pfr_counts, "These are counts: divide by the number of lists with"),
    (check_lag_crp, lag_crp_keeping_recalled, "Already-recalled items are left in the denominator"),
    (check_lag_crp, lag_crp_dropping_intrusions_first, "counted across an intrusion"),
    (check_lag_crp, lag_crp_zero_not_nan, "is NaN (0 / 0), not 0"),
    (check_lag_crp, lag_crp_counting_repeats, "Repeats are treated as valid recalls"),
])
def test_analysis_checks_name_each_classic_mistake(check, wrong, words):
    assert_rejected_with(check(wrong), hint_of(analyses, words))


@pytest.mark.parametrize("check, width", [(check_spc, lambda L: L), (check_pfr, lambda L: L),
                                          (check_lag_crp, lambda L: 2 * L - 1)])
def test_analysis_checks_reject_constant_and_random_answers(check, width):
    assert not check(lambda recalls, L: np.full(width(L), 0.25)).passed
    assert not check(random_like(lambda recalls, L: width(L))).passed


def test_the_failing_case_is_shown_with_expected_got_and_a_hint():
    result = check_lag_crp(lag_crp_dropping_intrusions_first)
    text = str(result)
    assert "intrusion (-1) in the middle" in result.case
    for piece in ("check_lag_crp: not yet.", "recalls", "list_length = 6", "expected", "got", "Hint: Transitions"):
        assert piece in text
    markdown = result._repr_markdown_()
    assert markdown.startswith("❌ **check_lag_crp: not yet.") and "```text" in markdown and "**Hint:**" in markdown
    assert repr(result) == text
    assert "def " not in text and "return" not in text  # no solution code


# ----------------------------------------------------------------------------- study phase


def study_cmrlab(L, p):
    """cmrlab's own study phase (the model's functions, compiled)."""
    return study.studied(L, p)


def study_loops(L, p):
    model = reference.ReferenceCMR(L, p)
    for item in range(1, L + 1):
        model.study(item)
    return model.c, model.mfc, model.mcf


def study_variant(L, p, learn_first=False, k_from_one=False, no_plus_one=False, mfc_ones=False):
    c = np.zeros(L + 1)
    c[0] = 1
    mfc = np.zeros((L, L + 1))
    mcf = np.zeros((L + 1, L))
    for i in range(L):
        mfc[i, i + 1] = 1 if mfc_ones else 1 - p["learning_rate"]
        for j in range(L):
            mcf[j + 1, i] = p["item_support"] if i == j else p["shared_support"]
    for k in range(L):
        new = update_loops(c, mfc[k], p["encoding_drift_rate"])
        learn = c if learn_first else new
        c = new
        position = k + 1 if k_from_one else k
        phi = p["primacy_scale"] * np.exp(-p["primacy_decay"] * position) + (0 if no_plus_one else 1)
        mfc[k] = mfc[k] + p["learning_rate"] * learn
        mcf[:, k] = mcf[:, k] + phi * learn
    return c, mfc, mcf


def test_study_accepts_cmrlab_and_loops():
    for fn in (study_cmrlab, study_loops, study_variant):
        result = check_study(fn)
        assert result.passed, str(result)


@pytest.mark.parametrize("mistake, words", [
    (dict(learn_first=True), "Learning uses the context after the update"),
    (dict(k_from_one=True), "starts at k = 0"),
    (dict(no_plus_one=True), "the + 1 is missing"),
    (dict(mfc_ones=True), "= 1 - gamma"),
])
def test_study_names_each_classic_mistake(mistake, words):
    assert_rejected_with(check_study(lambda L, p: study_variant(L, p, **mistake)), hint_of(study, words))


def test_study_rejects_constant_random_and_swapped_answers():
    assert not check_study(lambda L, p: (np.ones(L + 1), np.ones((L, L + 1)), np.ones((L + 1, L)))).passed
    rng = np.random.default_rng(0)
    assert not check_study(lambda L, p: (rng.random(L + 1), rng.random((L, L + 1)), rng.random((L + 1, L)))).passed
    swapped = check_study(lambda L, p: (lambda c, f, m: (c, m, f))(*study_loops(L, p)))
    assert not swapped.passed and "shape (L, L + 1)" in swapped.hint
    single = check_study(lambda L, p: study_loops(L, p)[2])
    assert "expected three arrays" in single.problem and "return context, mfc, mcf" in single.hint


# ----------------------------------------------------------------------------- outcome probabilities


@jax.jit
def _cmrlab_probabilities(context, mcf, recallable, recall_count, packed):
    L = recallable.shape[0]
    state = CMRState(context, jnp.zeros((L, L + 1)), mcf, recallable, jnp.int32(L), recall_count)
    return outcome_probabilities(state, cmrlab.parameters.unpack(packed))


def probabilities_cmrlab(context, mcf, recallable, recall_count, p):
    packed = cmrlab.parameters.pack(as_parameters(p))
    return _cmrlab_probabilities(jnp.asarray(context, jnp.float32), jnp.asarray(mcf, jnp.float32),
                                 jnp.asarray(recallable), jnp.int32(recall_count), packed)


def probabilities_loops(context, mcf, recallable, recall_count, p, no_stop=False, ignore_recallable=False,
                        no_tau=False, no_forced_stop=False):
    L = len(recallable)
    n = sum(1 for x in recallable if x or ignore_recallable)
    if n == 0 and not no_forced_stop:
        return np.array([1.0] + [0.0] * L)
    p_stop = min(1 - EPS * n, p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * recall_count))
    if no_stop:
        p_stop = 0.0
    a = [sum(context[j] * mcf[j, i] for j in range(L + 1)) for i in range(L)]
    top = max(a)
    tau = 1.0 if no_tau else p["choice_sensitivity"]
    a = [((x / top) ** tau + EPS) * (1 if (recallable[i] or ignore_recallable) else 0) for i, x in enumerate(a)]
    total = sum(a)
    return np.array([p_stop] + [(1 - p_stop) * x / total for x in a])


def test_outcome_probabilities_accepts_cmrlab_and_loops():
    for fn in (probabilities_cmrlab, probabilities_loops):
        result = check_outcome_probabilities(fn)
        assert result.passed, str(result)


@pytest.mark.parametrize("mistake, words", [
    (dict(no_stop=True), "P(stop) is missing"),
    (dict(ignore_recallable=True), "already recalled can't be recalled"),
    (dict(no_tau=True), "power tau"),
    (dict(no_forced_stop=True), "When nothing is left to recall"),
])
def test_outcome_probabilities_names_each_classic_mistake(mistake, words):
    result = check_outcome_probabilities(lambda *args: probabilities_loops(*args, **mistake))
    assert not result.passed and result.hint == hint_of(retrieval, words), str(result)


def test_outcome_probabilities_rejects_constant_random_and_item_only_answers():
    uniform = check_outcome_probabilities(lambda c, mcf, rec, r, p: np.full(rec.size + 1, 1 / (rec.size + 1)))
    assert not uniform.passed
    assert not check_outcome_probabilities(random_like(lambda c, mcf, rec, r, p: rec.size + 1)).passed
    items_only = check_outcome_probabilities(lambda c, mcf, rec, r, p: probabilities_loops(c, mcf, rec, r, p)[1:])
    assert "shape (4,); expected shape (5,)" in items_only.problem and "Index 0 holds" in items_only.hint


# ----------------------------------------------------------------------------- log-likelihood of one list


def list_log_likelihood_loops(recalls, L, p, no_stop=False, no_start=False, no_drift=False, negate=False):
    c, mfc, mcf = study_loops(L, p)
    if not no_start:
        c = update_loops(c, np.eye(L + 1)[0], p["start_drift_rate"])
    recallable = np.ones(L, bool)
    total, count, seen = 0.0, 0, set()
    for item in recalls:
        if item == 0:
            break
        if item < 0 or item in seen:
            continue
        seen.add(item)
        total += np.log(probabilities_loops(c, mcf, recallable, count, p)[item])
        if not no_drift:
            c = update_loops(c, mfc[item - 1], p["recall_drift_rate"])
        recallable[item - 1] = False
        count += 1
    if not no_stop:
        total += np.log(probabilities_loops(c, mcf, recallable, count, p)[0])
    return -total if negate else total


def list_log_likelihood_cmrlab(recalls, L, p):
    return cmrlab.log_likelihood(p, np.asarray(recalls)[None, :], L)


def test_list_log_likelihood_accepts_cmrlab_and_loops_and_knows_the_spec_answer():
    for fn in (list_log_likelihood_cmrlab, list_log_likelihood_loops):
        result = check_list_log_likelihood(fn)
        assert result.passed, str(result)
    p = likelihood.SPEC_PARAMETERS
    total = sum(list_log_likelihood_loops(np.array(row), 6, p) for row in ([6, 5, 1, 2, 0, 0], [1, 2, 3, 4, 5, 6]))
    assert total == pytest.approx(-14.955646, abs=1e-5)


@pytest.mark.parametrize("mistake, words", [
    (dict(no_stop=True), "The final stop is missing"),
    (dict(no_start=True), "Start context is not reinstated"),
    (dict(no_drift=True), "does not drift after a recall"),
    (dict(negate=True), "minus the log-likelihood"),
])
def test_list_log_likelihood_names_each_classic_mistake(mistake, words):
    result = check_list_log_likelihood(lambda r, L, p: list_log_likelihood_loops(r, L, p, **mistake))
    assert_rejected_with(result, hint_of(likelihood, words))


def test_list_log_likelihood_rejects_constant_random_and_array_answers():
    assert not check_list_log_likelihood(lambda r, L, p: -10.0).passed
    rng = np.random.default_rng(0)
    assert not check_list_log_likelihood(lambda r, L, p: -rng.random() * 20).passed
    per_recall = check_list_log_likelihood(lambda r, L, p: np.array([-1.0, -2.0]))
    assert "an array of shape (2,); expected a single number" in per_recall.problem


# ----------------------------------------------------------------------------- Murdock's text format


def read_murdock_cmrlab(path, L):
    lines = Path(path).read_text().splitlines()
    n = len(lines) - (lines[-1].strip() == "0")
    return cmrlab.datasets.read_murdock_file(path, L, n_lists=n, lists_per_subject=n).recalls


def read_murdock_loops(path, L, keep_88=False, keep_zero_line=False, skip_empty=False):
    with open(path) as handle:
        lines = handle.read().splitlines()
    if lines and lines[-1].strip() == "0" and not keep_zero_line:
        lines.pop()
    rows = []
    for line in lines:
        if skip_empty and not line.strip():
            continue
        row = []
        for token in line.split():
            code = int(token)
            row.append(code if 1 <= code <= L or (keep_88 and code == 88) else -1)
        rows.append(row)
    out = np.zeros((len(rows), L), dtype=int)
    for index, row in enumerate(rows):
        out[index, : len(row)] = row
    return out


def test_read_murdock_accepts_cmrlab_and_loops_with_the_real_files():
    for fn in (read_murdock_cmrlab, read_murdock_loops):
        result = check_read_murdock(fn)
        assert result.passed, str(result)
        assert result.n_cases == 10 and result.notes == []  # the two real files were read from the cache


@pytest.mark.parametrize("mistake, words", [
    (dict(keep_88=True), "88 marks an intrusion"),
    (dict(keep_zero_line=True), "holding only 0 is not a list"),
    (dict(skip_empty=True), "an empty line too"),
])
def test_read_murdock_names_each_classic_mistake(mistake, words):
    result = check_read_murdock(lambda path, L: read_murdock_loops(path, L, **mistake))
    assert_rejected_with(result, hint_of(murdock, words))


def test_read_murdock_rejects_constant_float_and_crashing_readers():
    assert not check_read_murdock(lambda path, L: np.zeros((3, L), int)).passed
    floats = check_read_murdock(lambda path, L: read_murdock_loops(path, L).astype(float))
    assert "dtype float64" in floats.problem and "dtype=int" in floats.hint

    def split_on_space(path, L):
        lines = open(path).read().splitlines()
        out = np.zeros((len(lines), L), int)
        for row, line in enumerate(lines):
            for column, token in enumerate(line.split(" ")):
                out[row, column] = int(token)
        return out

    crashing = check_read_murdock(split_on_space)
    assert "raised ValueError" in crashing.problem and ".split()" in crashing.hint


# ----------------------------------------------------------------------------- bad functions


def test_wrong_arity_and_not_a_function_are_explained():
    result = check_spc(lambda recalls: recalls)
    assert not result.passed and "with 2 arguments (recalls, list_length), but yours takes 1 (recalls)" in result.problem
    result = check_spc(spc_loops(np.array([[1, 2]]), 2))
    assert "needs your function itself" in result.problem


@pytest.mark.parametrize("answer, words", [
    (lambda c, c_in, beta: list(c), "is a list"),
    (lambda c, c_in, beta: (c, c_in), "is a tuple of 2 items"),
    (lambda c, c_in, beta: 1.0, "is a single number"),
    (lambda c, c_in, beta: None, "is None: did you forget to return"),
    (lambda c, c_in, beta: c[:-1], "has shape"),
    (lambda c, c_in, beta: c.astype(str), "has dtype <U"),
])
def test_wrong_types_and_shapes_are_explained(answer, words):
    result = check_context_update(answer)
    assert not result.passed and words in result.problem, str(result)


def test_nan_is_reported_with_its_position():
    result = check_context_update(lambda c, c_in, beta: c / 0 * 0)
    assert "NaN at index 0, where a number was expected" in result.problem and "NaN comes from" in result.hint


def test_an_exception_is_a_message_naming_the_students_line_not_a_traceback():
    def broken(recalls, L):
        counts = np.zeros(L)
        counts[recalls[0, 0] + L] += 1
        return counts

    result = check_spc(broken)
    assert "Your function raised IndexError" in result.problem
    assert "in broken: counts[recalls[0, 0] + L] += 1" in result.problem
    assert "cmrlab" not in result.problem.replace("cmrlab's", "")


def test_not_implemented_is_reported_as_not_answered_yet():
    def todo(c, c_in, beta):
        raise NotImplementedError("Write the context update.")

    result = check_context_update(todo)
    assert result.problem == "Not answered yet: your function raises NotImplementedError: Write the context update."
    assert result.expected is None


def test_mutating_an_input_is_named():
    def in_place(c, c_in, beta):
        c_in /= np.linalg.norm(c_in)
        return integrate(c, c_in, beta)

    result = check_context_update(in_place)
    assert "changed its input `context_input` in place" in result.problem and ".copy()" in result.hint


def forever(recalls, L):
    while True:
        pass


def test_an_infinite_loop_is_stopped_by_the_time_limit():
    result = check_spc(forever, time_limit=0.3)
    assert not result.passed and "did not return within the time limit (0.3 s" in result.problem
    assert "so the check stopped it" in result.problem


def test_off_the_main_thread_an_infinite_loop_is_abandoned_with_a_message():
    box = {}
    stop = threading.Event()

    def slow(recalls, L):
        stop.wait(5)  # ends by itself once the test is over
        return np.zeros(L)

    worker = threading.Thread(target=lambda: box.setdefault("result", check_spc(slow, time_limit=0.3)))
    worker.start()
    worker.join(10)
    stop.set()
    assert "cannot be interrupted: it keeps running in the background" in box["result"].problem


def test_cases_are_reproducible_and_the_seed_changes_the_random_ones():
    first, again = context._cases(0, 4), context._cases(0, 4)
    other = context._cases(1, 4)
    assert all(np.array_equal(a.args[1], b.args[1]) for a, b in zip(first, again))
    assert not np.array_equal(first[-1].args[1], other[-1].args[1])
    assert check_context_update(update_loops, seed=5, n_random=3).n_cases == 11


# ----------------------------------------------------------------------------- build your own CMR


def own_probabilities(context, mcf, recallable, recall_count, p):
    """The spec's retrieval rule in vectorised NumPy (float64)."""
    n = recallable.sum()
    if n == 0:
        return np.eye(len(recallable) + 1)[0]
    p_stop = min(1 - EPS * n, p["stop_probability_scale"] * np.exp(p["stop_probability_growth"] * recall_count))
    a = context @ mcf
    a = ((a / a.max()) ** p["choice_sensitivity"] + EPS) * recallable
    return np.concatenate([[p_stop], (1 - p_stop) * a / a.sum()])


OWN = dict(study=study_loops, update_context=reference.integrate, outcome_probabilities=own_probabilities)


def test_simulate_own_draws_the_lists_of_cmrlab_simulate_for_the_same_key():
    # float32 rounding could flip a draw that lands within ~1e-7 of a boundary; none do for these keys
    for seed in (11, 12, 13):
        key = jax.random.PRNGKey(seed)
        mine = simulate_own(key, cmrlab.DEFAULT_PARAMETERS, 8, 100, **OWN)
        theirs = np.asarray(cmrlab.simulate(key, cmrlab.DEFAULT_PARAMETERS, 8, 100))
        assert np.mean(np.all(mine == theirs, axis=1)) >= 0.99
        assert np.mean(mine > 0) > 0.3  # lists of several recalls, not all stops
    assert np.array_equal(mine, simulate_own(key, cmrlab.DEFAULT_PARAMETERS, 8, 100, **OWN))


def test_log_likelihood_own_equals_cmrlab_and_the_spec_answer():
    p = likelihood.SPEC_PARAMETERS
    recalls = np.array([[6, 5, 1, 2, 0, 0], [1, 2, 3, 4, 5, 6]])
    assert log_likelihood_own(p, recalls, 6, **OWN) == pytest.approx(-14.955646, abs=1e-5)
    recalls = np.array(cmrlab.simulate(jax.random.PRNGKey(2), cmrlab.DEFAULT_PARAMETERS, 8, 100))[:40]
    recalls[np.flatnonzero(recalls[:, 2] > 0)[::3], 1] = -1  # intrusions are removed, as cmrlab does
    expected = float(cmrlab.log_likelihood(cmrlab.DEFAULT_PARAMETERS, recalls, 8))
    assert log_likelihood_own(cmrlab.DEFAULT_PARAMETERS, recalls, 8, **OWN) == pytest.approx(expected, abs=2e-3)


def test_own_model_explains_bad_pieces():
    with pytest.raises(ValueError, match="update_context: .*takes 2"):
        simulate_own(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 5, 3,
                     **{**OWN, "update_context": lambda c, c_in: c})
    with pytest.raises(ValueError, match="outcome_probabilities returned .* sum to 1"):
        simulate_own(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 5, 3,
                     **{**OWN, "outcome_probabilities": lambda c, mcf, rec, r, p: np.ones(6)})
    with pytest.raises(ValueError, match="study must return"):
        log_likelihood_own(cmrlab.DEFAULT_PARAMETERS, np.array([[1, 0]]), 5, **{**OWN, "study": lambda L, p: 0})
    with pytest.raises(ValueError, match="n_trials must be a positive int"):
        simulate_own(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 5, 0, **OWN)


def test_exercises_are_public():
    for name in exercises.__all__:
        assert hasattr(exercises, name)
    assert "exercises" in cmrlab.__all__
