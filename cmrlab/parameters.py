"""The one place each CMR parameter is declared.

Sliders, fitting bounds, presets and documentation are all generated from
:data:`PARAMETERS`. Values follow ``docs/model.md``: the defaults are a rounded
maximum-likelihood fit to Murdock (1962), condition LL20-1s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

EPS = float(np.finfo(np.float32).eps)
"""float32 machine epsilon (1.1920929e-07), the spec's ``eps``."""


@dataclass(frozen=True)
class Parameter:
    """Declaration of one CMR parameter.

    Attributes:
        name: the key used in parameter dicts.
        default: the spec's default value.
        lower, upper: the bounds used for validation and fitting (inclusive).
        label: a short human label (slider text, plot titles).
        symbol: the symbol used in the equations.
        meaning: one line saying what the parameter does.
        slider: ``(min, max, step)`` of the teaching range shown by the widgets
            (inside the bounds, except that 0 stands for ``lower``).
    """

    name: str
    default: float
    lower: float
    upper: float
    label: str
    symbol: str
    meaning: str
    slider: tuple[float, float, float]


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("encoding_drift_rate", 0.46, EPS, 1.0, "encoding drift", "β_enc",
              "How far context drifts toward each newly studied item.",
              (0.0, 1.0, 0.01)),
    Parameter("start_drift_rate", 0.06, EPS, 1.0, "start drift", "β_start",
              "How strongly the start-of-list context is reinstated before recall.",
              (0.0, 1.0, 0.01)),
    Parameter("recall_drift_rate", 0.77, EPS, 1.0, "recall drift", "β_rec",
              "How far context drifts toward the context of each recalled item.",
              (0.0, 1.0, 0.01)),
    Parameter("shared_support", 0.28, EPS, 100.0, "shared support", "α_shared",
              "Pre-experimental M^CF support between different items.",
              (0.0, 10.0, 0.01)),
    Parameter("item_support", 1.27, EPS, 100.0, "item support", "α_item",
              "Pre-experimental M^CF support of an item's context for itself.",
              (0.0, 10.0, 0.01)),
    Parameter("learning_rate", 0.15, EPS, 1.0, "M^FC learning rate", "γ",
              "Share of an item's M^FC row learned from the context at study.",
              (0.0, 1.0, 0.01)),
    Parameter("primacy_scale", 4.1, EPS, 100.0, "primacy scale", "φ_s",
              "Extra M^CF learning for the first items (primacy gradient height).",
              (0.0, 20.0, 0.1)),
    Parameter("primacy_decay", 1.6, EPS, 100.0, "primacy decay", "φ_d",
              "How fast the primacy boost decays with serial position.",
              (0.0, 5.0, 0.05)),
    Parameter("stop_probability_scale", 0.029, EPS, 1.0, "stop scale", "θ_s",
              "Probability of stopping recall before the first recall.",
              (0.0, 0.2, 0.001)),
    Parameter("stop_probability_growth", 0.29, EPS, 10.0, "stop growth", "θ_r",
              "Exponential growth of the stop probability with each recall.",
              (0.0, 1.5, 0.01)),
    Parameter("choice_sensitivity", 6.3, EPS, 100.0, "choice sensitivity", "τ",
              "Exponent of the Luce choice rule: higher means more deterministic.",
              (0.0, 20.0, 0.1)),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
PARAMETER_TABLE: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
DEFAULT_PARAMETERS: dict[str, float] = {p.name: p.default for p in PARAMETERS}

PRESETS: dict[str, dict[str, float]] = {
    "spec defaults (Murdock 1962 LL20-1s fit)": dict(DEFAULT_PARAMETERS),
    "Healey & Kahana (2014) median fits": {
        "encoding_drift_rate": 0.82, "start_drift_rate": 0.18,
        "recall_drift_rate": 0.89, "shared_support": 4.0, "item_support": 7.1,
        "learning_rate": 0.38, "primacy_scale": 4.2, "primacy_decay": 1.2,
        "stop_probability_scale": 0.005, "stop_probability_growth": 0.38,
        "choice_sensitivity": 16.0,
    },
    "jaxcmr documentation example": {
        "encoding_drift_rate": 0.5, "start_drift_rate": 0.5,
        "recall_drift_rate": 0.5, "shared_support": 0.05, "item_support": 0.25,
        "learning_rate": 0.5, "primacy_scale": 2.0, "primacy_decay": 0.8,
        "stop_probability_scale": 0.05, "stop_probability_growth": 0.2,
        "choice_sensitivity": 0.6,
    },
    "no primacy": {**DEFAULT_PARAMETERS, "primacy_scale": EPS},
    "no contiguity": {**DEFAULT_PARAMETERS, "encoding_drift_rate": 1.0,
                      "recall_drift_rate": EPS},
    "fast stopping": {**DEFAULT_PARAMETERS, "stop_probability_scale": 0.15,
                      "stop_probability_growth": 0.6},
}


class CMRParameters(NamedTuple):
    """The 11 parameters as a PyTree of float32 scalars (what the core consumes).

    Leaves are NumPy or JAX float32 scalars (JAX tracers inside transformations).
    """

    encoding_drift_rate: jax.Array
    start_drift_rate: jax.Array
    recall_drift_rate: jax.Array
    shared_support: jax.Array
    item_support: jax.Array
    learning_rate: jax.Array
    primacy_scale: jax.Array
    primacy_decay: jax.Array
    stop_probability_scale: jax.Array
    stop_probability_growth: jax.Array
    choice_sensitivity: jax.Array


assert CMRParameters._fields == PARAMETER_NAMES  # the table and the PyTree agree


def _valid_names_hint() -> str:
    return "valid names: " + ", ".join(PARAMETER_NAMES)


def check_names(names) -> None:
    """Raise ``ValueError`` for any name that is not a CMR parameter."""
    unknown = [n for n in names if n not in PARAMETER_TABLE]
    if unknown:
        raise ValueError(
            f"unknown CMR parameter name(s) {unknown}; {_valid_names_hint()}."
        )


def check_value(name: str, value) -> None:
    """Raise ``ValueError`` if a concrete value is not a finite scalar in bounds.

    Traced values (inside ``jit``, ``vmap`` or ``grad``) cannot be inspected
    and are passed through unchecked.
    """
    if isinstance(value, jax.core.Tracer):
        return
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r} ({type(value).__name__}).")
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"parameter {name!r} must be a real number, got {value!r} (dtype {array.dtype}).")
    if array.shape != ():
        raise ValueError(
            f"parameter {name!r} must be a scalar, got an array of shape "
            f"{array.shape}; vmap over parameter sets instead of passing arrays."
        )
    spec = PARAMETER_TABLE[name]
    x = float(array)
    if not np.isfinite(x) or not (spec.lower <= x <= spec.upper):
        raise ValueError(
            f"parameter {name!r} = {x!r} is outside its allowed range "
            f"[{spec.lower:.8g}, {spec.upper:g}] ({spec.meaning})"
        )


def as_parameters(parameters: Mapping[str, float] | CMRParameters) -> CMRParameters:
    """Validate a parameter dict and convert it to :class:`CMRParameters`.

    Args:
        parameters: a mapping from each of the 11 names in
            :data:`PARAMETER_NAMES` to a float (or a JAX scalar).

    Returns:
        A :class:`CMRParameters` of float32 scalars.

    Raises:
        ValueError: a name is missing or unknown, or a concrete value is not a
            finite scalar inside its bounds.
    """
    if isinstance(parameters, CMRParameters):
        return parameters
    if not isinstance(parameters, Mapping):
        raise TypeError(
            f"parameters must be a dict of the 11 CMR parameters, got "
            f"{type(parameters).__name__}; start from dict(cmrlab.DEFAULT_PARAMETERS)."
        )
    check_names(parameters)
    missing = [n for n in PARAMETER_NAMES if n not in parameters]
    if missing:
        raise ValueError(
            f"missing CMR parameter(s) {missing}; {_valid_names_hint()}. "
            "Start from dict(cmrlab.DEFAULT_PARAMETERS) and change what you need."
        )
    for name in PARAMETER_NAMES:
        check_value(name, parameters[name])
    return CMRParameters(*(_as_float32(parameters[name]) for name in PARAMETER_NAMES))


def _as_float32(value):
    # NumPy scalars for concrete values: creating 11 device arrays would cost
    # more than the whole simulation; jit converts them in one transfer.
    if isinstance(value, jax.Array):
        return value.astype(jnp.float32)
    return np.float32(value)


def as_dict(parameters: CMRParameters) -> dict[str, float]:
    """Convert concrete :class:`CMRParameters` back to a dict of Python floats."""
    return {name: float(value) for name, value in zip(PARAMETER_NAMES, parameters)}


def pack(params: CMRParameters):
    """Stack the 11 values into one float32 vector ``(11,)`` (one transfer into jit).

    NumPy in, NumPy out; JAX values (or tracers) are stacked with JAX, so
    gradients flow through.
    """
    if all(isinstance(v, (np.generic, np.ndarray)) for v in params):
        return np.array(params, dtype=np.float32)
    return jnp.stack([jnp.asarray(v, jnp.float32) for v in params])


def unpack(vector) -> CMRParameters:
    """Inverse of :func:`pack`: ``(11, ...)`` -> :class:`CMRParameters`."""
    return CMRParameters(*(vector[i] for i in range(len(PARAMETER_NAMES))))
