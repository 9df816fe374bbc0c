"""cmrlab: learn, teach and explore the Context Maintenance and Retrieval model.

The table of contents of the package; every public name is imported here.
Data flows one way: parameters -> model -> simulation / likelihood ->
analysis -> fitting -> plotting -> widgets.
"""

from cmrlab import datasets, neural
from cmrlab.fitting import FitResult, fit, fit_subjects, load_fit, save_fit
from cmrlab.analysis import Summary, lag_crp, mean_recalls, pfr, pnr, spc, summarize, temporal_factor
from cmrlab.likelihood import log_likelihood, log_likelihood_function
from cmrlab.model import CMR, CMRState
from cmrlab.parameters import (
    DEFAULT_PARAMETERS,
    PARAMETER_NAMES,
    PARAMETERS,
    PRESETS,
    CMRParameters,
    Parameter,
)
from cmrlab.recalls import check_recalls, clean_recalls
from cmrlab.simulation import simulate

__version__ = "0.1.0"

__all__ = [
    "CMR",
    "CMRParameters",
    "CMRState",
    "DEFAULT_PARAMETERS",
    "PARAMETERS",
    "PARAMETER_NAMES",
    "PRESETS",
    "Parameter",
    "check_recalls",
    "clean_recalls",
    "datasets",
    "fit",
    "fit_subjects",
    "FitResult",
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
