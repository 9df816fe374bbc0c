"""Test settings: CPU JAX, strict shapes, the shared data folder as the cache."""

import os
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"
if _SHARED_DATA.is_dir():  # CI and this project's machines: use the shared copies as the cache
    os.environ.setdefault("CMRLAB_DATA_DIR", str(_SHARED_DATA))

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
    """Run a test with float64 enabled (for comparisons with float64 oracles)."""
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", False)
