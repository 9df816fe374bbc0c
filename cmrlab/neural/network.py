"""The network: a small causal transformer over one list's study and recall events.

One list of ``L <= M`` items (``M`` = ``max_list_length``, what the network was
built for) is read as a sequence of ``S = 2 M + 1`` tokens:

.. code-block:: text

    position    0 .. M-1          M               M+1 .. 2M
    token       study item 1..M   recall start    recall 1 .. recall M
                (k >= L: padding, never attended)  (after a stop: "none")

Each token is the sum of learned embeddings: item ``0..M`` (0 is "none"),
role (study / start / recall), absolute position ``0..S-1`` and, on study
tokens, the list's study condition (e.g. the encoding task of Healey & Kahana
2014: a task done at each study event is part of that event; a network
built with ``conditions=()`` has a single condition). A stack of pre-norm
blocks follows,

.. code-block:: text

    x <- x + Dropout(MultiheadAttention(LayerNorm(x), mask = causal & real study tokens))
    x <- x + Dropout(MLP(LayerNorm(x)))

and a final ``LayerNorm`` and ``Linear(width, M + 1)`` give, at position
``M + t``, the logits of decision ``t`` (what comes after ``t`` recalls):
index 0 = stop, index ``i`` = item ``i``. Items already recalled and items
beyond ``L`` are masked out, so

.. code-block:: text

    P(outcome t = o) = softmax over allowed outcomes of logits[M + t]

the outcome space of CMR's ``outcome_probabilities``: stop is always allowed,
and once all ``L`` items are recalled it is the only outcome (probability 1).
Every layer is equinox's (``Embedding``, ``MultiheadAttention``,
``LayerNorm``, ``MLP``, ``Linear``, ``Dropout``); this file only wires them.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

STUDY, START, RECALL = 0, 1, 2  # token roles


class NetworkConfig(NamedTuple):
    """The hyperparameters that fix a network's shapes (saved in a model file's header).

    Attributes:
        max_list_length: ``M``, the longest list the network can read.
        width: model (embedding) width.
        depth: number of transformer blocks.
        heads: attention heads per block (must divide ``width``).
        mlp_width: hidden width of each block's MLP.
        dropout: dropout rate in training (attention weights, attention and MLP outputs).
        conditions: names of the study conditions the network tells apart (one
            embedding each; the first is the default), or ``()`` for none.
    """

    max_list_length: int = 16
    width: int = 32
    depth: int = 2
    heads: int = 4
    mlp_width: int = 64
    dropout: float = 0.0
    conditions: tuple[str, ...] = ()

    def check(self) -> "NetworkConfig":
        for name in ("max_list_length", "width", "depth", "heads", "mlp_width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NetworkConfig.{name} must be a positive int, got {value!r}.")
        if self.width % self.heads:
            raise ValueError(f"NetworkConfig.heads ({self.heads}) must divide width ({self.width}).")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"NetworkConfig.dropout must be in [0, 1), got {self.dropout!r}.")
        if isinstance(self.conditions, str) or not all(isinstance(c, str) for c in self.conditions):
            raise ValueError(f"NetworkConfig.conditions must be a sequence of names, got {self.conditions!r}.")
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"NetworkConfig.conditions holds a name twice: {list(self.conditions)}.")
        return self._replace(conditions=tuple(self.conditions))

    @property
    def n_conditions(self) -> int:
        return max(1, len(self.conditions))

    @property
    def sequence_length(self) -> int:
        """``S = 2 M + 1`` tokens: ``M`` study, one recall start, ``M`` recall."""
        return 2 * self.max_list_length + 1


class Block(eqx.Module):
    """One pre-norm transformer block (attention then MLP, each with a residual)."""

    attention_norm: eqx.nn.LayerNorm
    attention: eqx.nn.MultiheadAttention
    mlp_norm: eqx.nn.LayerNorm
    mlp: eqx.nn.MLP
    dropout: eqx.nn.Dropout

    def __init__(self, config: NetworkConfig, *, key):
        attention_key, mlp_key = jax.random.split(key)
        self.attention_norm = eqx.nn.LayerNorm(config.width)
        self.attention = eqx.nn.MultiheadAttention(
            config.heads, config.width, dropout_p=config.dropout, key=attention_key)
        self.mlp_norm = eqx.nn.LayerNorm(config.width)
        self.mlp = eqx.nn.MLP(config.width, config.width, config.mlp_width, depth=1,
                              activation=jax.nn.gelu, key=mlp_key)
        self.dropout = eqx.nn.Dropout(config.dropout)

    def __call__(self, x, mask, *, key=None, inference: bool = True):
        """``(S, width)`` -> ``(S, width)``; ``mask`` ``(S, S)``, True = may attend."""
        keys = (None,) * 3 if key is None else jax.random.split(key, 3)
        h = jax.vmap(self.attention_norm)(x)
        h = self.attention(h, h, h, mask, key=keys[0], inference=inference)
        x = x + self.dropout(h, key=keys[1], inference=inference)
        h = jax.vmap(self.mlp)(jax.vmap(self.mlp_norm)(x))
        return x + self.dropout(h, key=keys[2], inference=inference)

    def attention_weights(self, x, mask) -> jax.Array:
        """``(heads, S, S)`` the attention weights this block's attention uses on input ``x``.

        The layer does not return its weights, so they are recomputed here from
        its own projections: ``softmax(q k^T / sqrt(d_head))`` over allowed keys
        (``tests/test_neural.py`` checks that they reproduce the layer's output).
        """
        h = jax.vmap(self.attention_norm)(x)
        heads = self.attention.num_heads
        q = jax.vmap(self.attention.query_proj)(h).reshape(h.shape[0], heads, -1)
        k = jax.vmap(self.attention.key_proj)(h).reshape(h.shape[0], heads, -1)
        logits = jnp.einsum("shd,Shd->hsS", q, k) / jnp.sqrt(jnp.float32(q.shape[-1]))
        logits = jnp.where(mask[None], logits, jnp.finfo(logits.dtype).min)
        return jax.nn.softmax(logits, axis=-1)


class NextRecallNetwork(eqx.Module):
    """The causal transformer (a PyTree of equinox layers). See the module docstring.

    Call it on one list: ``network(outcomes, list_length, condition)`` with
    ``outcomes`` int ``(M + 1,)`` (the recall outcomes in order, 0-padded: item
    codes, then 0 for the stop; anything after the first 0 is ignored) and
    ``condition`` the index of the list's study condition (default 0) returns
    ``(M + 1, M + 1)`` log-probabilities: row ``t`` = decision ``t``, column 0 =
    stop, column ``i`` = item ``i``, ``-inf`` where not allowed. Batch with
    ``jax.vmap``.
    """

    config: NetworkConfig = eqx.field(static=True)
    item_embedding: eqx.nn.Embedding
    role_embedding: eqx.nn.Embedding
    position_embedding: eqx.nn.Embedding
    condition_embedding: eqx.nn.Embedding
    blocks: tuple[Block, ...]
    final_norm: eqx.nn.LayerNorm
    head: eqx.nn.Linear

    def __init__(self, config: NetworkConfig = NetworkConfig(), *, key):
        config = NetworkConfig(*config).check()
        keys = jax.random.split(key, config.depth + 5)
        M, S = config.max_list_length, config.sequence_length
        self.config = config
        self.item_embedding = eqx.nn.Embedding(M + 1, config.width, key=keys[0])
        self.role_embedding = eqx.nn.Embedding(3, config.width, key=keys[1])
        self.position_embedding = eqx.nn.Embedding(S, config.width, key=keys[2])
        self.condition_embedding = eqx.nn.Embedding(config.n_conditions, config.width, key=keys[4])
        self.blocks = tuple(Block(config, key=k) for k in keys[5:])
        self.final_norm = eqx.nn.LayerNorm(config.width)
        self.head = eqx.nn.Linear(config.width, M + 1, key=keys[3])

    # ----------------------------------------------------------------- sequence layout

    def tokens(self, outcomes, list_length):
        """``(items, roles, key_mask)``, each ``(S,)``: the token sequence of one list."""
        M = self.config.max_list_length
        positions = jnp.arange(M)
        study_items = jnp.where(positions < list_length, positions + 1, 0)
        items = jnp.concatenate([study_items, jnp.zeros(1, jnp.int32), _after_stop_zeroed(outcomes[:M])])
        roles = jnp.concatenate([jnp.full(M, STUDY), jnp.full(1, START), jnp.full(M, RECALL)])
        real = jnp.concatenate([positions < list_length, jnp.ones(M + 1, bool)])
        return items.astype(jnp.int32), roles.astype(jnp.int32), real

    def attention_mask(self, list_length) -> jax.Array:
        """``(S, S)`` bool: query ``s`` may attend key ``s' <= s`` that is not a padding study token."""
        _, _, real = self.tokens(jnp.zeros(self.config.max_list_length + 1, jnp.int32), list_length)
        S = self.config.sequence_length
        causal = jnp.tril(jnp.ones((S, S), bool))
        return causal & (real[None, :] | jnp.eye(S, dtype=bool))

    def embed(self, outcomes, list_length, condition=0) -> jax.Array:
        """``(S, width)`` the token embeddings; the condition's is added to the study tokens."""
        items, roles, _ = self.tokens(outcomes, list_length)
        positions = jnp.arange(self.config.sequence_length)
        study = (roles == STUDY)[:, None]
        return (jax.vmap(self.item_embedding)(items) + jax.vmap(self.role_embedding)(roles)
                + jax.vmap(self.position_embedding)(positions)
                + jnp.where(study, self.condition_embedding(jnp.asarray(condition, jnp.int32))[None, :], 0.0))

    # ----------------------------------------------------------------- forward

    def __call__(self, outcomes, list_length, condition=0, *, key=None, inference: bool = True) -> jax.Array:
        M = self.config.max_list_length
        mask = self.attention_mask(list_length)
        x = self.embed(outcomes, list_length, condition)
        keys = (None,) * len(self.blocks) if key is None else jax.random.split(key, len(self.blocks))
        for block, block_key in zip(self.blocks, keys):
            x = block(x, mask, key=block_key, inference=inference)
        decisions = jax.vmap(self.final_norm)(x[M:])  # positions M .. 2M: decisions 0 .. M
        logits = jax.vmap(self.head)(decisions)
        allowed = allowed_outcomes(outcomes, list_length, M)
        return jax.nn.log_softmax(jnp.where(allowed, logits, -jnp.inf), axis=-1)

    def attention_weights(self, outcomes, list_length, condition=0) -> jax.Array:
        """``(depth, heads, S, S)`` attention weights of every block on one list (no dropout)."""
        mask = self.attention_mask(list_length)
        x = self.embed(outcomes, list_length, condition)
        weights = []
        for block in self.blocks:
            weights.append(block.attention_weights(x, mask))
            x = block(x, mask)
        return jnp.stack(weights)


def _after_stop_zeroed(codes):
    """Zero every code from the first 0 on (what follows a stop is never read)."""
    return jnp.where(jnp.cumprod(codes > 0).astype(bool), codes, 0)


def allowed_outcomes(outcomes, list_length, max_list_length: int) -> jax.Array:
    """``(M + 1, M + 1)`` bool: at decision ``t``, stop and the items ``<= L`` not yet recalled.

    Row ``t`` reads the first ``t`` outcomes as the recalls so far.
    """
    M = max_list_length
    recalled = _after_stop_zeroed(outcomes[:M])
    one_hot = recalled[:, None] == jnp.arange(1, M + 1)[None, :]  # (M, M): recall t is item i
    before = jnp.concatenate([jnp.zeros((1, M), bool), jnp.cumsum(one_hot, axis=0) > 0], axis=0)
    items = (jnp.arange(1, M + 1)[None, :] <= list_length) & ~before
    return jnp.concatenate([jnp.ones((M + 1, 1), bool), items], axis=1)
