"""JAX's persistent compilation cache, on by default, so a new kernel starts warm.

Compiling cmrlab's programs (a fit's search, the Explorer's update, the full
model's likelihood) takes seconds to tens of seconds; running them afterwards
takes milliseconds to seconds. JAX can keep compiled programs on disk
(``jax_compilation_cache_dir``); cmrlab turns that on when it is imported, in
a folder of its own, so the second kernel that fits a subject or draws the
Explorer skips the compilation (same programs, same numbers).

* ``CMRLAB_COMPILATION_CACHE=/some/folder`` puts the cache there;
  ``CMRLAB_COMPILATION_CACHE=off`` leaves JAX's setting alone.
* A cache folder set by the user for JAX (``JAX_COMPILATION_CACHE_DIR`` or
  ``jax.config.update("jax_compilation_cache_dir", ...)`` before importing
  cmrlab) is kept.
* Otherwise: ``$XDG_CACHE_HOME/cmrlab/jax/<cpu>`` (``~/.cache/cmrlab/jax/<cpu>``),
  where ``<cpu>`` names the processor's model and instruction set, so that a
  home folder shared by different machines never runs code compiled for
  another CPU.

Delete the folder at any time to reclaim the space (tens of MB).
"""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

import jax

OFF = ("0", "off", "false", "no")
MIN_COMPILE_SECONDS = 0.1
"""Programs that compile faster than this are not written to the cache (JAX's default: 1 s)."""


def _cpu_tag() -> str:
    """A short name for this processor: its model and instruction-set flags, hashed."""
    described = platform.machine() + platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    described += line
                if line.strip() == "":  # the first processor says it all
                    break
    except OSError:
        pass
    return f"{platform.machine()}-{hashlib.sha256(described.encode()).hexdigest()[:12]}"


def default_folder() -> Path:
    """Where cmrlab keeps compiled programs when nothing else is said."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "cmrlab" / "jax" / _cpu_tag()


def enable() -> Path | None:
    """Turn JAX's persistent compilation cache on (see the module's docstring); return its folder.

    Returns ``None`` (and changes nothing) when the user switched it off,
    already chose a folder for JAX, or the folder cannot be created.
    """
    setting = os.environ.get("CMRLAB_COMPILATION_CACHE", "").strip()
    if setting.lower() in OFF:
        return None
    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    folder = Path(setting).expanduser() if setting else default_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # JAX keeps only programs that took over a second to compile; the Explorer's first update is
    # several programs of a few tenths of a second each, which together make a fresh kernel wait
    if jax.config.jax_persistent_cache_min_compile_time_secs >= MIN_COMPILE_SECONDS:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder


# XLA's CPU compiler hands elementwise fusions to YNNPACK by default (jax 0.10); for the fitting
# programs (the likelihood's recall scan and its gradient over hundreds of parameter sets at once)
# XLA's own fused loops are faster: value_and_grad of 256 parameter sets x 28 lists 44 -> 30 ms on a
# 2-core Xeon (benchmarks/bench_fitting.py gradient).
_FITTING_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
_accepted: dict | None = None


def fitting_compiler_options() -> dict:
    """Compiler options for the fitting programs (``jax.jit(..., compiler_options=...)``).

    The options change which kernels XLA emits, not what is computed: values
    agree with the default compilation to float32 rounding. They are used
    only where this JAX accepts them (checked once, on a tiny program) and
    on a CPU backend; elsewhere the result is ``{}``.
    """
    global _accepted
    if _accepted is None:
        _accepted = {}
        if jax.default_backend() == "cpu":
            try:
                jax.jit(lambda x: x + 1, compiler_options=_FITTING_OPTIONS).lower(1.0).compile()
                _accepted = dict(_FITTING_OPTIONS)
            except Exception:  # an older or newer XLA without the option: its default is fine
                _accepted = {}
    return dict(_accepted)
