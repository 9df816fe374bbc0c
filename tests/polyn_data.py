"""Polyn, Norman & Kahana (2009) as the full model's tests read it.

A thin view of :func:`cmrlab.datasets.load_polyn2009` (the 1,262
experimental lists; the cache folder is ``CMRLAB_DATA_DIR``), loaded once per
test session.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from cmrlab.datasets import load_polyn2009


class Polyn2009(NamedTuple):
    recalls: np.ndarray      # int (1262, T): serial positions, -1 intrusion, repeats as the position, 0 padding
    study_items: np.ndarray  # int (1262, 24): 0-based word-pool indices
    sources: np.ndarray      # int (1262, 24): 0 size, 1 animacy
    list_type: np.ndarray    # int (1262,): 0 size, 1 animacy, 2 shift
    subject: np.ndarray      # int (1262,)
    similarity: np.ndarray   # (1297, 1297) LSA cosines as published
    list_length: int = 24

    def clean_recalls(self) -> np.ndarray:
        """The recall matrix as cmrlab's calls take it (they remove intrusions and repeats)."""
        return self.recalls


@functools.lru_cache(maxsize=1)
def load() -> Polyn2009:
    data = load_polyn2009()
    return Polyn2009(recalls=np.asarray(data.recalls), study_items=np.asarray(data.study_items),
                     sources=np.asarray(data.sources), list_type=np.asarray(data.list_type),
                     subject=np.asarray(data.subject), similarity=np.asarray(data.similarity))
