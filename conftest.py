"""Test settings: CPU JAX, strict shapes, the shared data folder as the cache."""

import gc
import os
import tempfile
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Outputs saved in the notebooks and figures asserted in tests must hold on any
# x86-64 CPU. Run everything (notebook kernels inherit this) with XLA limited
# to AVX, another instruction set than the machine that saved the outputs
# (tools/notebooks.py runs them unrestricted), so that a CPU-dependent figure
# fails here first, not on the next CI machine.
if "--xla_cpu_max_isa" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_max_isa=AVX").strip()
_SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"
if _SHARED_DATA.is_dir():  # CI and this project's machines: use the shared copies as the cache
    os.environ.setdefault("CMRLAB_DATA_DIR", str(_SHARED_DATA))
# One persistent compilation cache for the run, fresh each run: notebook
# kernels and subprocesses (which inherit the variable) reuse what the tests of
# their process compiled; no file outside the run is used. Each pytest-xdist
# worker gets a folder of its own in it: JAX writes a cache entry in place, so
# a worker could otherwise read another's half-written entry.
if "CMRLAB_TEST_RUN_CACHE" not in os.environ:  # the first process of the run (pytest, or xdist's controller)
    os.environ["CMRLAB_TEST_RUN_CACHE"] = tempfile.mkdtemp(prefix="cmrlab-compiled-")
_RUN_CACHE = os.environ["CMRLAB_TEST_RUN_CACHE"]
if os.environ.get("CMRLAB_COMPILATION_CACHE", _RUN_CACHE).startswith(_RUN_CACHE):  # not the user's own
    os.environ["CMRLAB_COMPILATION_CACHE"] = os.path.join(_RUN_CACHE, os.environ.get("PYTEST_XDIST_WORKER", "main"))

import jax  # noqa: E402
import pytest  # noqa: E402

from cmrlab import fitting  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


_MAPPINGS_BEFORE_CLEARING = 30_000


@pytest.fixture(autouse=True)
def _bounded_compiled_code():
    """After a test, drop JAX's compiled programs once the process holds over 30,000 memory mappings.

    On a CPU a compiled program's kernels occupy a few mappings each, thousands for a search, and
    Linux stops a process at 65,530 (``vm.max_map_count``), where the next compilation aborts.
    cmrlab bounds its own fitting programs (``cmrlab.fitting.FITTING_PROGRAMS_KEPT``), but this
    suite also compiles hundreds of other programs in one process (searches on test functions, the
    full model, the widgets): a fresh-clone run without this held 58,155 mappings after
    test_widgets.py. Clearing costs only recompilation (the run's persistent cache makes most of it
    a load).
    """
    yield
    held = fitting._mappings()
    if held is not None and held[0] > _MAPPINGS_BEFORE_CLEARING:
        jax.clear_caches()
        gc.collect()


@pytest.fixture
def x64():
    """Run a test with float64 enabled (for comparisons with float64 oracles)."""
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", False)
