"""Pure CMR dynamics: state in, new state out.

Everything here follows ``docs/model.md`` line by line. A :class:`CMRState`
holds one list's context, both association matrices and the recall
bookkeeping; each function returns a new state. :class:`CMR` wraps a state
and its parameters in the object-style API of the project's seed document
(``experience``, ``start_retrieving``, ``outcome_probabilities``,
``retrieve``). All of it is a PyTree: ``jit``, ``vmap`` and ``grad`` pass
through unchanged.

Shapes, with ``L`` the list length: context ``(L + 1,)`` (unit 0 is the
start-of-list unit), ``M^FC`` ``(L, L + 1)`` (row = item), ``M^CF``
``(L + 1, L)`` (column = item).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cmrlab.parameters import EPS, CMRParameters, as_full_parameters


class CMRState(NamedTuple):
    """The state of one list in CMR.

    Attributes:
        context: ``(L + 1,)`` unit-length temporal context ``c``.
        mfc: ``(L, L + 1)`` item-to-context associations ``M^FC``.
        mcf: ``(L + 1, L)`` context-to-item associations ``M^CF``.
        recallable: ``(L,)`` bool, items that may still be recalled.
        study_count: int32 scalar, items studied so far (next serial position ``k``).
        recall_count: int32 scalar ``r``, items recalled so far.
    """

    context: jax.Array
    mfc: jax.Array
    mcf: jax.Array
    recallable: jax.Array
    study_count: jax.Array
    recall_count: jax.Array


def normalize(vector: jax.Array) -> jax.Array:
    """``norm(v) = v / sqrt(sum(v^2) + eps)`` over the last axis."""
    return vector / jnp.sqrt(jnp.sum(vector * vector, axis=-1, keepdims=True) + EPS)


def integrate(context: jax.Array, context_input: jax.Array, drift_rate) -> jax.Array:
    """Drift ``context`` toward ``context_input``, keeping unit length.

    .. math::

        c^{in} = \\mathrm{norm}(c^{in}),\\quad d = c \\cdot c^{in},\\quad
        \\rho = \\sqrt{1 + \\beta^2 (d^2 - 1)} - \\beta d,\\quad
        c' = \\mathrm{norm}(\\rho c + \\beta c^{in})

    Args:
        context: ``(..., L + 1)`` current context (unit length).
        context_input: ``(..., L + 1)`` input pattern (any length).
        drift_rate: ``beta`` in ``[0, 1]``.

    Returns:
        ``(..., L + 1)`` the new context.
    """
    c_in = normalize(context_input)
    d = jnp.sum(context * c_in, axis=-1, keepdims=True)
    return normalize(retention(d, drift_rate) * context + drift_rate * c_in)


def retention(d, drift_rate):
    """``rho = sqrt(1 + beta^2 (d^2 - 1)) - beta d``, the weight kept on the old context.

    ``d`` is the dot product of the current context with the normalized input.
    The square root is :func:`safe_sqrt`: at ``beta = 1`` and ``d = 0`` (a
    drift rate at its upper bound, studying a new item) its argument is 0,
    where the plain square root has an infinite derivative.
    """
    return safe_sqrt(1 + drift_rate**2 * (d**2 - 1)) - drift_rate * d


@jax.custom_jvp
def safe_sqrt(x):
    """``sqrt(max(x, 0))`` whose derivative stays finite at 0.

    The value is exactly ``jnp.sqrt(x)`` for ``x >= 0``. The derivative is
    ``1 / (2 sqrt(x))`` for ``x >= eps`` (the same as ``jnp.sqrt``'s) and
    ``1 / (2 sqrt(eps))`` below: finite, with the right sign, where the true
    one-sided derivative is infinite (only on the boundary of the parameter
    box: inside it the argument of rho's root is at least ``1 - beta^2``).
    """
    return jnp.sqrt(jnp.maximum(x, 0.0))


@safe_sqrt.defjvp
def _safe_sqrt_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    root = safe_sqrt(x)
    # 0.5 / root, as jnp.sqrt's own rule computes it, where root >= sqrt(eps)
    return root, dx * (0.5 / jnp.where(x >= EPS, root, _SQRT_EPS))


_SQRT_EPS = float(np.sqrt(np.float32(EPS)))


def initial_state(list_length: int, params: CMRParameters) -> CMRState:
    """The state before the first study item.

    ``c = e_0``; ``M^FC[i-1, i] = 1 - gamma``; ``M^CF[0, :] = 0``,
    ``M^CF[j, i] = item_support`` if ``j == i`` else ``shared_support``.
    """
    L = list_length
    context = jnp.zeros(L + 1, jnp.float32).at[0].set(1.0)
    mfc = jnp.eye(L, L + 1, k=1, dtype=jnp.float32) * (1 - params.learning_rate)
    eye = jnp.eye(L, dtype=jnp.float32)
    item_rows = params.shared_support * (1 - eye) + params.item_support * eye
    mcf = jnp.concatenate([jnp.zeros((1, L), jnp.float32), item_rows], axis=0)
    return CMRState(
        context=context,
        mfc=mfc,
        mcf=mcf,
        recallable=jnp.zeros(L, bool),
        study_count=jnp.zeros((), jnp.int32),
        recall_count=jnp.zeros((), jnp.int32),
    )


def primacy_gradient(study_position, params: CMRParameters) -> jax.Array:
    """``phi_k = phi_s * exp(-phi_d * k) + 1`` for 0-based serial position ``k``."""
    return params.primacy_scale * jnp.exp(-params.primacy_decay * study_position) + 1


def study(state: CMRState, params: CMRParameters, item) -> CMRState:
    """Study ``item`` (1-based serial position) at the next serial position ``k``.

    .. code-block:: text

        c          = integrate(c, M^FC[i], beta_enc)
        M^FC[i]   += gamma * c
        M^CF[:, i] += phi_k * c,   phi_k = phi_s exp(-phi_d k) + 1

    Learning uses the context after the update.
    """
    index = jnp.asarray(item, jnp.int32) - 1
    context = integrate(state.context, state.mfc[index], params.encoding_drift_rate)
    phi = primacy_gradient(state.study_count, params)
    return state._replace(
        context=context,
        mfc=state.mfc.at[index].add(params.learning_rate * context),
        mcf=state.mcf.at[:, index].add(phi * context),
        recallable=state.recallable.at[index].set(True),
        study_count=state.study_count + 1,
    )


def study_list(state: CMRState, params: CMRParameters, items: jax.Array) -> CMRState:
    """Study a whole sequence of items (1-based serial positions), in order."""

    def step(state, item):
        return study(state, params, item), None

    return jax.lax.scan(step, state, items)[0]


def start_recall(state: CMRState, params: CMRParameters) -> CMRState:
    """Reinstate start context before recall: ``c = integrate(c, e_0, beta_start)``."""
    e0 = jnp.zeros_like(state.context).at[0].set(1.0)
    return state._replace(context=integrate(state.context, e0, params.start_drift_rate))


def stop_probability(state: CMRState, params: CMRParameters) -> jax.Array:
    """``P(stop)``: ``min(1 - eps * n, theta_s * exp(theta_r * r))``, or 1 if ``n == 0``.

    ``n`` is the number of items still recallable, ``r`` the number recalled.
    """
    return stop_rule(jnp.sum(state.recallable, axis=-1), state.recall_count, params)


def stop_rule(n_recallable, recall_count, params: CMRParameters) -> jax.Array:
    """``P(stop) = min(1 - eps n, theta_s exp(theta_r r))``, and 1 when ``n == 0``."""
    # The exponent is capped at 80 (exp(80) ~ 5.5e34, finite in float32): beyond
    # that theta_s exp(.) exceeds 1 for any theta_s >= eps, so the min is
    # 1 - eps n either way, and the unused branch cannot overflow to inf and
    # turn the gradient into NaN (inf * 0).
    growth = jnp.minimum(params.stop_probability_growth * recall_count, _MAX_STOP_EXPONENT)
    p = jnp.minimum(1 - EPS * n_recallable, params.stop_probability_scale * jnp.exp(growth))
    return jnp.where(n_recallable == 0, 1.0, p)


_MAX_STOP_EXPONENT = 80.0


def item_supports(state: CMRState, params: CMRParameters) -> jax.Array:
    """Luce-rule supports of each item, ``(L,)``, zero where not recallable.

    .. code-block:: text

        a = c @ M^CF
        a = exp(tau * (log a - max(log a)))      (= (a / max a)^tau)
        a = (a + eps) * recallable
    """
    return luce_supports(state.context @ state.mcf, state.recallable, params, axis=-1)


def luce_supports(activation, recallable, params: CMRParameters, axis: int = -1) -> jax.Array:
    """``(exp(tau (log a - max log a)) + eps) * recallable``, the max taken along ``axis``.

    ``activation`` holds ``a = c @ M^CF`` for every item along ``axis``. It is
    first raised to at least eps (``a = max(a, eps)``): in the base model this
    changes nothing inside the parameter box (activations there are far above
    eps) and keeps ``log a`` finite at its corners (e.g. every drift rate at 1,
    where an item's activation can be exactly 0); in the full model semantic
    similarities can make activations negative.
    """
    log_a = jnp.log(jnp.maximum(activation, EPS))
    a = jnp.exp(params.choice_sensitivity * (log_a - jnp.max(log_a, axis=axis, keepdims=True)))
    return (a + EPS) * recallable


def outcome_probabilities(state: CMRState, params: CMRParameters) -> jax.Array:
    """``(L + 1,)`` probabilities: index 0 = stop, index ``i`` = item ``i``.

    ``P(stop) = p_stop``, ``P(item i) = (1 - p_stop) * a_i / sum(a)``; when no
    item is recallable, ``P(stop) = 1``.
    """
    p_stop = stop_probability(state, params)
    a = item_supports(state, params)
    total = jnp.sum(a, axis=-1, keepdims=True)
    p_items = (1 - p_stop)[..., None] * a / jnp.where(total > 0, total, 1.0)
    return jnp.concatenate([p_stop[..., None], p_items], axis=-1)


def recall(state: CMRState, params: CMRParameters, choice) -> CMRState:
    """Apply a recall outcome: ``choice`` 0 = stop, ``i`` = recall item ``i``.

    After item ``i``: ``c = integrate(c, M^FC[i], beta_rec)`` and ``i`` is no
    longer recallable; the matrices do not change. After a stop nothing is
    recallable any more (so ``P(stop) = 1`` from then on) and the state is
    otherwise unchanged.
    """
    choice = jnp.asarray(choice, jnp.int32)
    is_item = choice > 0
    index = jnp.maximum(choice - 1, 0)
    context = integrate(state.context, state.mfc[index], params.recall_drift_rate)
    L = state.recallable.shape[-1]
    chosen = jnp.arange(L) == index
    return state._replace(
        context=jnp.where(is_item, context, state.context),
        recallable=jnp.where(is_item, state.recallable & ~chosen, False),
        recall_count=state.recall_count + is_item.astype(jnp.int32),
    )


def activations(state: CMRState) -> jax.Array:
    """The retrieval cue ``a = c @ M^CF``, ``(L,)``."""
    return state.context @ state.mcf


_BASE_DYNAMICS = SimpleNamespace(study=study, start_recall=start_recall, activations=activations,
                                 outcome_probabilities=outcome_probabilities, recall=recall)


def _dynamics(state):
    """The functions that move ``state``: the base model's, or the full model's."""
    if isinstance(state, CMRState):
        return _BASE_DYNAMICS
    from cmrlab import source_model

    return source_model


@jax.tree_util.register_pytree_node_class
class CMR:
    """The CMR model of one list as an immutable PyTree.

    Methods that "change" the model return a new one::

        model = CMR(list_length=16, parameters=cmrlab.DEFAULT_PARAMETERS)
        for item in range(1, 17):
            model = model.experience(item)
        model = model.start_retrieving()
        model.outcome_probabilities()      # (17,): index 0 = stop, i = item i
        model = model.retrieve(16)         # recall the last item

    The full model of Polyn, Norman & Kahana (2009) (``docs/source_model.md``)
    takes what a list now needs::

        model = CMR(24, cmrlab.SOURCE_PRESETS["Polyn 2009 full"],
                    study_items=words, sources=tasks, similarity=lsa)

    With the full model's mechanisms off (or absent) and no list data it is
    the base model (``docs/model.md``), exactly.

    Args:
        list_length: ``L``, the number of study items (a Python or NumPy int).
        parameters: a dict of CMR parameters (see
            :data:`cmrlab.DEFAULT_PARAMETERS`, :data:`cmrlab.SOURCE_PRESETS`);
            floats or JAX scalars.
        study_items: int ``(L,)`` the words of serial positions ``1..L`` as
            0-based indices into ``similarity`` (with ``similarity``).
        sources: int ``(L,)`` the source (task) code of each serial position.
        similarity: ``(P, P)`` the word pool's similarity matrix.

    Attributes:
        state: a :class:`CMRState` (base model) or a
            :class:`~cmrlab.source_model.SourceState` (full model).
        params: :class:`~cmrlab.parameters.CMRParameters` (base model) or
            :class:`~cmrlab.parameters.FullParameters` (full model).
    """

    def __init__(self, list_length: int, parameters: Mapping[str, float], *, study_items=None,
                 sources=None, similarity=None):
        from cmrlab import source_model
        from cmrlab.study_lists import prepare_lists

        if (isinstance(list_length, (jax.core.Tracer, bool)) or not isinstance(list_length, (int, np.integer))
                or int(list_length) < 1):
            raise ValueError(
                f"list_length must be a positive Python int, got {list_length!r}."
            )
        L = int(list_length)
        full = as_full_parameters(parameters)
        data = prepare_lists(1, L, study_items, sources, similarity, rows_name="one list")
        if source_model.reduces_to_base(full, data.has_sources, data.has_semantics):
            self.params = full.base()
            self.state = initial_state(L, self.params)
        else:
            self.params = full
            self.state = source_model.initial_state(
                L, full, None if data.sources is None else data.sources[0],
                None if data.semantic is None else data.semantic[0], data.n_sources)

    @classmethod
    def _from(cls, state, params) -> "CMR":
        model = object.__new__(cls)
        model.state, model.params = state, params
        return model

    def tree_flatten(self):
        return (self.state, self.params), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls._from(*children)

    @property
    def list_length(self) -> int:
        return self.state.recallable.shape[-1]

    @property
    def is_base_model(self) -> bool:
        """True if this is the base model (temporal context only)."""
        return isinstance(self.state, CMRState)

    @property
    def context(self) -> jax.Array:
        """The current temporal context: ``(L + 1,)`` (base model) or ``(2L,)`` (full model)."""
        return self.state.context if self.is_base_model else self.state.temporal

    @property
    def mfc(self) -> jax.Array:
        """Item-to-temporal-context associations, ``(L, L + 1)`` or ``(L, 2L)``."""
        return self.state.mfc if self.is_base_model else self.state.mfc_temporal

    @property
    def mcf(self) -> jax.Array:
        """Temporal-context-to-item associations, ``(L + 1, L)`` or ``(2L, L)``."""
        return self.state.mcf if self.is_base_model else self.state.mcf_temporal

    @property
    def source_context(self) -> jax.Array | None:
        """The source context ``(S,)`` (full model; ``None`` for the base model)."""
        return None if self.is_base_model else self.state.source

    @property
    def mfc_source(self) -> jax.Array | None:
        """Item-to-source-context associations ``(L, S)`` (full model; else ``None``)."""
        return None if self.is_base_model else self.state.mfc_source

    @property
    def mcf_source(self) -> jax.Array | None:
        """Source-context-to-item associations ``(S, L)`` (full model; else ``None``)."""
        return None if self.is_base_model else self.state.mcf_source

    def experience(self, item) -> "CMR":
        """Study ``item`` (1-based serial position); see :func:`study`."""
        return CMR._from(_dynamics(self.state).study(self.state, self.params, item), self.params)

    def start_retrieving(self) -> "CMR":
        """Reinstate start context; see :func:`start_recall`."""
        return CMR._from(_dynamics(self.state).start_recall(self.state, self.params), self.params)

    def activations(self) -> jax.Array:
        """``(L,)`` the retrieval cue: each item's activation by the current context(s)."""
        return _dynamics(self.state).activations(self.state)

    def outcome_probabilities(self) -> jax.Array:
        """``(L + 1,)``: index 0 = stop, index ``i`` = item ``i`` (Luce rule)."""
        return _dynamics(self.state).outcome_probabilities(self.state, self.params)

    def retrieve(self, choice) -> "CMR":
        """Apply outcome ``choice`` (0 = stop, ``i`` = item ``i``); see :func:`recall`."""
        return CMR._from(_dynamics(self.state).recall(self.state, self.params, choice), self.params)

    def __repr__(self) -> str:
        kind = "" if self.is_base_model else ", full model"
        return f"CMR(list_length={self.list_length}{kind})"
