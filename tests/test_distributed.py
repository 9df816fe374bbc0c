"""fit_subjects across several processes (jax.distributed over loopback) and its launcher."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from cmrlab.datasets import load_healey_kahana2014
from cmrlab.distributed import check_arguments, free_port, main, parser
from cmrlab.fitting import fit_subjects
from cmrlab.search import DESettings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::cmrlab.fitting.FitWarning")
# Differential evolution, small: its program (no gradient) compiles in half the time of the multistart
# search's, and these settings leave the searches of two of the three subjects apart, so they run three
# rounds while the first subject settles in one: the gathered table holds subjects of unequal rounds
SMALL_DE = DESettings(population=24, generations=40)
SMALL_DE_ARGS = ["--method", "de", "--setting", "population=24", "--setting", "generations=40", "--searches", "4"]


def _env():
    """The test's environment for a child process: CPU, this checkout first, no cluster to detect."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_COORDINATOR"))}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(":"))
    return env


def test_two_processes_give_the_single_process_table_and_only_process_0_writes_it(tmp_path):
    data = load_healey_kahana2014(no_task_only=True)
    three = data.subjects[:3]
    # the single-process table first: its compiled program (in the run's persistent cache) serves process 0,
    # whose device has the same id; process 1's device has another id, so it compiles its own
    reference = fit_subjects(data.select(np.isin(data.subject, three)), key=jax.random.PRNGKey(0), method="de",
                             settings=SMALL_DE, searches=4, progress=False)
    assert list(reference.searches) == [4, 12, 12]
    # each process in its own folder, --out relative: a file written by process 1 would land in its folder
    folders = [tmp_path / "process0", tmp_path / "process1"]
    for folder in folders:
        folder.mkdir()
    command = [sys.executable, "-m", "cmrlab.distributed", "--dataset", "healey-kahana-2014", "--key", "0",
               "--subjects", ",".join(str(s) for s in three), "--out", "fits.csv", "--no-progress",
               *SMALL_DE_ARGS, "--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", "2", "--process-id"]
    processes = [subprocess.Popen(command + [str(i)], cwd=folder, env=_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i, folder in enumerate(folders)]
    outputs = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(stdout)
    lines = [re.search(r"process (\d) of 2: fitted (\d) of 3 subjects .*; table (\w+)(; wrote fits.csv)?", out)
             for out in outputs]
    assert all(lines), outputs
    assert [m.group(1) for m in lines] == ["0", "1"]
    assert [int(m.group(2)) for m in lines] == [2, 1]          # subjects 0 and 2 on process 0, subject 1 on 1
    assert lines[0].group(3) == lines[1].group(3)              # both processes hold the same table
    assert lines[0].group(4) and not lines[1].group(4)         # process 0 says it wrote the file; process 1 not
    assert sorted(p.name for p in folders[0].iterdir()) == ["fits.csv"]  # written once: no temporary left
    assert list(folders[1].iterdir()) == []
    table = pd.read_csv(folders[0] / "fits.csv", keep_default_na=False)
    pd.testing.assert_frame_equal(table, reference, check_exact=True)  # bit for bit


GATHER_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import numpy as np
    jax.distributed.initialize(sys.argv[1], 2, int(sys.argv[2]))
    from cmrlab.fitting import _fit_subjects_of_this_process, _subject_rounds

    def run_batch(round_index, chunk, fail_on=None):
        # fake searches (no compilation): subject i's searches agree from round i % 3 on
        if jax.process_index() == fail_on:
            raise FloatingPointError("a fit went wrong")
        chunk = np.asarray(chunk)
        values = (chunk[:, None, None] * 100 + round_index * 10 + np.arange(4)[None, :, None]
                  + np.arange(2)[None, None, :] / 8).astype(np.float32)
        spread = np.where(round_index >= chunk[:, None] % 3, [0, 0, -5, -5],
                          np.array([0, -10, -20, -30]) - 100 * round_index)
        scores = (spread - 0.5 * chunk[:, None]).astype(np.float32)
        evaluations = np.broadcast_to(chunk[:, None] + 7 * round_index, (len(chunk), 4)).astype(np.int32)
        return values, scores, evaluations

    def plain(found):
        return [[np.stack(part).tolist() for part in found[i]] for i in range(len(found))]

    out = {}
    for n in (5, 1):  # unequal shares; with one subject, process 1 has none
        gathered = _fit_subjects_of_this_process(n, run_batch, 2, 3, 0.5, False, 4, 2)
        alone = _subject_rounds(np.arange(n), run_batch, 1, 3, 0.5, lambda r, p: None, lambda c: None)
        out[n] = [plain(gathered), plain(alone)]
    try:
        _fit_subjects_of_this_process(3, lambda r, c: run_batch(r, c, fail_on=1), 1, 3, 0.5, False, 4, 2)
    except BaseException as error:
        out["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(out))
""")


def test_the_gather_returns_every_subjects_rounds_on_every_process_and_a_failure_reaches_all(tmp_path):
    # the protocol of fit_subjects across processes, with fake searches: subjects of 1 to 3 rounds, shares of
    # 3 and 2 subjects (and of 1 and 0), then one process failing while the other waits for it
    script = tmp_path / "gather.py"
    script.write_text(GATHER_SCRIPT)
    address = f"127.0.0.1:{free_port()}"
    processes = [subprocess.Popen([sys.executable, str(script), address, str(i)], env=_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    for result in results:
        for n in ("5", "1"):
            gathered, alone = result[n]
            assert gathered == alone
        assert [len(scores) for _values, scores, _evaluations in result["5"][0]] == [1, 2, 3, 1, 2]
    assert results[0]["5"] == results[1]["5"]
    assert results[0]["error"] == "RuntimeError: process 1 of 2 failed while fitting its subjects " \
                                  "(FloatingPointError: a fit went wrong); no table was gathered."
    assert results[1]["error"] == "FloatingPointError: a fit went wrong"


def test_local_mode_starts_the_processes_and_reports_their_failure(tmp_path):
    # --local 2 with a subject that is not in the data: both processes start and meet (jax.distributed over
    # loopback), load the data, refuse the subject; the launcher returns their exit code, 2; no file
    out = subprocess.run([sys.executable, "-m", "cmrlab.distributed", "--local", "2", "--dataset",
                          "healey-kahana-2014", "--subjects", "63,9999", "--out", "fits.csv"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-3000:]
    assert "--subjects [9999] are not in healey-kahana-2014" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_a_cluster_or_addresses_the_launcher_says_what_to_pass(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cmrlab.distributed", "--dataset", "healey-kahana-2014",
                          "--out", "fits.csv"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr[-3000:]
    assert "found no cluster" in out.stderr and "--local N" in out.stderr


def test_importing_cmrlab_leaves_jax_uninitialized():
    # jax.distributed.initialize() must come before JAX starts a backend; `import cmrlab` must not start one
    code = "import cmrlab, cmrlab.distributed; from jax._src import xla_bridge; print(len(xla_bridge._backends))"
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("arguments, message", [
    (["--local", "2", "--process-id", "0"], "--local starts its own processes: leave out --process-id"),
    (["--local", "0"], "--local takes a positive number"),
    (["--coordinator", "node0:1234"], "missing --num-processes, --process-id"),
    (["--coordinator", "node0", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--coordinator", "node0:1234", "--num-processes", "2", "--process-id", "2"], "--process-id must be in 0..1"),
    (["--local", "2", "--dataset", "nonsense"], "unknown --dataset 'nonsense'"),
    (["--local", "2", "--dataset", "missing.csv"], "--dataset missing.csv: no such file"),
    (["--local", "2", "--setting", "sample=3"], "MultistartSettings has the fields samples"),
    (["--local", "2", "--setting", "samples=many"], "samples=many: not an integer"),
    (["--local", "2", "--setting", "samples=-4"], "samples=-4: must be positive"),
    (["--local", "2", "--setting", "samples=0"], "samples=0: must be positive."),
    (["--local", "2", "--setting", "snap_steps=-1"], "snap_steps=-1: must be positive (or 0 to turn it off)"),
    (["--local", "2", "--setting", "snap_margin=0.7"], "snap_margin is a distance in the unit box"),
    (["--local", "2", "--method", "de", "--setting", "mutation=0.5"], "give 2 numbers separated by commas"),
    (["--local", "2", "--method", "de", "--setting", "samples=3"], "DESettings has the fields population"),
    (["--local", "2", "--fixed", "encoding_drift_rate"], "--fixed takes NAME=VALUE"),
    (["--local", "2", "--fixed", "encoding_drift_rate=high"], "not a number"),
    (["--local", "2", "--subjects", "63,x"], "comma-separated integer ids"),
    (["--local", "2", "--searches", "0"], "--searches must be positive"),
    (["--local", "2", "--out", "exists.csv"], "exists; pass --overwrite"),
    (["--local", "2", "--out", "nowhere/fits.csv"], "the folder nowhere does not exist"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "0", "--out", "."], "is a folder"),
])
def test_bad_arguments_are_refused_before_any_process_starts(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exists.csv").write_text("subject\n")
    defaults = {"--dataset": "healey-kahana-2014", "--out": "fits.csv"}
    argv = [x for k, v in defaults.items() if k not in arguments for x in (k, v)] + arguments
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_zero_turns_the_polish_and_the_snap_off():
    args = parser().parse_args(["--dataset", "healey-kahana-2014", "--out", "fits.csv", "--local", "2",
                                "--setting", "snap_margin=0", "--setting", "polish_steps=0"])
    settings = check_arguments(args)["settings"]
    assert (settings.snap_margin, settings.polish_steps, settings.samples) == (0.0, 0, 4096)


def test_missing_required_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", "fits.csv"])
    assert exit_info.value.code == 2
    assert "--dataset" in capsys.readouterr().err
