"""cmrlab.neural: a next-recall transformer beside CMR, and two baselines.

A small causal transformer (equinox layers, trained with optax's Adam) reads
a list's study events and the recalls so far and gives the probability of
each outcome: stop, or an item not yet recalled, the outcome space of CMR's
``outcome_probabilities``. Its log-likelihoods use ``cmrlab.log_likelihood``'s
conventions, so the two compare directly.

Files, one concept each:

    network.py        the transformer (equinox layers wired together)
    encoding.py       recall matrices as the network reads them
    next_recall.py    NextRecallModel: log_likelihood, simulate, attention
    training.py       train_next_recall: one jitted Adam step, early stopping
    serialization.py  save and load one file
    baselines.py      serial-position and lag-CRP Markov-chain baselines
    comparison.py     the held-out comparison's helpers and saved results
    attention.py      attention after a recall, next to CMR's retrieved context
"""

from cmrlab.neural import attention, comparison
from cmrlab.neural.baselines import LagCRPBaseline, SerialPositionBaseline
from cmrlab.neural.encoding import EncodedLists, encode_recalls
from cmrlab.neural.network import NetworkConfig, NextRecallNetwork
from cmrlab.neural.next_recall import NextRecallModel, TrainingRecord
from cmrlab.neural.serialization import load_next_recall, save_next_recall
from cmrlab.neural.training import TrainSettings, train_next_recall

__all__ = [
    "EncodedLists",
    "LagCRPBaseline",
    "NetworkConfig",
    "NextRecallModel",
    "NextRecallNetwork",
    "SerialPositionBaseline",
    "TrainSettings",
    "TrainingRecord",
    "attention",
    "comparison",
    "encode_recalls",
    "load_next_recall",
    "save_next_recall",
    "train_next_recall",
]
