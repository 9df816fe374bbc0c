"""How reliable and how fast is ``cmrlab.fit``? The measurements behind its defaults.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py reliability [--keys 8]
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py searches [--keys 3]
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py table [--keys 2]
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py memory [--fits 2000]
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py gradient [--batch 256]
    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/bench_fitting.py pooled [--keys 8]

``reliability``: Healey & Kahana (2014) subjects 63 and 64 (issue 13) and ten
others drawn once with ``numpy.random.default_rng(13)`` (``--subjects`` picks
others); every subject fitted with ``--keys`` keys by the default ``fit``. For
each subject: the best value any search found (this run's searches and the
reference values passed with ``--best``), how many keys ended within 0.5 of
it, the worst key, the median seconds per fit after compilation.

``searches``: the same subjects, each search counted on its own: the
searches ``0 .. 2 * SEARCHES - 1`` of each of ``--keys`` keys (the two
rounds a fit with that key would run), and the fraction ``p`` of them that
ended within 0.5 of the best value found (this run's and ``--best``), with
its 95% Clopper-Pearson interval. Searches are independent, so a round of
``SEARCHES`` misses the best value with probability ``(1 - p) ** SEARCHES``
(a second round, run when fewer than two searches agree, only lowers it):
a finer figure than ``reliability``'s count of keys, from the same work.
``--settings '{"samples": 65536}'`` measures another setting of the search.

``table``: ``fit_subjects`` on all 126 subjects with ``--keys`` different keys
(8 subjects per call, the 8 from index ``i`` with key ``fold_in(PRNGKey(k), i)``;
each chunk saved to ``--out/key<k>.csv`` as it finishes, so a run resumes;
``--only k`` fits key ``k`` alone, to run keys in processes side by side;
``--part i/n`` fits every n-th chunk from chunk i into ``key<k>.part<i>of<n>.csv``,
to split one key over n processes; once the parts hold every subject, the
summary writes them, in the dataset's subject order, to ``key<k>.csv``):
how many subjects agree across keys within 0.5, how many subjects' searches
agreed internally. ``key0.csv`` of the default settings, values rounded to 6 significant
digits (``to_csv(float_format="%.6g")``), is ``cmrlab/data/healey_kahana2014_fits.csv``.

``gradient``: what one Adam step of the default search costs: the
log-likelihood of subject 63 and its gradient at ``--batch`` parameter sets
at once (``vmap``, as the searches run them), compiled with JAX's default
options and with the fitting programs' options
(:func:`cmrlab.compilation_cache.fitting_compiler_options`); then one
default fit (one round of :data:`cmrlab.fitting.SEARCHES` searches), the median of 3 keys after
compilation.

``pooled``: ``fit`` with :data:`cmrlab.fitting.POOLED_SETTINGS` (``--searches``
4) on pooled data sets (``--data``), ``--keys`` keys each: the first fit
(compilation included), the best value found, the keys and the searches
within 0.5 of it, seconds per fit.

``memory``: ``--fits`` small fits in one process; mappings (``/proc/self/maps``)
and resident memory (now and peak) every 10% of the way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import jax
import numpy as np

import cmrlab
from cmrlab.datasets import load_healey_kahana2014
from cmrlab.fitting import FitWarning
from cmrlab.search import MultistartSettings, check_multistart
from _timing import machine, timed

ISSUE_SUBJECTS = (63, 64)
ISSUE_BEST = {63: -691.75, 64: -480.56}  # best values reported in issue 13 (64 searches)


def other_subjects(data, n: int = 10) -> list[int]:
    rng = np.random.default_rng(13)
    candidates = [int(s) for s in data.subjects if s not in ISSUE_SUBJECTS]
    return sorted(int(s) for s in rng.choice(candidates, n, replace=False))


def _subjects_and_reference(args, data):
    """``--subjects`` (default: the issue's two and :func:`other_subjects`), checked, and ``--best`` with ISSUE_BEST."""
    subjects = list(ISSUE_SUBJECTS) + other_subjects(data) if args.subjects is None else args.subjects
    for subject in subjects:  # an unknown subject fails now, with the valid ones, not after hours of fits
        data.for_subject(subject)
    return subjects, {**ISSUE_BEST, **{int(k): v for k, v in json.loads(args.best).items()}}


def _subject_problem(recalls):
    """The free parameters' names and the ``fitting._Problem`` of a default fit of ``recalls`` (lists of 16)."""
    from cmrlab import fitting
    from cmrlab.recalls import clean_recalls

    free, full, index = fitting._free_and_fixed(None)
    return free, fitting._problem(clean_recalls(recalls, 16), 16, index, full, fitting.BASE_SPACE)


def reliability(args) -> None:
    data = load_healey_kahana2014(no_task_only=True)
    subjects, reference = _subjects_and_reference(args, data)
    warnings.simplefilter("ignore", FitWarning)
    fit_kwargs = {} if args.searches is None else {"searches": args.searches}
    first = data.for_subject(subjects[0])
    start = time.perf_counter()
    cmrlab.fit(first.recalls, 16, key=jax.random.PRNGKey(10**6), **fit_kwargs)
    print(f"machine: {machine()}\nfirst fit (compilation included): {time.perf_counter() - start:.1f} s\n")
    print("| subject | best value found | keys within 0.5 | worst key | agreement (median) | s per fit |")
    print("|---|---|---|---|---|---|")
    total_ok = total = 0
    for subject in subjects:
        recalls = data.for_subject(subject).recalls
        results = [cmrlab.fit(recalls, 16, key=jax.random.PRNGKey(k), **fit_kwargs) for k in range(args.keys)]
        values = np.array([r.log_likelihood for r in results])
        searched = max(max(r.search_values) for r in results)
        best = max(searched, values.max(), reference.get(subject, -np.inf))
        ok = int(np.sum(values >= best - 0.5))
        total_ok += ok
        total += len(values)
        agreement = statistics.median(r.agreement / r.searches for r in results)
        seconds = statistics.median(r.seconds for r in results)
        print(f"| {subject} | {best:.2f} | {ok}/{len(values)} | {values.min():.2f} | {agreement:.2f} | "
              f"{seconds:.2f} |", flush=True)
    print(f"\nall subjects: {total_ok}/{total} fits within 0.5 of the best value found")


def searches(args) -> None:
    from scipy.stats import beta

    from cmrlab import fitting

    data = load_healey_kahana2014(no_task_only=True)
    subjects, reference = _subjects_and_reference(args, data)
    n, settings = 2 * fitting.SEARCHES, args.settings
    print(f"machine: {machine()}\n{settings}\n{args.keys} keys x {n} searches per subject "
          f"(searches 0..{n - 1} of each key)\n")
    print("| subject | best value found | searches within 0.5 | p (95% interval) | "
          f"miss of {fitting.SEARCHES} searches (interval) | s per search |")
    print("|---|---|---|---|---|---|")
    for subject in subjects:
        free, problem = _subject_problem(data.for_subject(subject).recalls)
        values, seconds = [], []
        for k in range(args.keys):
            start = time.perf_counter()
            found = fitting._likelihood_searches(fitting._search_keys(jax.random.PRNGKey(k), 0, n), problem, 16,
                                                 "multistart", settings, 0, fitting._strata(free))
            values.extend(np.asarray(found[1], np.float64).tolist())
            seconds.append((time.perf_counter() - start) / n)
        values = np.array(values)
        best = max(values.max(), reference.get(subject, -np.inf))
        hits, total = int(np.sum(values >= best - 0.5)), len(values)
        low = beta.ppf(0.025, hits, total - hits + 1) if hits else 0.0
        high = beta.ppf(0.975, hits + 1, total - hits) if hits < total else 1.0
        miss = [(1 - p) ** fitting.SEARCHES for p in (hits / total, high, low)]
        print(f"| {subject} | {best:.2f} | {hits}/{total} | {hits / total:.2f} ({low:.2f}-{high:.2f}) | "
              f"{miss[0]:.4f} ({miss[1]:.4f}-{miss[2]:.4f}) | {statistics.median(seconds[1:] or seconds):.2f} |",
              flush=True)


def _settings(text: str) -> MultistartSettings:
    try:
        return check_multistart(MultistartSettings(**json.loads(text)))
    except (ValueError, TypeError) as error:
        raise argparse.ArgumentTypeError(f"--settings takes MultistartSettings fields as JSON: {error}") from None


def _settings_argument(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--settings", type=_settings, default=MultistartSettings(),
                        help=f"MultistartSettings fields to change, JSON {example}")


def _part(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--part takes I/N such as 0/2, got {text!r}") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"--part I/N needs 0 <= I < N, got {text!r}")
    return i, n


def _key_table(out: Path, k: int, subjects):
    """Key ``k``'s table (DataFrame, index ``subject``): ``key<k>.csv``, else its ``--part`` files (None: neither).

    When the part files together hold every subject once, they are written to
    ``key<k>.csv`` in the order of ``subjects``.
    """
    import pandas as pd

    whole = out / f"key{k}.csv"
    if whole.exists():
        return pd.read_csv(whole, keep_default_na=False).set_index("subject")
    parts = sorted(out.glob(f"key{k}.part*of*.csv"))
    if not parts:
        return None
    table = pd.concat([pd.read_csv(p, keep_default_na=False) for p in parts]).set_index("subject")
    if table.index.has_duplicates:
        raise SystemExit(f"{out}: the part files of key {k} fit some subjects twice "
                         f"({sorted(set(table.index[table.index.duplicated()]))[:5]}); remove the stale ones.")
    order = [int(s) for s in subjects]
    if set(table.index) == set(order):
        table = table.loc[order]
        table.reset_index().to_csv(whole, index=False)
        print(f"key {k}: the {len(parts)} part files hold every subject; written to {whole}")
    return table


def table(args) -> None:
    """Fit all subjects with each key, 8 subjects per call, saving each chunk (a run can be resumed)."""
    import pandas as pd

    data = load_healey_kahana2014(no_task_only=True)
    warnings.simplefilter("ignore", FitWarning)
    print(f"machine: {machine()}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = args.settings
    for k in (range(args.keys) if args.only is None else [args.only]):
        path = out / (f"key{k}.csv" if args.part is None else f"key{k}.part{args.part[0]}of{args.part[1]}.csv")
        done = set(pd.read_csv(path).subject) if path.exists() else set()
        start = time.perf_counter()
        for first in range(0, len(data.subjects), 8):
            chunk = data.subjects[first: first + 8]
            if set(int(s) for s in chunk) <= done or (args.part and (first // 8) % args.part[1] != args.part[0]):
                continue
            part = cmrlab.fit_subjects(data.select(np.isin(data.subject, chunk)),
                                       key=jax.random.fold_in(jax.random.PRNGKey(k), first), settings=settings,
                                       progress=False)
            part.to_csv(path, mode="a", header=not path.exists(), index=False)
            print(f"key {k}: subjects {first}..{first + len(chunk) - 1} done "
                  f"({time.perf_counter() - start:.0f} s so far)", flush=True)
    tables = {k: t for k in range(args.keys) if (t := _key_table(out, k, data.subjects)) is not None}
    for k, t in tables.items():
        print(f"key {k}: {len(t)} subjects; searches agreed for {int(t.converged.sum())}; "
              f"total log-likelihood {t.log_likelihood.sum():.1f}", flush=True)
    if 0 not in tables:
        return
    for k in set(tables) - {0}:
        both = tables[0].index.intersection(tables[k].index)  # a key still running has fewer subjects
        gap = np.abs(tables[0].log_likelihood[both] - tables[k].log_likelihood[both]).to_numpy()
        print(f"keys 0 and {k}: {int(np.sum(gap <= 0.5))}/{len(gap)} subjects within 0.5 (largest gap {gap.max():.2f})")


def memory(args) -> None:
    import resource

    from cmrlab import fitting

    recalls = np.asarray(cmrlab.simulate(jax.random.PRNGKey(0), cmrlab.DEFAULT_PARAMETERS, 16, 40))
    tiny = MultistartSettings(samples=64, starts=2, steps=5, polish_starts=1, polish_steps=2, screen_steps=2)
    warnings.simplefilter("ignore", FitWarning)
    print(f"machine: {machine()}")
    for i in range(args.fits):
        cmrlab.fit(recalls, 16, key=jax.random.PRNGKey(i), settings=tiny, searches=2, max_rounds=1)
        if i % max(1, args.fits // 10) == 0 or i == args.fits - 1:
            maps = fitting._mappings()[0]
            with open("/proc/self/status") as handle:
                now = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"after {i + 1:5d} fits: {maps} mappings, resident {now:.0f} MB (peak {peak:.0f} MB)", flush=True)


def gradient(args) -> None:
    from cmrlab import fitting
    from cmrlab.compilation_cache import fitting_compiler_options
    from cmrlab.search import from_unit

    data = load_healey_kahana2014(no_task_only=True)
    recalls = data.for_subject(63).recalls
    free, problem = _subject_problem(recalls)
    objective = fitting._objective(problem, 16)
    points = [from_unit(jax.random.uniform(jax.random.PRNGKey(i), (args.batch, len(free))), problem.box)
              for i in range(11)]
    print(f"machine: {machine()}\nsubject 63 ({len(recalls)} lists), {args.batch} parameter sets at once; "
          "medians of 10 calls after the first\n")
    print("| compiled with | log-likelihood (ms) | value and gradient (ms) |\n|---|---|---|")
    for label, options in (("JAX's default options", {}), ("fitting options", fitting_compiler_options())):
        value = jax.jit(jax.vmap(objective), compiler_options=options)
        both = jax.jit(jax.vmap(jax.value_and_grad(objective)), compiler_options=options)
        print(f"| {label} {options or ''} | {timed(lambda i: value(points[i]), 10)[1]:.1f} | "
              f"{timed(lambda i: both(points[i]), 10)[1]:.1f} |", flush=True)
    warnings.simplefilter("ignore", FitWarning)
    start = time.perf_counter()
    cmrlab.fit(recalls, 16, key=jax.random.PRNGKey(10**6), max_rounds=1)
    first = time.perf_counter() - start
    seconds = []
    for k in range(3):
        start = time.perf_counter()
        cmrlab.fit(recalls, 16, key=jax.random.PRNGKey(k), max_rounds=1)
        seconds.append(time.perf_counter() - start)
    print(f"\ndefault fit of subject 63 (one round of {cmrlab.fitting.SEARCHES} searches): first call {first:.1f} s, "
          f"then median {statistics.median(seconds):.2f} s (of {', '.join(f'{x:.2f}' for x in seconds)})")


POOLED_DATA = ("hk2014-100", "murdock-LL20-2s", "polyn2009-base")


def _pooled_data(name: str):
    """``(recalls, list_length)`` of a pooled data set: see ``pooled``'s help."""
    from cmrlab.datasets import load_murdock1962, load_polyn2009

    if name == "hk2014-100":
        data = load_healey_kahana2014(no_task_only=True)
        return data.recalls[np.isin(data.subject, data.subjects[:100])], 16
    if name == "murdock-LL20-2s":
        return load_murdock1962("LL20-2s").recalls, 20
    data = load_polyn2009()
    return data.recalls, 24


def pooled(args) -> None:
    warnings.simplefilter("ignore", FitWarning)
    settings = dict(settings=cmrlab.fitting.POOLED_SETTINGS, searches=args.searches)
    print(f"machine: {machine()}\nsettings: POOLED_SETTINGS = {cmrlab.fitting.POOLED_SETTINGS}, "
          f"{args.searches} searches a round\n")
    print("| data | lists | first fit (s) | best value found | keys within 0.5 | worst key | searches within 0.5 "
          "| agreement (median) | s per fit (median, min-max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    reference = {k: float(v) for k, v in json.loads(args.best).items()}
    for name in args.data:
        recalls, L = _pooled_data(name)
        start = time.perf_counter()
        cmrlab.fit(recalls, L, key=jax.random.PRNGKey(10**6), max_rounds=1, **settings)
        first = time.perf_counter() - start
        results = [cmrlab.fit(recalls, L, key=jax.random.PRNGKey(k), **settings) for k in range(args.keys)]
        values = np.array([r.log_likelihood for r in results])
        each = np.concatenate([r.search_values for r in results])
        best = max(each.max(), values.max(), reference.get(name, -np.inf))
        seconds = [r.seconds for r in results]
        print(f"| {name} | {len(recalls)} | {first:.1f} | {best:.2f} | {np.sum(values >= best - 0.5)}/{len(values)} "
              f"| {values.min():.2f} | {np.sum(each >= best - 0.5)}/{len(each)} "
              f"| {statistics.median(r.agreement / r.searches for r in results):.2f} "
              f"| {statistics.median(seconds):.1f} ({min(seconds):.1f}-{max(seconds):.1f}) |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reliability")
    r.add_argument("--keys", type=int, default=8)
    r.add_argument("--searches", type=int, default=None, help="searches per fit (default: fit's own)")
    r.add_argument("--best", default="{}", help='reference best values, JSON {"subject": value}')
    r.add_argument("--subjects", type=int, nargs="+", default=None,
                   help="fit only these subjects (default: 63, 64 and the ten drawn with seed 13)")
    c = sub.add_parser("searches")
    c.add_argument("--keys", type=int, default=3)
    c.add_argument("--best", default="{}", help='reference best values, JSON {"subject": value}')
    _settings_argument(c, '{"samples": 65536}')
    c.add_argument("--subjects", type=int, nargs="+", default=None,
                   help="only these subjects (default: 63, 64 and the ten drawn with seed 13)")
    t = sub.add_parser("table")
    t.add_argument("--keys", type=int, default=2)
    t.add_argument("--out", default="fit_tables", help="folder for key<k>.csv (key0.csv is the shipped table)")
    t.add_argument("--part", type=_part, default=None, metavar="I/N",
                   help="fit only every N-th chunk of 8 subjects, starting at chunk I, into key<k>.part<I>of<N>.csv "
                        "(one of N processes; each chunk's key does not depend on the split)")
    t.add_argument("--only", type=int, default=None,
                   help="fit only key K (run keys in separate processes side by side; compare with --keys)")
    _settings_argument(t, '{"screen": 1} (the shipped table: the default)')
    m = sub.add_parser("memory")
    m.add_argument("--fits", type=int, default=2000)
    g = sub.add_parser("gradient")
    g.add_argument("--batch", type=int, default=256)
    p = sub.add_parser("pooled")
    p.add_argument("--keys", type=int, default=8)
    p.add_argument("--data", nargs="+", choices=POOLED_DATA, default=list(POOLED_DATA),
                   help="hk2014-100: the no-task lists of the first 100 Healey & Kahana (2014) subjects "
                        "(2,800, the speed issue's pooled fit); murdock-LL20-2s: Murdock (1962) 20 words at "
                        "2 s (1,200); polyn2009-base: the 1,262 lists of Polyn et al. (2009), base model")
    p.add_argument("--best", default="{}", help='reference best values, JSON {"data": value}')
    p.add_argument("--searches", type=int, default=4)
    args = parser.parse_args()
    commands = {"reliability": reliability, "searches": searches, "table": table, "memory": memory,
                "gradient": gradient, "pooled": pooled}
    commands[args.command](args)


if __name__ == "__main__":
    main()
