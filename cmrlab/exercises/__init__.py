"""Exercises that check themselves: students write the pieces of CMR, cmrlab checks them.

Each ``check_*`` takes the student's function, runs it against cmrlab's own
implementation on edge cases and then random cases from a fixed seed, and
returns a :class:`CheckResult`: ``.passed``, and (its ``str`` and notebook
display) the first failing case, what was expected and what came back, and
a hint naming the likely mistake. A function that raises, runs past the
time limit, changes its inputs, or returns the wrong type, shape or NaN
gets a message saying so.

==================================  ==================================================================
check                               the student writes
==================================  ==================================================================
:func:`check_read_murdock`          ``fn(path, list_length) -> recalls``, Murdock's raw text format
:func:`check_spc`                   ``fn(recalls, list_length) -> (L,)``, the serial-position curve
:func:`check_pfr`                   ``fn(recalls, list_length) -> (L,)``, probability of first recall
:func:`check_lag_crp`               ``fn(recalls, list_length) -> (2L - 1,)``, the lag-CRP
:func:`check_context_update`        ``fn(context, context_input, drift_rate) -> context``
:func:`check_study`                 ``fn(list_length, parameters) -> (context, mfc, mcf)``
:func:`check_outcome_probabilities` ``fn(context, mcf, recallable, recall_count, parameters) -> (L + 1,)``
:func:`check_list_log_likelihood`   ``fn(recalls, list_length, parameters) -> float``, one list
==================================  ==================================================================

:func:`simulate_own` and :func:`log_likelihood_own` run CMR with the
student's study phase, context update and retrieval rule plugged in
("build your own CMR"). The parameter-guessing checks of notebook 03
(:func:`check_no_primacy`, :func:`check_no_contiguity`,
:func:`check_recall_count`) return a message string.
"""

from cmrlab.exercises.analyses import check_lag_crp, check_pfr, check_spc
from cmrlab.exercises.context import check_context_update
from cmrlab.exercises.guessing import check_no_contiguity, check_no_primacy, check_recall_count
from cmrlab.exercises.harness import CheckResult
from cmrlab.exercises.likelihood import check_list_log_likelihood
from cmrlab.exercises.murdock import check_read_murdock
from cmrlab.exercises.own_model import log_likelihood_own, simulate_own
from cmrlab.exercises.retrieval import check_outcome_probabilities
from cmrlab.exercises.study import check_study

__all__ = [
    "CheckResult",
    "check_context_update",
    "check_lag_crp",
    "check_list_log_likelihood",
    "check_no_contiguity",
    "check_no_primacy",
    "check_outcome_probabilities",
    "check_pfr",
    "check_read_murdock",
    "check_recall_count",
    "check_spc",
    "check_study",
    "log_likelihood_own",
    "simulate_own",
]
