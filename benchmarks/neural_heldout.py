"""The held-out comparison of issue #10: the network, CMR and two baselines on new people.

    JAX_PLATFORMS=cpu CMRLAB_DATA_DIR=../shared/data python benchmarks/neural_heldout.py [--keys 3]

Healey & Kahana (2014): 126 subjects, 112 lists of 16 words each. The subjects
are split once (``split_subjects(..., 100, seed=0)``): 100 training subjects,
26 held out. Every model is scored on the same lists, the no-task lists of the
26 held-out subjects (728 lists), in nats per recall event (recalls and one
stop per list; ``cmrlab.neural.comparison``):

* the network, trained on all lists of the training subjects (task lists too;
  it reads each list's encoding task as part of its study events,
  ``conditions=CONDITIONS``, and is scored on the no-task condition), one run
  per key (keys 0 .. --keys - 1), and trained on their no-task lists only;
* CMR fitted pooled (``cmrlab.fit``, differential evolution) to the no-task
  lists of the training subjects (2,800 lists: the condition it is tested on);
* CMR fitted to each held-out subject on half of their lists and scored on the
  other half, both ways round (``cmrlab.fit_subjects``), so every test list is
  scored once by a fit that did not see it;
* the serial-position and lag-CRP baselines, fitted to all lists of the training subjects.

The learning curve trains the network on 1, 3, 10, 30 and 100 of the training
subjects (a random subset per key) and fits pooled CMR to the same subjects'
no-task lists. Writes ``cmrlab/neural/data/hk2014_heldout.json`` and the
key-0 network trained on the 100 subjects, ``cmrlab/neural/data/hk2014_next_recall.eqx``
(what notebook 08 reads). ``--quick`` runs a small version to check the script;
``--reuse RESULTS.json`` takes the CMR fits (pooled, per subject, learning
curve) from an earlier run instead of fitting again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import cmrlab  # noqa: E402
from cmrlab.datasets import RecallDataset, load_healey_kahana2014  # noqa: E402
from cmrlab.fitting import DESettings  # noqa: E402
from cmrlab.neural import LagCRPBaseline, SerialPositionBaseline, TrainSettings, train_next_recall  # noqa: E402
from cmrlab.neural.comparison import (  # noqa: E402
    PRETRAINED,
    RESULTS,
    breakdown,
    cmr_decision_log_probabilities,
    per_event,
    split_subjects,
)

L = 16
CONDITIONS = ("no task", "task 0", "task 1", "task 2")  # the first, "no task", is the one tested
OUT = Path(__file__).resolve().parents[1] / "cmrlab" / "neural" / "data"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def score(loglik, test) -> float:
    return round(per_event(loglik, test.recalls, L), 5)


def curves(recalls) -> dict:
    summary = cmrlab.summarize(np.asarray(recalls), L)
    return {"spc": np.asarray(summary.spc).round(5).tolist(), "pfr": np.asarray(summary.pfr).round(5).tolist(),
            "lag_crp": np.where(np.isnan(np.asarray(summary.lag_crp)), None,
                                np.asarray(summary.lag_crp).round(5)).tolist()}


def rmse(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return round(float(np.sqrt(np.nanmean((a - b) ** 2))), 5)


DE = DESettings()


def fit_cmr_pooled(lists: RecallDataset, key: int) -> tuple[dict, float]:
    start = time.perf_counter()
    result = cmrlab.fit(lists.recalls, L, key=jax.random.PRNGKey(key), method="de", settings=DE)
    return result.parameters, time.perf_counter() - start


def cmr_per_subject(test: RecallDataset, key: int) -> tuple[float, float]:
    """Fit each held-out subject on half of their lists, score the other half, both ways."""
    start = time.perf_counter()
    halves = []
    for subject in test.subjects:
        index = np.flatnonzero(test.subject == subject)
        halves.append((index[0::2], index[1::2]))
    total = 0.0
    for fit_half, score_half in ((0, 1), (1, 0)):
        rows = np.concatenate([h[fit_half] for h in halves])
        fitted = test.select(np.isin(np.arange(len(test)), rows))
        table = cmrlab.fit_subjects(fitted, key=jax.random.PRNGKey(key + fit_half), method="de",
                                     settings=DE, progress=False)
        for _, row in table.iterrows():
            scored_rows = halves[list(test.subjects).index(row["subject"])][score_half]
            parameters = {name: row[name] for name in cmrlab.PARAMETER_NAMES}
            total += float(cmrlab.log_likelihood(parameters, test.recalls[scored_rows], L))
    return total, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=3, help="training runs (keys 0..keys-1) per network setting")
    parser.add_argument("--cmr-keys", type=int, default=1, help="pooled CMR fits to the 100 subjects (keys 0..)")
    parser.add_argument("--sizes", default="1,3,10,30,100", help="training subjects of the learning curve")
    parser.add_argument("--quick", action="store_true", help="a small, fast run that checks the script")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--reuse", type=Path, help="take the CMR fits from this earlier results file")
    args = parser.parse_args()
    earlier = {}

    def reused():  # read when first needed, after the networks (waits while an earlier run is still writing it)
        if args.reuse and not earlier:
            while not args.reuse.exists():
                time.sleep(30)
            earlier.update(json.loads(args.reuse.read_text()))
        return earlier or None

    settings = TrainSettings()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        global DE
        settings = settings._replace(max_epochs=1)
        sizes = [1, 3]
        args.keys = args.cmr_keys = 1
        DE = DESettings(population=16, generations=3)
    started = time.perf_counter()
    data = load_healey_kahana2014()
    train_ids, test_ids = split_subjects(data.subjects, 100, seed=0)
    train = data.select(np.isin(data.subject, train_ids))
    train_no_task = train.select(train.condition == "no task")
    test = data.select(np.isin(data.subject, test_ids) & (data.condition == "no task"))
    if args.quick:
        train = train.select(np.isin(train.subject, train_ids[:12]))
        train_no_task = train_no_task.select(np.isin(train_no_task.subject, train_ids[:12]))
    log(f"{len(train)} training lists of {len(np.unique(train.subject))} subjects; "
        f"{len(test)} test lists (no task) of {len(test_ids)} held-out subjects")
    results = {"split": {"train_subjects": train_ids.tolist(), "test_subjects": test_ids.tolist(),
                         "test_lists": len(test), "seed": 0},
               "settings": settings._asdict(), "models": {}, "learning_curve": {}, "curves": {},
               "breakdown": {}}
    models = results["models"]

    # ------------------------------------------------------------------ the network
    networks = []
    for key in range(args.keys):
        model = train_next_recall(train, key=jax.random.PRNGKey(key), settings=settings, conditions=CONDITIONS,
                                  progress=False)
        networks.append(model)
        log(f"network key {key}: {model.training.seconds:.0f} s, epochs {model.training.epochs} "
            f"(best {model.training.best_epoch}), held out {score(model.log_likelihood(test.recalls, L), test)}")
    models["network"] = {
        "label": "network, all lists of 100 subjects (reads the study task)", "trained_on_lists": len(train),
        "scores": [score(m.log_likelihood(test.recalls, L), test) for m in networks],
        "train_seconds": [round(m.training.seconds, 1) for m in networks],
        "epochs": [m.training.epochs for m in networks]}
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.quick:
        networks[0].save(args.out / PRETRAINED)
    no_task_networks = [train_next_recall(train_no_task, key=jax.random.PRNGKey(key), settings=settings,
                                          progress=False) for key in range(args.keys)]
    models["network_no_task"] = {
        "label": "network, no-task lists of 100 subjects", "trained_on_lists": len(train_no_task),
        "scores": [score(m.log_likelihood(test.recalls, L), test) for m in no_task_networks]}
    log(f"network on no-task lists only: {models['network_no_task']['scores']}")

    # ------------------------------------------------------------------ learning curve: networks
    subjects = np.unique(train.subject)
    subsets = {(size, key): np.random.default_rng(key).choice(subjects, size, replace=False)
               for size in sizes for key in range(args.keys) if size < len(subjects)}
    network_scores, cmr_scores = {}, {}
    for (size, key), chosen in subsets.items():  # the networks first, then CMR
        subset = train.select(np.isin(train.subject, chosen))
        model = train_next_recall(subset, key=jax.random.PRNGKey(key), settings=settings, conditions=CONDITIONS,
                                  progress=False)
        network_scores[size, key] = score(model.log_likelihood(test.recalls, L), test)
        log(f"learning curve, network on {size} subjects, key {key}: {network_scores[size, key]}")
    # ------------------------------------------------------------------ baselines
    for name, cls in (("serial_position", SerialPositionBaseline), ("lag_crp", LagCRPBaseline)):
        baseline = cls.fit(train.recalls, L)
        models[name] = {"label": f"{name.replace('_', '-')} baseline, all lists of 100 subjects",
                        "trained_on_lists": len(train), "scores": [score(baseline.log_likelihood(test.recalls, L), test)]}
        results["breakdown"][name] = breakdown(baseline.decision_log_probabilities(test.recalls, L), test.recalls, L)
        log(f"{name} baseline: {models[name]['scores']}")

    # ------------------------------------------------------------------ CMR
    cmr_fits = []
    for key in range(args.cmr_keys):
        if reused():
            parameters, seconds = reused()["models"]["cmr_pooled"]["parameters"][key], 0.0
        else:
            parameters, seconds = fit_cmr_pooled(train_no_task, key)
        cmr_fits.append(parameters)
        log(f"CMR pooled key {key}: {seconds:.0f} s, held out "
            f"{score(cmrlab.log_likelihood(parameters, test.recalls, L), test)}")
    models["cmr_pooled"] = {
        "label": "CMR fitted pooled, no-task lists of 100 subjects", "trained_on_lists": len(train_no_task),
        "scores": [score(cmrlab.log_likelihood(p, test.recalls, L), test) for p in cmr_fits],
        "parameters": cmr_fits}
    if reused():
        models["cmr_per_subject"], seconds = reused()["models"]["cmr_per_subject"], 0.0
    else:
        total, seconds = cmr_per_subject(test, key=0)
        models["cmr_per_subject"] = {"label": "CMR fitted per held-out subject (other half of their lists)",
                                     "trained_on_lists": len(test) // 2, "scores": [score(total, test)]}
    log(f"CMR per subject: {models['cmr_per_subject']['scores']} ({seconds:.0f} s)")
    results["breakdown"]["network"] = breakdown(networks[0].decision_log_probabilities(test.recalls, L),
                                                test.recalls, L)
    results["breakdown"]["cmr_pooled"] = breakdown(cmr_decision_log_probabilities(cmr_fits[0], test.recalls, L),
                                                   test.recalls, L)

    # ------------------------------------------------------------------ curves of simulated recall
    n_sim = 5000
    simulated = {"data": test.recalls,
                 "network": np.asarray(networks[0].simulate(jax.random.PRNGKey(1), L, n_sim)),
                 "cmr_pooled": np.asarray(cmrlab.simulate(jax.random.PRNGKey(1), cmr_fits[0], L, n_sim))}
    results["curves"] = {name: curves(recalls) for name, recalls in simulated.items()}
    for name in ("network", "cmr_pooled"):
        results["curves"][name]["spc_rmse"] = rmse(results["curves"][name]["spc"], results["curves"]["data"]["spc"])
        log(f"{name} simulated SPC RMSE against the held-out data: {results['curves'][name]['spc_rmse']}")

    # ------------------------------------------------------------------ learning curve: CMR
    for (size, key), chosen in subsets.items():
        if reused():
            cmr_scores[size, key] = reused()["learning_curve"][str(size)]["cmr_pooled"][key]
            continue
        subset = train.select(np.isin(train.subject, chosen) & (train.condition == "no task"))
        parameters, _ = fit_cmr_pooled(subset, key)
        cmr_scores[size, key] = score(cmrlab.log_likelihood(parameters, test.recalls, L), test)
        log(f"learning curve, CMR on {size} subjects, key {key}: {cmr_scores[size, key]}")
    for size in sizes:
        if size >= len(subjects):  # all training subjects: the runs above
            entry = {"network": models["network"]["scores"], "cmr_pooled": models["cmr_pooled"]["scores"]}
        else:
            entry = {"network": [network_scores[size, k] for k in range(args.keys)],
                     "cmr_pooled": [cmr_scores[size, k] for k in range(args.keys)]}
        results["learning_curve"][str(size)] = entry

    results["run"] = {"seconds": round(time.perf_counter() - started), "jax": jax.__version__,
                      "devices": [str(d) for d in jax.devices()], "machine": platform.machine(),
                      "command": f"python benchmarks/neural_heldout.py --keys {args.keys} --cmr-keys {args.cmr_keys}"
                                 + (f" --reuse {args.reuse.name} (CMR fits of an earlier run)" if args.reuse else ""),
                      "note": "run once on a shared 2-core CPU; training seconds are noisy"}
    path = args.out / (RESULTS if not args.quick else "quick_" + RESULTS)
    path.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
