"""cmrlab: learn, teach and explore the Context Maintenance and Retrieval model.

The table of contents of the package; every public name is imported here.
Data flows one way: parameters -> model -> simulation / likelihood ->
analysis -> fitting -> plotting -> widgets. The base model is described in
``docs/model.md``; the full model with source and semantic context (Polyn,
Norman & Kahana, 2009) in ``docs/source_model.md``.
"""

from cmrlab import compilation_cache

compilation_cache.enable()  # before anything compiles: a second kernel starts warm

from cmrlab import datasets, exercises  # noqa: E402
from cmrlab.fitting import FitResult, FitWarning, fit, fit_subjects, load_fit, save_fit
from cmrlab.analysis import Summary, lag_crp, mean_recalls, pfr, pnr, spc, summarize, temporal_factor
from cmrlab.likelihood import log_likelihood, log_likelihood_function
from cmrlab.model import CMR, CMRState
from cmrlab.organization import TrainLagCRP, category_crp, distance_rank, lag_crp_by_train
from cmrlab.parameters import (
    ALL_PARAMETER_NAMES,
    ALL_PARAMETERS,
    DEFAULT_PARAMETERS,
    PARAMETER_NAMES,
    PARAMETERS,
    PRESETS,
    PUBLISHED_SOURCE_PARAMETERS,
    SOURCE_PARAMETERS,
    SOURCE_PRESETS,
    CMRParameters,
    FullParameters,
    Parameter,
    bounds,
)
from cmrlab.recall_times import irt
from cmrlab.recalls import check_recalls, clean_recalls
from cmrlab.simulation import simulate
from cmrlab.source_model import SourceState

__version__ = "0.1.0"


def __getattr__(name):
    # cmrlab.neural (the transformer, built on equinox) is imported on first use
    if name == "neural":
        import importlib

        return importlib.import_module("cmrlab.neural")
    raise AttributeError(f"module 'cmrlab' has no attribute {name!r}")

__all__ = [
    "ALL_PARAMETERS",
    "ALL_PARAMETER_NAMES",
    "CMR",
    "CMRParameters",
    "CMRState",
    "DEFAULT_PARAMETERS",
    "FullParameters",
    "PARAMETERS",
    "PARAMETER_NAMES",
    "PRESETS",
    "PUBLISHED_SOURCE_PARAMETERS",
    "Parameter",
    "TrainLagCRP",
    "category_crp",
    "SOURCE_PARAMETERS",
    "SOURCE_PRESETS",
    "SourceState",
    "bounds",
    "check_recalls",
    "clean_recalls",
    "datasets",
    "distance_rank",
    "exercises",
    "fit",
    "fit_subjects",
    "FitResult",
    "FitWarning",
    "irt",
    "lag_crp_by_train",
    "load_fit",
    "save_fit",
    "lag_crp",
    "log_likelihood",
    "log_likelihood_function",
    "mean_recalls",
    "neural",
    "pfr",
    "pnr",
    "simulate",
    "spc",
    "summarize",
    "Summary",
    "temporal_factor",
]
