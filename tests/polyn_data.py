"""Polyn, Norman & Kahana (2009) read straight from the MATLAB files, for tests.

A small stand-in for ``cmrlab.datasets.load_polyn2009()`` (written in
parallel): the 1,262 experimental lists of ``data.full`` in file order
(practice lists dropped: the rows of ``full`` that are not in ``co`` or
``sh``), with recalls as recorded (``-1`` intrusions, ``-2`` repeats, ``0``
padding), 0-based pool indices, the tasks, and the published LSA matrix.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Polyn2009(NamedTuple):
    recalls: np.ndarray      # int (1262, 26): serial positions, -1 intrusion, -2 repeat, 0 padding
    study_items: np.ndarray  # int (1262, 24): 0-based word-pool indices
    sources: np.ndarray      # int (1262, 24): 0 size, 1 animacy
    list_type: np.ndarray    # int (1262,): 0 size, 1 animacy, 2 shift
    subject: np.ndarray      # int (1262,)
    similarity: np.ndarray   # float64 (1297, 1297) LSA cosines as published
    list_length: int = 24

    def clean_recalls(self) -> np.ndarray:
        """The recall matrix with -2 repeats marked as intrusions (-1), as cmrlab's recall code allows."""
        return np.where(self.recalls == -2, -1, self.recalls)


def data_dir() -> Path:
    return Path(os.environ.get("CMRLAB_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


@functools.lru_cache(maxsize=1)
def load() -> Polyn2009:
    from scipy.io import loadmat

    folder = data_dir() / "polyn2009"
    data = loadmat(folder / "behavior.mat")["data"][0, 0]
    full, control, shift = (data[name][0, 0] for name in ("full", "co", "sh"))

    def keys(struct):
        return [(int(s), int(e)) + tuple(items) for s, e, items in
                zip(struct["subject"][:, 0], struct["session"][:, 0], struct["pres_itemnos"])]

    experimental = set(keys(control)) | set(keys(shift))
    rows = np.array([k in experimental for k in keys(full)])
    assert rows.sum() == 1262
    similarity = loadmat(folder / "stimuli.mat")["sem_mat"]
    return Polyn2009(
        recalls=full["recalls"][rows].astype(np.int64),
        study_items=full["pres_itemnos"][rows].astype(np.int64) - 1,
        sources=full["pres_task"][rows].astype(np.int64),
        list_type=full["listType"][rows, 0].astype(np.int64),
        subject=full["subject"][rows, 0].astype(np.int64),
        similarity=similarity,
    )
