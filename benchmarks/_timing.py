"""What every benchmark here shares: timing a call, and naming the machine the figures come from.

Imported by the scripts of this folder (``python benchmarks/bench_core.py``
puts the folder on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time

import jax

_ISA = ("avx512f", "avx2", "avx", "fma", "sse4_2", "asimd", "sve")


def timed(fn, repeats: int):
    """``(first_ms, median_ms)``: the first call ``fn(0)`` (compilation included), then ``fn(1..repeats)``.

    ``fn(i)`` gets the call's index, so a benchmark can pass new values every
    call (no caching of results); every result is waited for
    (``jax.block_until_ready``).
    """
    start = time.perf_counter()
    jax.block_until_ready(fn(0))
    first = time.perf_counter() - start
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(fn(i))
        times.append(time.perf_counter() - start)
    return first * 1e3, statistics.median(times) * 1e3


def machine() -> str:
    """The CPU model, its widest vector instructions, cores, JAX devices and versions, in one line."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in info.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("Flags"):
                flags = set(line.split(":", 1)[1].split())
    except (OSError, subprocess.CalledProcessError):
        pass
    isa = "/".join(f for f in _ISA if f in flags) or "flags unknown"
    return (f"{model} ({isa}), {os.cpu_count()} cores, {jax.device_count()} JAX device(s), "
            f"jax {jax.__version__}, Python {platform.python_version()}")
