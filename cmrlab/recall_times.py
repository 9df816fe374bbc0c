"""When recalls happen: inter-response times by output position.

Recall slows down as it goes on: the gaps between successive recalls grow
with output position (Murdock & Okada 1970; Rohrer & Wixted 1994), and Polyn,
Norman & Kahana (2009) fit their accumulator model to these times. The
conventions are those of the other analyses: a *valid* recall is a studied
item at its first appearance in the row, and a gap is counted only between
two consecutive responses that are both valid (as a :func:`cmrlab.lag_crp`
transition is), pooled over the lists given.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab import _transitions as tr


def check_times(times, recalls) -> np.ndarray:
    """Check a ``(n_lists, max_recalls)`` array of response times aligned with ``recalls``."""
    array = np.asarray(times)
    if array.shape != np.shape(recalls):
        raise ValueError(
            f"times must have the shape of recalls {np.shape(recalls)} (the time of each "
            f"response), got {array.shape}."
        )
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"times must be numbers, got dtype {array.dtype}.")
    if not np.isfinite(array[np.asarray(recalls) != 0]).all():
        raise ValueError("times must be finite wherever recalls is not 0 padding.")
    return array


@partial(jax.jit, static_argnames="list_length")
def _irt_sums(recalls, times, list_length):
    dtype = tr.float_type()
    o = tr.outputs(recalls, list_length)
    counted = o.valid[:, :-1] & o.valid[:, 1:]
    gap = jnp.where(counted, times[:, 1:] - times[:, :-1], 0).astype(dtype)
    # the gap after the (k + 1)-th valid recall goes to bin k; gaps not counted to a bin cut off
    bin_ = jnp.where(counted, o.rank[:, :-1], list_length - 1).reshape(-1)
    total = jnp.zeros(list_length, dtype).at[bin_].add(gap.reshape(-1))[:-1]
    count = jnp.zeros(list_length, dtype).at[bin_].add(1)[:-1]
    return total, count


def irt(recalls, times, list_length: int) -> jax.Array:
    """Mean inter-response time by output position, ``(L - 1,)``.

    Entry ``k - 1`` is the mean of ``times[t + 1] - times[t]`` over the lists
    whose ``k``-th and ``(k + 1)``-th valid recalls are consecutive responses
    ``t`` and ``t + 1``. Output positions count valid recalls only (as in
    :func:`cmrlab.pnr`); a gap next to an intrusion or a repeat is not
    counted (there is no valid pair of neighbours), but the recalls around
    it keep their positions: in ``5, -1, 6, 7`` only the gap from ``6`` to
    ``7`` (valid recalls 2 and 3) is counted, at ``k = 2``. NaN where no
    list made that transition. The first response's latency is ``times[:, 0]``.

    Args:
        recalls: int ``(n_lists, max_recalls)`` recall matrix.
        times: ``(n_lists, max_recalls)`` the time of each response (e.g. ms
            from the start of recall; ``data.times``); entries under ``0``
            padding are ignored.
        list_length: ``L``.

    Returns:
        ``(L - 1,)`` in the units of ``times`` (float type).
    """
    recalls = tr.checked(recalls, list_length)
    if not isinstance(times, jax.core.Tracer) and not isinstance(recalls, jax.core.Tracer):
        times = check_times(times, recalls)
    total, count = _irt_sums(recalls, jnp.asarray(times), list_length)
    return tr.ratio(total, count)
