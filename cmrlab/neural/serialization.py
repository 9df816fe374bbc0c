"""Saving a next-recall model to one file, and loading it back.

The file is a short text header followed by the network's weights:

.. code-block:: text

    line 1   cmrlab-next-recall 1                  (format name and version)
    line 2   {"config": {...}, "training": {...},  (JSON: NetworkConfig, TrainingRecord,
              "weights_bytes": N, "sha256": "..."}  the size of the rest, and a checksum
                                                    of the config and the weights)
    rest     equinox.tree_serialise_leaves(network)  (N bytes)

Loading rebuilds a network of the header's shape and reads the weights into
it (``equinox.tree_deserialise_leaves``), checking the checksum and that the
weights fill that network exactly, so a truncated, edited or mismatched file
is refused with a message saying what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import equinox as eqx
import jax

from cmrlab.neural.network import NetworkConfig, NextRecallNetwork
from cmrlab.neural.next_recall import NextRecallModel, TrainingRecord

MAGIC = "cmrlab-next-recall"
VERSION = 1


def save_next_recall(model: NextRecallModel, path) -> Path:
    """Write ``model`` to ``path`` (one file, written atomically). Returns the path.

    Raises:
        TypeError: ``model`` is not a :class:`NextRecallModel`.
    """
    if not isinstance(model, NextRecallModel):
        raise TypeError(f"expected a NextRecallModel, got {type(model).__name__}.")
    weights = io.BytesIO()
    eqx.tree_serialise_leaves(weights, model.network)
    payload = weights.getvalue()
    config = model.config._asdict()
    header = {
        "config": config,
        "training": None if model.training is None else _record_to_json(model.training),
        "weights_bytes": len(payload),
        "sha256": _checksum(config, payload),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(f"{MAGIC} {VERSION}\n".encode())
            out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            out.write(payload)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def load_next_recall(path, *, allow_untrained: bool = False) -> NextRecallModel:
    """Read a model written by :func:`save_next_recall` (or ``model.save``).

    Args:
        path: the file.
        allow_untrained: accept a file holding an untrained (freshly
            initialised) network; by default that is an error, since its
            predictions mean nothing.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a next-recall model file, an unknown format version, a
            damaged header, weights that fail their checksum (truncated or
            edited), weights that do not fit the network the header describes
            (mismatched), or an untrained network.
    """
    path = Path(path)
    data = path.read_bytes()
    first, _, rest = data.partition(b"\n")
    if not first.startswith(MAGIC.encode()):
        raise ValueError(f"{path} is not a cmrlab next-recall model file (it does not start with {MAGIC!r}); "
                         "write one with model.save(path).")
    try:
        version = int(first.split()[1])
    except (IndexError, ValueError):
        raise ValueError(f"{path}: damaged first line {first[:60]!r}.") from None
    if version != VERSION:
        raise ValueError(f"{path} is format version {version}; this cmrlab reads version {VERSION}.")
    header_line, _, payload = rest.partition(b"\n")
    try:
        header = json.loads(header_line)
        config = NetworkConfig(**{**header["config"], "conditions": tuple(header["config"].get("conditions", ()))}).check()
        size, checksum = int(header["weights_bytes"]), str(header["sha256"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: damaged header ({error}).") from None
    if len(payload) != size or _checksum(header["config"], payload) != checksum:
        raise ValueError(f"{path}: the file is damaged (expected {size} bytes of weights and sha256 "
                         f"{checksum[:12]}... of config and weights, found {len(payload)} bytes that do not "
                         "match); it was truncated or edited.")
    skeleton = eqx.filter_eval_shape(NextRecallNetwork, config, key=jax.random.PRNGKey(0))
    stream = io.BytesIO(payload)
    try:
        network = eqx.tree_deserialise_leaves(stream, skeleton)
    except Exception as error:  # equinox/numpy raise several kinds for a mismatched stream
        raise ValueError(f"{path}: the weights do not fit a network of the header's shape {config} "
                         f"({error}); the header and the weights are mismatched.") from None
    if stream.tell() != len(payload):
        raise ValueError(f"{path}: {len(payload) - stream.tell()} bytes of weights left over after filling a "
                         f"network of the header's shape {config}; the header and the weights are mismatched.")
    training = header.get("training")
    if training is None and not allow_untrained:
        raise ValueError(f"{path} holds an untrained network (saved before any training); train one with "
                         "cmrlab.neural.train_next_recall, or pass allow_untrained=True to load it anyway.")
    return NextRecallModel(network, None if training is None else _record_from_json(training))


def _checksum(config: dict, payload: bytes) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode() + payload).hexdigest()


def _record_to_json(record: TrainingRecord) -> dict:
    out = record._asdict()
    out["key"] = list(record.key)
    out["settings"] = [list(pair) for pair in record.settings]  # pairs keep their order
    return out


def _record_from_json(payload: dict) -> TrainingRecord:
    payload = dict(payload)
    payload["key"] = tuple(payload.get("key", ()))
    payload["settings"] = tuple(tuple(pair) for pair in payload.get("settings", ()))
    return TrainingRecord(**payload)
