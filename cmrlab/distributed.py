"""Fit every subject of a data set with several processes: ``python -m cmrlab.distributed``.

Each process runs this module; they meet through ``jax.distributed.initialize``
and one :func:`cmrlab.fit_subjects` call shares the subjects among them
(subject ``i`` goes to process ``i mod N``, each fitted on that process's own
devices), then gathers every subject's fit, so each process holds the same
table: the table one process would make with the same key and settings.
Process 0 alone draws the progress bar (all subjects of the job) and writes
the table, once, as CSV (a temporary file renamed into place).

On this machine, ``N`` processes over loopback (each with one CPU device)::

    python -m cmrlab.distributed --local 4 --dataset healey-kahana-2014 --key 0 --out fits.csv

Under SLURM, one task per process; ``jax.distributed.initialize()`` reads the
job's variables (``SLURM_*``) and chooses the coordinator itself::

    srun --nodes=4 --ntasks-per-node=1 python -m cmrlab.distributed \\
        --dataset healey-kahana-2014 --key 0 --out fits.csv

With plain ``ssh``, start one process per machine with the same arguments,
the address of process 0's machine and a free port on it, and each its own
``--process-id``::

    for i in 0 1 2 3; do
      ssh node$i python -m cmrlab.distributed --dataset healey-kahana-2014 --key 0 --out fits.csv \\
          --coordinator node0:12345 --num-processes 4 --process-id $i &
    done; wait

``--out`` is read on process 0's machine. Every process needs cmrlab, the
data (``$CMRLAB_DATA_DIR``) and the same XLA flags: processes that compile for
different instruction sets (``--xla_cpu_max_isa``) may give slightly different
numbers. ``--cpu-devices K`` gives each process ``K`` CPU devices, over which
it shards its batches of subjects (a vmapped program: the same fits to
float rounding, not bit for bit).

Datasets (``--dataset``): ``healey-kahana-2014`` (the no-task lists, as
:func:`cmrlab.fitting.healey_kahana2014_fits`), ``polyn-2009`` (the full
model: study items, tasks and similarity), ``murdock-1962-<condition>``
(e.g. ``murdock-1962-LL20-1s``), or a file: a psifr long table (``.csv``,
:meth:`~cmrlab.datasets.RecallDataset.from_psifr`) or the HDF5 layout of
``HealeyKahana2014.h5`` (``.h5``, ``.hdf5``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cmrlab.datasets import MURDOCK_CONDITIONS
from cmrlab.search import DESettings, MultistartSettings, check_multistart

NAMED_DATASETS = ("healey-kahana-2014", "polyn-2009") + tuple(f"murdock-1962-{c}" for c in MURDOCK_CONDITIONS)
DATASET_SUFFIXES = (".csv", ".h5", ".hdf5")
_DISTRIBUTED = ("coordinator", "num_processes", "process_id")


class ArgumentError(ValueError):
    """Arguments of ``python -m cmrlab.distributed`` that cannot work together."""


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m cmrlab.distributed``."""
    p = argparse.ArgumentParser(
        prog="python -m cmrlab.distributed",
        description="Fit CMR to every subject of a data set with several processes (jax.distributed); "
                    "process 0 writes the table. Without --coordinator/--num-processes/--process-id or "
                    "--local, jax.distributed.initialize() detects the cluster (SLURM, Open MPI, TPU).",
        epilog="Example: python -m cmrlab.distributed --local 2 --dataset healey-kahana-2014 --out fits.csv")
    p.add_argument("--dataset", required=True,
                   help=f"one of {', '.join(NAMED_DATASETS)}, or a psifr table (.csv) or HDF5 file (.h5)")
    p.add_argument("--out", required=True, help="the CSV file process 0 writes (one row per subject)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--key", type=int, default=0, help="the PRNG seed: subject i gets fold_in(PRNGKey(KEY), i)")
    p.add_argument("--subjects", help="comma-separated subject ids to fit (default: all)")
    p.add_argument("--fixed", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter fixed (repeatable)")
    p.add_argument("--method", choices=("multistart", "de"), default="multistart")
    p.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                   help="a field of MultistartSettings (samples, starts, steps, learning_rate, polish_starts, "
                        "polish_steps, snap_margin, snap_steps, snap_coordinates, screen, screen_steps, subsample; "
                        "0 turns the polish, the snap or the subsample off) or, with --method de, of DESettings "
                        "(population, generations, mutation=LOW,HIGH, crossover, patience, improvement); repeatable")
    p.add_argument("--searches", type=int, default=None,
                   help="independent searches per round (default: fit_subjects's, cmrlab.fitting.SEARCHES)")
    p.add_argument("--max-rounds", type=int, default=3)
    p.add_argument("--tolerance", type=float, default=0.5, help="agreement tolerance (log-likelihood units)")
    p.add_argument("--batch-size", type=int, help="subjects per compiled call in each process")
    p.add_argument("--cpu-devices", type=int, help="CPU devices of each process (jax_num_cpu_devices)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = p.add_argument_group("processes (all three, or none for auto-detection, or --local)")
    group.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordination service")
    group.add_argument("--num-processes", type=int, metavar="N")
    group.add_argument("--process-id", type=int, metavar="I", help="0 .. N-1; process 0 writes --out")
    group.add_argument("--local", type=int, metavar="N",
                       help="start N processes on this machine over loopback, on the CPU (JAX_PLATFORMS=cpu "
                            "unless set)")
    return p


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ArgumentError(f"{what} takes NAME=VALUE, got {item!r}.")
        if name in out:
            raise ArgumentError(f"{what} {name} is given twice.")
        out[name] = value
    return out


_MAY_BE_OFF = ("polish_starts", "polish_steps", "snap_margin", "snap_steps", "snap_coordinates", "subsample")


def _settings(method: str, items: list[str]):
    """The search settings of ``--setting NAME=VALUE`` items (``None``: the defaults)."""
    if not items:
        return None
    kind = MultistartSettings if method == "multistart" else DESettings
    values = {}
    for name, text in _pairs(items, "--setting").items():
        if name not in kind._fields:
            raise ArgumentError(f"--setting {name}: {kind.__name__} has the fields {', '.join(kind._fields)}.")
        default = kind._field_defaults[name]
        parts = text.split(",") if isinstance(default, tuple) else [text]
        convert = float if isinstance(default[0] if isinstance(default, tuple) else default, float) else int
        what = "an integer" if convert is int else "a number"
        if isinstance(default, tuple) and len(parts) != len(default):
            raise ArgumentError(f"--setting {name}={text}: give {len(default)} numbers separated by commas "
                                f"(default {','.join(str(d) for d in default)}).")
        try:
            numbers = [convert(part) for part in parts]
        except ValueError:
            raise ArgumentError(f"--setting {name}={text}: not {what}.") from None
        if not all(n > 0 or (n == 0 and name in _MAY_BE_OFF) for n in numbers):
            raise ArgumentError(f"--setting {name}={text}: must be positive"
                                f"{' (or 0 to turn it off)' if name in _MAY_BE_OFF else ''}.")
        values[name] = tuple(numbers) if isinstance(default, tuple) else numbers[0]
    try:
        return check_multistart(kind(**values)) if kind is MultistartSettings else kind(**values)
    except ValueError as error:
        raise ArgumentError(f"--setting: {error}") from None


def check_arguments(args: argparse.Namespace) -> dict:
    """Check everything that can be checked before any process starts; return the parsed pieces.

    Raises:
        ArgumentError: with a message saying what to change.
    """
    given = [name for name in _DISTRIBUTED if getattr(args, name) is not None]
    if args.local is not None:
        if given:
            raise ArgumentError("--local starts its own processes: leave out "
                                + ", ".join("--" + n.replace("_", "-") for n in given) + ".")
        if args.local < 1:
            raise ArgumentError(f"--local takes a positive number of processes, got {args.local}.")
    elif given and len(given) != 3:
        missing = [n for n in _DISTRIBUTED if n not in given]
        raise ArgumentError("--coordinator, --num-processes and --process-id go together; missing "
                            + ", ".join("--" + n.replace("_", "-") for n in missing)
                            + " (or leave all three out for auto-detection under SLURM).")
    elif given:
        host, sep, port = args.coordinator.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ArgumentError(f"--coordinator takes HOST:PORT (e.g. node0:12345), got {args.coordinator!r}.")
        if args.num_processes < 1:
            raise ArgumentError(f"--num-processes must be positive, got {args.num_processes}.")
        if not 0 <= args.process_id < args.num_processes:
            raise ArgumentError(f"--process-id must be in 0..{args.num_processes - 1}, got {args.process_id}.")
    dataset = args.dataset
    if dataset not in NAMED_DATASETS:
        if not dataset.lower().endswith(DATASET_SUFFIXES):
            raise ArgumentError(f"unknown --dataset {dataset!r}: choose one of {', '.join(NAMED_DATASETS)}, "
                                "or give a .csv (psifr) or .h5 file.")
        if not Path(dataset).is_file():
            raise ArgumentError(f"--dataset {dataset}: no such file.")
    for name in ("searches", "max_rounds", "batch_size", "cpu_devices"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ArgumentError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    if not args.tolerance > 0:
        raise ArgumentError(f"--tolerance must be positive, got {args.tolerance}.")
    fixed = {}
    for name, text in _pairs(args.fixed, "--fixed").items():
        try:
            fixed[name] = float(text)
        except ValueError:
            raise ArgumentError(f"--fixed {name}={text}: not a number.") from None
    subjects = None
    if args.subjects is not None:
        try:
            subjects = [int(s) for s in args.subjects.split(",") if s.strip()]
        except ValueError:
            raise ArgumentError(f"--subjects takes comma-separated integer ids, got {args.subjects!r}.") from None
        if not subjects:
            raise ArgumentError("--subjects is empty.")
    return {"fixed": fixed, "subjects": subjects, "settings": _settings(args.method, args.setting)}


def check_output(path, overwrite: bool) -> str | None:
    """Why process 0 could not write ``path`` (``None`` when it can)."""
    path = Path(path)
    if path.is_dir():
        return f"--out {path} is a folder; give a file name."
    if path.exists() and not overwrite:
        return f"--out {path} exists; pass --overwrite to replace it."
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"--out {path}: the folder {folder} does not exist."
    if not os.access(folder, os.W_OK):
        return f"--out {path}: the folder {folder} is not writable."
    return None


def load_dataset(name: str, subjects: list[int] | None = None):
    """The dataset of ``--dataset`` (restricted to ``subjects``) and the keyword arguments of the full model."""
    import numpy as np

    from cmrlab import datasets

    if name == "healey-kahana-2014":
        data = datasets.load_healey_kahana2014(no_task_only=True)
    elif name == "polyn-2009":
        data = datasets.load_polyn2009()
    elif name.startswith("murdock-1962-"):
        data = datasets.load_murdock1962(name.removeprefix("murdock-1962-"))
    elif name.lower().endswith(".csv"):
        import pandas as pd

        data = datasets.RecallDataset.from_psifr(pd.read_csv(name), name=Path(name).stem)
    else:
        data = datasets.RecallDataset.from_hdf5(name, name=Path(name).stem)
    if subjects is not None:
        unknown = sorted(set(subjects) - set(data.subjects.tolist()))
        if unknown:
            raise ArgumentError(f"--subjects {unknown} are not in {name} (its subjects: "
                                f"{data.subjects.tolist()[:20]}{' ...' if len(data.subjects) > 20 else ''}).")
        keep = np.isin(data.subject, subjects)
        data = data.select(keep)
    full = {}
    if data.study_items is not None and data.similarity is not None:
        full.update(study_items=data.study_items, similarity=data.similarity)
    if data.sources is not None:
        full["sources"] = data.sources
    return data, full


def write_table(table, path) -> Path:
    """Write ``table`` as CSV at ``path`` atomically: a temporary file in the same folder, renamed into place.

    Floats are written in full (``repr``), so reading the file gives the same numbers.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="") as out:
            table.to_csv(out, index=False)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def free_port() -> int:
    """A TCP port free on loopback now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _without_local(argv: list[str]) -> list[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--local":
            skip = True
        elif not item.startswith("--local="):
            out.append(item)
    return out


def run_local(argv: list[str], n_processes: int) -> int:
    """Start ``n_processes`` copies of this command on loopback; wait for all; return the first failure's code.

    Each copy gets ``--coordinator 127.0.0.1:<free port> --num-processes N
    --process-id I`` and runs on the CPU (``JAX_PLATFORMS=cpu`` unless set).
    When one fails, the others are stopped.
    """
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ}
    env.setdefault("JAX_PLATFORMS", "cpu")
    base = [sys.executable, "-m", "cmrlab.distributed", *_without_local(argv), "--coordinator", address,
            "--num-processes", str(n_processes)]
    children = [subprocess.Popen(base + ["--process-id", str(i)], env=env) for i in range(n_processes)]
    code = 0
    try:
        while any(child.poll() is None for child in children):
            failed = [c for c in children if c.returncode not in (None, 0)]
            if failed:
                code = failed[0].returncode
                break
            time.sleep(0.1)
        else:
            code = next((c.returncode for c in children if c.returncode != 0), 0)
    finally:
        # JAX's coordination client catches SIGTERM (a preemption notice), so SIGKILL follows soon
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if code:
        print(f"cmrlab.distributed: a process failed (exit code {code}); the others were stopped.",
              file=sys.stderr)
    return code


def _initialize(args) -> None:
    import jax

    if args.cpu_devices is not None:
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)
    if jax.config.jax_cpu_collectives_implementation is None:  # CPU processes exchange arrays through Gloo
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        if args.coordinator is not None:
            jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
        else:
            jax.distributed.initialize()
    except ValueError as error:  # auto-detection found no cluster
        raise ArgumentError(
            f"jax.distributed.initialize() found no cluster ({error}): outside SLURM, Open MPI or a TPU pod, pass "
            "--coordinator HOST:PORT --num-processes N --process-id I, or --local N on one machine.") from None


def fit_job(args, checked: dict) -> int:
    """One process of the job: initialize, fit its share of the subjects, gather; process 0 writes ``--out``."""
    import warnings

    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    from cmrlab.fitting import SEARCHES, FitWarning, fit_subjects

    _initialize(args)
    me, n_processes = jax.process_index(), jax.process_count()
    try:
        problem = check_output(args.out, args.overwrite) if me == 0 else None
        # every process learns process 0's verdict (also the processes' first collective, all in step)
        if int(multihost_utils.broadcast_one_to_all(np.int32(problem is not None))):
            raise ArgumentError(problem or "process 0 cannot write --out (see process 0's message).")
        data, full = load_dataset(args.dataset, checked["subjects"])
        if me:
            warnings.simplefilter("ignore", FitWarning)  # process 0 says it, once
        start = time.perf_counter()
        searches = SEARCHES if args.searches is None else args.searches
        table = fit_subjects(data, key=jax.random.PRNGKey(args.key), fixed=checked["fixed"] or None,
                             method=args.method, searches=searches, max_rounds=args.max_rounds,
                             tolerance=args.tolerance, settings=checked["settings"], batch_size=args.batch_size,
                             progress=not args.no_progress, **full)
        seconds = time.perf_counter() - start
        share = len(range(me, len(table), n_processes))
        if me == 0:
            write_table(table, args.out)
        # the digest of the table each process holds: the same on every process
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()[:16]
        line = (f"process {me} of {n_processes}: fitted {share} of {len(table)} subjects in {seconds:.1f} s; "
                f"table {digest}" + (f"; wrote {args.out}" if me == 0 else ""))
        sys.stdout.write(line + "\n")  # one write: lines of processes sharing a terminal do not interleave
        sys.stdout.flush()
    finally:
        jax.distributed.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m cmrlab.distributed`` with ``argv``; return the exit code (2: bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser()
    args = p.parse_args(argv)
    try:
        checked = check_arguments(args)
        if args.local is not None or args.process_id == 0:
            problem = check_output(args.out, args.overwrite)
            if problem:
                raise ArgumentError(problem)
        if args.local is not None:
            return run_local(argv, args.local)
        return fit_job(args, checked)
    except ArgumentError as error:
        p.print_usage(sys.stderr)
        print(f"{p.prog}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
