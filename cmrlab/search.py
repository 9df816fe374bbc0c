"""Global maximisation over a box: the search strategies behind :func:`cmrlab.fit`.

Nothing here knows about CMR: every function maximises a scalar objective
``f(x)`` over a box ``lower <= x <= upper`` and is meant to run inside a
caller's ``jit`` (the objective closes over the data). Each function is one
*search*; :func:`cmrlab.fit` runs several independent searches at once with
``vmap`` and reports whether they agree.

**Coordinates.** Searches work in the unit cube ``z in [0, 1]^d``. A
parameter whose range is at most 1 wide maps linearly; a wide positive range
(``upper > 1``, e.g. ``[eps, 100]``) maps through an ``asinh`` warp, linear
near 0 and logarithmic above ``WARP_SCALE``, so that a search spends as much
effort on ``[0.01, 1]`` as on ``[1, 100]`` (fits often end near 0 or at
100). Gradient steps run in ``y = logit(z)``, which keeps every point inside
the box.

**Strategies.**

* :func:`multistart`: a uniform sample of ``samples`` points; a few Adam
  (optax) steps from the ``screen * starts`` best of them, then the rest of
  the steps from the ``starts`` best after those; damped Newton steps
  (exact Hessian) from the ``polish_starts`` best Adam results. The box may
  be split along one coordinate into :class:`Strata`, each sampled and
  descended on its own, so that a narrow region of the box gets starts of
  its own. Used for likelihoods, which are smooth.
* :func:`differential_evolution`: best/1/bin with a Latin-hypercube start,
  dithered mutation and crossover. Needs no gradient: used for the
  summary-statistic objective, whose simulated curves are step functions of
  the parameters.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

WARP_SCALE = 0.01
"""Below this value a warped coordinate is linear, above it logarithmic."""

_EDGE = 1e-6  # logit(z) is kept finite: z in [_EDGE, 1 - _EDGE]


class Box(NamedTuple):
    """The search space.

    Attributes:
        lower, upper: ``(d,)`` inclusive bounds.
        warped: ``(d,)`` bool, coordinates searched on the asinh scale.
    """

    lower: jax.Array
    upper: jax.Array
    warped: jax.Array


def make_box(lower, upper) -> Box:
    """A :class:`Box` with the asinh warp on every coordinate whose upper bound exceeds 1."""
    lower = jnp.asarray(lower, jnp.float32)
    upper = jnp.asarray(upper, jnp.float32)
    return Box(lower, upper, upper > 1.0)


def from_unit(z: jax.Array, box: Box) -> jax.Array:
    """Unit-cube coordinates ``(..., d)`` -> parameter values, always inside the box.

    Linear: ``x = lower + z (upper - lower)``; warped:
    ``x = s sinh(asinh(lower / s) + z (asinh(upper / s) - asinh(lower / s)))``
    with ``s = WARP_SCALE``.
    """
    lower, upper, warped = (_along(v, z) for v in box)
    linear = lower + z * (upper - lower)
    a0, a1 = jnp.arcsinh(lower / WARP_SCALE), jnp.arcsinh(upper / WARP_SCALE)
    curved = WARP_SCALE * jnp.sinh(a0 + z * (a1 - a0))
    return jnp.clip(jnp.where(warped, curved, linear), lower, upper)


def to_unit(x: jax.Array, box: Box) -> jax.Array:
    """Inverse of :func:`from_unit`."""
    lower, upper, warped = (_along(v, x) for v in box)
    linear = (x - lower) / jnp.where(upper > lower, upper - lower, 1.0)
    a0, a1 = jnp.arcsinh(lower / WARP_SCALE), jnp.arcsinh(upper / WARP_SCALE)
    curved = (jnp.arcsinh(x / WARP_SCALE) - a0) / jnp.where(a1 > a0, a1 - a0, 1.0)
    return jnp.clip(jnp.where(warped, curved, linear), 0.0, 1.0)


def _along(v: jax.Array, points: jax.Array) -> jax.Array:
    """A per-coordinate ``(d,)`` array shaped to broadcast against ``points`` ``(..., d)``."""
    return jnp.reshape(v, (1,) * (jnp.ndim(points) - 1) + jnp.shape(v))


def _logit(z):
    z = jnp.clip(z, _EDGE, 1 - _EDGE)
    return jnp.log(z) - jnp.log1p(-z)


def finite_or_worst(values: jax.Array) -> jax.Array:
    """NaN and infinities become ``-inf``, the worst value for a maximisation."""
    return jnp.where(jnp.isfinite(values), values, -jnp.inf)


class Found(NamedTuple):
    """What one search found: its best point (unit coordinates), value, and cost."""

    z: jax.Array           # (d,)
    value: jax.Array       # ()
    evaluations: jax.Array  # () objective (or objective + gradient) evaluations


# ----------------------------------------------------------------------------- multistart


class MultistartSettings(NamedTuple):
    """One multistart search: sample, descend from the best points, polish the best results.

    Attributes:
        samples: uniform points evaluated first, shared equally among the strata.
        starts: the best samples that Adam starts from, shared among the
            strata in proportion to their weights (at least one each).
        steps: Adam steps per start.
        learning_rate: Adam's step size in ``logit(z)`` coordinates.
        polish_starts: the best Adam results of each stratum that Newton polishes.
        polish_steps: damped Newton iterations per polished point.
        snap_margin: after the polish, coordinates closer than this to a bound
            (unit scale) are set on the bound and polished again
            (:func:`_bound_variants`), since many optima sit on a bound that
            steps in ``logit(z)`` only approach; 0 turns it off.
        snap_steps: damped Newton iterations per snapped point (``None``:
            as many as ``polish_steps``).
        snap_coordinates: how many of the best point's near-bound
            coordinates are also snapped one at a time.
        screen: Adam first runs ``screen_steps`` steps from ``screen`` times
            as many of the best samples as it has starts, and only the
            ``starts`` best of them go on for the rest of ``steps``; 1 turns
            the screening off. A few Adam steps tell the basins apart better
            than a sample's value does.
        screen_steps: Adam steps of the screening (fewer than ``steps``
            while ``screen > 1``).
        subsample: for :func:`cmrlab.fit` on many lists: each search runs
            everything above on this many of the lists, drawn at random with
            its own key, then polishes its best point on all lists with
            ``polish_steps`` more Newton steps (:func:`refine`); its value is
            that of all lists. 0 (the default) searches on all lists. A
            likelihood pooled over hundreds of lists often has its best
            optimum's basin in the same place on a random few hundred of
            them, at a fraction of the cost; not always
            (:data:`cmrlab.fitting.POOLED_SETTINGS` has the measurements).
    """

    samples: int = 4096
    starts: int = 96
    steps: int = 150
    learning_rate: float = 0.1
    polish_starts: int = 2
    polish_steps: int = 30
    snap_margin: float = 0.02
    snap_steps: int | None = None
    snap_coordinates: int = 3
    screen: int = 4
    screen_steps: int = 20
    subsample: int = 0


def check_multistart(settings: MultistartSettings) -> MultistartSettings:
    """``settings`` if every field is in range, else a ``ValueError`` naming the field and its range."""
    for name in ("samples", "starts", "steps", "polish_starts", "polish_steps", "snap_steps", "snap_coordinates",
                 "screen", "screen_steps", "subsample"):
        value, least = getattr(settings, name), 1 if name in ("samples", "starts", "steps", "screen") else 0
        if name == "snap_steps" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"MultistartSettings.{name} must be an int >= {least}"
                             f"{' (0 turns it off)' if least == 0 else ''}, got {value!r}.")
    if not settings.learning_rate > 0:
        raise ValueError(f"MultistartSettings.learning_rate must be positive, got {settings.learning_rate!r}.")
    if not 0 <= settings.snap_margin < 0.5:
        raise ValueError(f"MultistartSettings.snap_margin is a distance in the unit box, 0 (off) up to 0.5; "
                         f"got {settings.snap_margin!r}.")
    if settings.screen > 1 and not 0 < settings.screen_steps < settings.steps:
        raise ValueError(f"MultistartSettings.screen_steps must be between 1 and steps - 1 = {settings.steps - 1} "
                         f"while screen > 1, got {settings.screen_steps!r}; set screen=1 to turn the screening off.")
    return settings


class Strata(NamedTuple):
    """A split of the box along one coordinate: each stratum gets its own samples and starts.

    Attributes:
        coordinate: the index of the split coordinate.
        edges: the inner edges, increasing, strictly inside the coordinate's range.
        weights: one per stratum (``len(edges) + 1``): its share of the starts.
    """

    coordinate: int
    edges: tuple[float, ...]
    weights: tuple[float, ...]


def _stratum_boxes(box: Box, strata: Strata | None) -> list[Box]:
    if strata is None:
        return [box]
    c = strata.coordinate
    cuts = [box.lower[c], *(jnp.float32(e) for e in strata.edges), box.upper[c]]
    return [Box(box.lower.at[c].set(lo), box.upper.at[c].set(hi), box.warped) for lo, hi in zip(cuts[:-1], cuts[1:])]


def _shares(total: int, weights) -> list[int]:
    """``total`` split in proportion to ``weights``, at least 1 each."""
    weights = [w / sum(weights) for w in weights]
    return [max(1, round(total * w)) for w in weights]


def multistart(key, objective: Callable[[jax.Array], jax.Array], box: Box,
               settings: MultistartSettings = MultistartSettings(), strata: Strata | None = None) -> Found:
    """Maximise ``objective`` (values ``(d,)`` -> scalar) over ``box`` by one multistart search.

    In each stratum of ``box`` (the whole box when ``strata`` is None): a
    uniform sample, a short Adam screening from its best points, Adam from
    the best points after the screening, inside the stratum. Then the
    ``polish_starts`` best Adam results of each stratum are polished by
    damped Newton steps in the whole box (:func:`_newton`), so that a result
    on a stratum's inner edge is free to move on; the polished points moved
    onto the bounds they are near (:func:`_bound_variants`) are polished too.
    The best of all these candidates is the search's result. Non-finite
    objective values count as the worst; a non-finite gradient makes no step.
    Runs inside ``jit``; ``settings`` and ``strata`` must be static.
    """
    d = box.lower.shape[0]
    s = settings
    boxes = _stratum_boxes(box, strata)
    n_starts = _shares(s.starts, strata.weights) if strata is not None else [s.starts]
    screened = s.screen > 1
    n_screen = [s.screen * n for n in n_starts] if screened else n_starts
    n_samples = [max(s.samples // len(boxes), n) for n in n_screen]  # never fewer samples than starts
    steps = s.steps - s.screen_steps if screened else s.steps  # Adam steps after the screening
    found_x, found_loss, polish_x = [], [], []
    for stratum_key, stratum, samples, starts, screen in zip(jax.random.split(key, len(boxes)), boxes, n_samples,
                                                             n_starts, n_screen):
        loss = _loss_in(objective, stratum)
        z = jax.random.uniform(stratum_key, (samples, d))
        values = finite_or_worst(_evaluate_in_chunks(lambda z, stratum=stratum: objective(from_unit(z, stratum)), z))
        begin = _logit(z[jnp.argsort(-values)[:screen]])
        if screened:
            begin, begin_loss = jax.vmap(lambda y, loss=loss: _adam(loss, y, s.screen_steps, s.learning_rate))(begin)
            begin = begin[jnp.argsort(begin_loss)[:starts]]
        descended, descended_loss = jax.vmap(lambda y, loss=loss: _adam(loss, y, steps, s.learning_rate))(begin)
        x = from_unit(jax.nn.sigmoid(descended), stratum)
        found_x.append(x)
        found_loss.append(descended_loss)
        polish_x.append(x[jnp.argsort(descended_loss)[: min(s.polish_starts, starts)]])
    candidates, candidate_loss = jnp.concatenate(found_x), jnp.concatenate(found_loss)
    polished = snapped = snap_steps = 0
    if s.polish_steps and s.polish_starts:
        whole = _loss_in(objective, box)
        start = _logit(to_unit(jnp.concatenate(polish_x), box))
        polished_y, polished_loss = jax.vmap(lambda y: _newton(whole, y, s.polish_steps))(start)
        polished = start.shape[0]
        candidates = jnp.concatenate([candidates, from_unit(jax.nn.sigmoid(polished_y), box)])
        candidate_loss = jnp.concatenate([candidate_loss, polished_loss])
        snap_steps = s.polish_steps if s.snap_steps is None else s.snap_steps
        if s.snap_margin > 0 and snap_steps:
            variants = _bound_variants(jax.nn.sigmoid(polished_y), polished_loss, s.snap_margin,
                                       s.snap_coordinates)
            snapped_y, snapped_loss = jax.vmap(lambda y: _newton(whole, y, snap_steps))(_logit(variants))
            snapped = variants.shape[0]
            candidates = jnp.concatenate([candidates, from_unit(jax.nn.sigmoid(snapped_y), box)])
            candidate_loss = jnp.concatenate([candidate_loss, snapped_loss])
    best = jnp.argmin(candidate_loss)
    screening = sum(n_screen) * (s.screen_steps + 1) if screened else 0
    evaluations = (sum(n_samples) + screening + sum(n_starts) * (steps + 1)
                   + polished * s.polish_steps * (d + 2) + snapped * snap_steps * (d + 2))
    return Found(to_unit(candidates[best], box), -candidate_loss[best], jnp.int32(evaluations))


def refine(objective: Callable[[jax.Array], jax.Array], box: Box, z: jax.Array, steps: int) -> Found:
    """``steps`` damped Newton steps (:func:`_newton`) on ``objective`` from the unit point ``z`` ``(d,)``.

    Returns the best point seen and its value; with ``steps=0``, ``z`` and
    its value. Runs inside ``jit``; ``steps`` must be static.
    """
    loss = _loss_in(objective, box)
    y0 = _logit(z)
    y, value = _newton(loss, y0, steps) if steps else (y0, loss(y0))
    d = z.shape[0]
    return Found(jax.nn.sigmoid(y), -value, jnp.int32(steps * (d + 2) + 1))


def _bound_variants(z: jax.Array, loss: jax.Array, margin: float, coordinates: int) -> jax.Array:
    """Polished points ``z`` ``(P, d)`` (unit coordinates) moved onto the bounds they are near.

    Returns ``(P + k, d)`` with ``k = min(coordinates, d)``: each point with
    every coordinate within ``margin`` of 0 or 1 set to that bound, then the
    best point (lowest ``loss``) with one such coordinate at a time set on its
    bound. Those are the best point's ``k`` near coordinates farthest from
    their bound, since one already on it gains nothing from the move; where
    fewer than ``k`` are near, the other rows are the best point unchanged.
    Optima on a bound, or in a corner of bounds, are common in CMR
    (``recall_drift_rate`` at 1, the Luce exponent at 100); from inside, a
    Newton step in ``logit(z)`` shrinks as a bound nears, and a second
    optimum at the bound itself is not seen at all.
    """
    near_upper, near_lower = z > 1 - margin, z < margin
    on_bound = jnp.where(near_upper, 1.0, 0.0)
    every = jnp.where(near_upper | near_lower, on_bound, z)
    b = jnp.argmin(loss)
    k = min(coordinates, z.shape[1])
    near = near_upper[b] | near_lower[b]
    farthest = jnp.argsort(jnp.where(near, -jnp.minimum(z[b], 1 - z[b]), 1.0))[:k]
    one = (jnp.arange(z.shape[1])[None, :] == farthest[:, None]) & near[None, :]
    each = jnp.where(one, on_bound[b][None, :], z[b][None, :])
    return jnp.concatenate([every, each])


def _loss_in(objective, box: Box):
    """The loss that Adam and Newton minimise: ``-objective`` at ``y = logit(z)`` of ``box``; -inf becomes +inf."""
    return lambda y: -finite_or_worst(objective(from_unit(jax.nn.sigmoid(y), box)))


def _evaluate_in_chunks(f, points, chunk: int = 256):
    """``vmap(f)(points)``, a chunk of points at a time, so that memory stays bounded."""
    n = points.shape[0]
    if n <= chunk:
        return jax.vmap(f)(points)
    n_chunks = -(-n // chunk)
    padded = jnp.concatenate([points, jnp.repeat(points[-1:], n_chunks * chunk - n, axis=0)])
    values = jax.lax.map(jax.vmap(f), padded.reshape(n_chunks, chunk, -1))
    return values.reshape(-1)[:n]


def _adam(loss, y0, steps: int, learning_rate: float):
    """Adam from ``y0``; returns the best point seen and its loss."""
    optimizer = optax.adam(learning_rate)
    value_and_grad = jax.value_and_grad(loss)

    def step(carry, _):
        y, state, best_y, best_loss = carry
        value, grad = value_and_grad(y)
        usable = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad))
        improved = usable & (value < best_loss)
        best_y = jnp.where(improved, y, best_y)
        best_loss = jnp.where(improved, value, best_loss)
        updates, state = optimizer.update(jnp.where(usable, grad, 0.0), state, y)
        return (optax.apply_updates(y, updates), state, best_y, best_loss), None

    (y, _, best_y, best_loss), _ = jax.lax.scan(step, (y0, optimizer.init(y0), y0, jnp.inf), None, length=steps)
    final = loss(y)
    take = jnp.isfinite(final) & (final < best_loss)
    return jnp.where(take, y, best_y), jnp.where(take, final, best_loss)


def _newton(loss, y0, steps: int, damping: float = 1.0):
    """Damped Newton (Levenberg-Marquardt) from ``y0``; returns the best point seen and its loss.

    Each iteration takes the exact gradient ``g`` and Hessian ``H`` (forward
    over reverse mode) and tries ``y - V diag(1 / (|w| + lambda)) V^T g``,
    where ``H = V diag(w) V^T``: using ``|w|`` turns a saddle's negative
    curvature into a descent direction. A step that lowers the loss is kept
    and ``lambda`` shrinks 3-fold; otherwise ``lambda`` grows 4-fold. On the
    long, curved ridges of CMR's likelihood this converges in tens of
    iterations where Adam or L-BFGS need hundreds of evaluations.
    """
    def gradient_twice(y):
        g = jax.grad(loss)(y)
        return g, g

    hessian_and_gradient = jax.jacfwd(gradient_twice, has_aux=True)

    def step(carry, _):
        y, value, lam = carry
        hessian, grad = hessian_and_gradient(y)
        usable = jnp.all(jnp.isfinite(hessian)) & jnp.all(jnp.isfinite(grad))
        hessian = jnp.where(usable, 0.5 * (hessian + hessian.T), jnp.eye(y.shape[0]))
        w, v = jnp.linalg.eigh(hessian)
        trial = y - v @ ((v.T @ jnp.where(usable, grad, 0.0)) / (jnp.abs(w) + lam))
        trial_value = loss(trial)
        better = usable & jnp.isfinite(trial_value) & (trial_value < value)
        return (jnp.where(better, trial, y), jnp.where(better, trial_value, value),
                jnp.where(better, lam / 3, lam * 4)), None

    init = (y0, loss(y0), jnp.float32(damping))
    (y, value, _), _ = jax.lax.scan(step, init, None, length=steps)
    return y, value


# ----------------------------------------------------------------------------- differential evolution


class DESettings(NamedTuple):
    """Differential evolution (best/1/bin).

    Attributes:
        population: members per search.
        generations: the most generations.
        mutation: range of the dithered weight ``F`` (drawn per generation).
        crossover: crossover probability.
        patience: stop when the best value has not risen by ``improvement``
            for this many generations.
        improvement: the rise that counts as progress.
    """

    population: int = 64
    generations: int = 300
    mutation: tuple[float, float] = (0.5, 1.0)
    crossover: float = 0.9
    patience: int = 40
    improvement: float = 0.01


def differential_evolution(key, objective_batch: Callable[[jax.Array], jax.Array], box: Box,
                           settings: DESettings = DESettings()) -> Found:
    """Maximise over ``box`` by differential evolution (best/1/bin) in unit coordinates.

    Args:
        objective_batch: values ``(P, d)`` -> ``(P,)`` (one call per generation,
            so that a whole population shares work such as common random numbers).
    """
    s = settings
    P, d = s.population, box.lower.shape[0]

    def score(z):
        return finite_or_worst(objective_batch(from_unit(z, box)))

    key, strata_key, jitter_key = jax.random.split(key, 3)
    strata = jax.vmap(lambda k: jax.random.permutation(k, P))(jax.random.split(strata_key, d)).T
    population = (strata + jax.random.uniform(jitter_key, (P, d))) / P  # Latin hypercube
    fitness = score(population)

    def cond(state):
        generation, _, _, _, stalled = state
        return (generation < s.generations) & (stalled < s.patience)

    def body(state):
        generation, key, population, fitness, stalled = state
        previous_best = jnp.max(fitness)
        key, k_pick, k_f, k_cross, k_force, k_fix = jax.random.split(key, 6)
        best = population[jnp.argmax(fitness)]
        picks = jax.vmap(lambda k: jax.random.choice(k, P, (2,), replace=False))(jax.random.split(k_pick, P))
        f = jax.random.uniform(k_f, (), minval=s.mutation[0], maxval=s.mutation[1])
        mutant = best[None, :] + f * (population[picks[:, 0]] - population[picks[:, 1]])
        cross = jax.random.uniform(k_cross, (P, d)) < s.crossover
        cross = cross | (jnp.arange(d)[None, :] == jax.random.randint(k_force, (P, 1), 0, d))
        trial = jnp.where(cross, mutant, population)
        # beyond the cube: a random point between the parent and the violated face
        r = jax.random.uniform(k_fix, (P, d))
        trial = jnp.where(trial < 0, population * (1 - r), trial)
        trial = jnp.where(trial > 1, population + r * (1 - population), trial)
        trial_fitness = score(trial)
        better = trial_fitness >= fitness
        population = jnp.where(better[:, None], trial, population)
        fitness = jnp.where(better, trial_fitness, fitness)
        stalled = jnp.where(jnp.max(fitness) > previous_best + s.improvement, 0, stalled + 1)
        return generation + 1, key, population, fitness, stalled

    state = (jnp.int32(0), key, population, fitness, jnp.int32(0))
    generation, _, population, fitness, _ = jax.lax.while_loop(cond, body, state)
    best = jnp.argmax(fitness)
    return Found(population[best], fitness[best], (generation + 1) * P)
