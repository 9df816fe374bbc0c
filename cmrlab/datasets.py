"""Real free-recall data: a small dataset type, loaders, and a verified cache.

Files live in a cache folder laid out like this::

    murdock1962/fr20-1.txt
    healey_kahana2014/HealeyKahana2014.h5
    polyn2009/behavior.mat

The folder is ``$CMRLAB_DATA_DIR`` if set, else a per-user cache
(``~/.cache/cmrlab`` on Linux). A missing file is downloaded from its public
address (or from ``$CMRLAB_DATA_MIRROR``/<relative path> if that is set) by
`pooch <https://www.fatiando.org/pooch>`_, which checks its sha256, retries
a failed download, shows a progress bar and moves the file into place only
once it is complete and verified. A cached file whose checksum is wrong is
downloaded again; if that fails too, the error says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cmrlab.recalls import check_recalls

_MURDOCK_URL = (
    "https://raw.githubusercontent.com/ContextLab/memory-models-course/"
    "6b9549b01d237333a148d68fc5f0efebec475da6/content/assignments/"
    "Assignment_2%3ASearch_of_Associative_Memory_Model/Murd62%20data/"
)
_HK_URL = (
    "https://raw.githubusercontent.com/githubpsyche/cru_to_cmr/"
    "bbadce4d97bc694c54bae9be9c8b6008c8372aab/data/HealeyKahana2014.h5"
)
_POLYN_URL = (
    "https://raw.githubusercontent.com/ContextLab/memory-models-course/"
    "2db5e8450efc59ba5f7bff3fd2231e6d1adcc342/content/assignments/"
    "Assignment_3%3AContext_Maintenance_and_Retrieval_Model/PolyEtal09%20data/"
)


@dataclass(frozen=True)
class RemoteFile:
    """A data file: where it lives in the cache, where it comes from, its sha256."""

    path: str
    url: str
    sha256: str


REGISTRY: dict[str, RemoteFile] = {
    f.path: f
    for f in [
        RemoteFile("murdock1962/fr10-2.txt", _MURDOCK_URL + "fr10-2.txt",
                   "fec7a86b6ffe00900856c34db7fd2dee4f5e907eb5110c09a509577c785a3ed9"),
        RemoteFile("murdock1962/fr15-2.txt", _MURDOCK_URL + "fr15-2.txt",
                   "5386b18176d99ac9e5aeec9c5bced4a15298be8095c2612d5a3beaf8825df7f9"),
        RemoteFile("murdock1962/fr20-1.txt", _MURDOCK_URL + "fr20-1.txt",
                   "47fa265e049d65f58d61219b85ae8418bdfd0341aaf568b34db85e5e1557216c"),
        RemoteFile("murdock1962/fr20-2.txt", _MURDOCK_URL + "fr20-2.txt",
                   "4362f7f2e4dd21dd46a6e380606f64268a349b6d6fc30448cd7788d31b209e35"),
        RemoteFile("murdock1962/fr30-1.txt", _MURDOCK_URL + "fr30-1.txt",
                   "cbeaa4fbde09f388bcb443dcbc7588137496348753c6e4dd9a69b2aaa5d0e8b6"),
        RemoteFile("murdock1962/fr40-1.txt", _MURDOCK_URL + "fr40-1.txt",
                   "96fec8a672e49ca9e5cc53e33f6fcd3d1095e4d47148a1635ee000fe4ffdba87"),
        RemoteFile("healey_kahana2014/HealeyKahana2014.h5", _HK_URL,
                   "a98d8035fb3a58c88254c1771a73780110de8694a40f7d0b09221f8553fc5074"),
        RemoteFile("polyn2009/behavior.mat", _POLYN_URL + "behavior.mat",
                   "2cef1f8fd86613dd08cfcd9a78f5b528c9ede73674d9171da9a79635bfa2e8a3"),
        RemoteFile("polyn2009/stimuli.mat", _POLYN_URL + "stimuli.mat",
                   "3605252e3794e0cd9e9549a79a70a6f90fd6c722d9a1978189baf73388f2e759"),
    ]
}

MURDOCK_CONDITIONS: dict[str, tuple[str, int]] = {
    "LL10-2s": ("fr10-2.txt", 10),
    "LL15-2s": ("fr15-2.txt", 15),
    "LL20-1s": ("fr20-1.txt", 20),
    "LL20-2s": ("fr20-2.txt", 20),
    "LL30-1s": ("fr30-1.txt", 30),
    "LL40-1s": ("fr40-1.txt", 40),
}
"""Murdock (1962) condition label -> (file, list length)."""


# ----------------------------------------------------------------------------- cache


def data_dir() -> Path:
    """The cache folder: ``$CMRLAB_DATA_DIR`` if set, else a per-user cache."""
    configured = os.environ.get("CMRLAB_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cmrlab"


def _downloader(remote: RemoteFile):
    """A pooch manager for one file, honouring ``$CMRLAB_DATA_MIRROR`` (read at each call)."""
    import pooch

    mirror = os.environ.get("CMRLAB_DATA_MIRROR")
    return pooch.create(
        path=data_dir(), base_url=f"{mirror.rstrip('/')}/" if mirror else "",
        registry={remote.path: f"sha256:{remote.sha256}"},
        urls={} if mirror else {remote.path: remote.url},
        retry_if_failed=2,
    )


def fetch(path: str) -> Path:
    """Return the local path of a registered data file, downloading it if missing.

    Args:
        path: the file's path inside the cache, e.g. ``"murdock1962/fr20-1.txt"``.

    Raises:
        KeyError: ``path`` is not a registered data file.
        ValueError: the downloaded file's sha256 is wrong (nothing is written).
        OSError: the file is missing (or corrupt) and could not be downloaded;
            the message says which file to put where.
    """
    if path not in REGISTRY:
        raise KeyError(f"unknown data file {path!r}; known files: {sorted(REGISTRY)}")
    remote = REGISTRY[path]
    target = data_dir() / remote.path
    manager = _downloader(remote)
    import pooch

    try:
        return Path(manager.fetch(remote.path, downloader=pooch.HTTPDownloader(progressbar=True, timeout=60)))
    except ValueError as error:
        if "hash" not in str(error):
            raise
        raise ValueError(
            f"downloaded {manager.get_url(remote.path)} has the wrong sha256 (expected "
            f"{remote.sha256}); refusing to use it (nothing was written to the cache)."
        ) from error
    except OSError as error:
        state = "is corrupt (wrong sha256)" if target.exists() else "is missing"
        raise OSError(
            f"{target} {state} and could not be downloaded from {manager.get_url(remote.path)} "
            f"({error}). Without network, copy the file {remote.path} (sha256 {remote.sha256}) "
            f"to {target}, or set CMRLAB_DATA_DIR to a folder that holds {remote.path}."
        ) from error


# ----------------------------------------------------------------------------- dataset


@dataclass(frozen=True, eq=False)
class RecallDataset:
    """Free-recall lists of one list length.

    Attributes:
        recalls: int32 ``(n_lists, max_recalls)`` in the spec's encoding
            (``1..L`` serial positions, ``0`` padding, ``-1`` intrusions).
        subject: int ``(n_lists,)`` subject id of each list.
        list_length: ``L``.
        presentations: int ``(n_lists, L)`` the study order as item numbers
            (``1..L`` in serial order where the source has none).
        condition: str ``(n_lists,)`` a condition label for each list.
        name: a label for the whole data set (used in plot legends).
    """

    recalls: np.ndarray
    subject: np.ndarray
    list_length: int
    presentations: np.ndarray
    condition: np.ndarray
    name: str = ""
    extra: dict = field(default_factory=dict)
    """Other per-list columns of the source (e.g. ``session``)."""

    def __post_init__(self):
        recalls = check_recalls(self.recalls, self.list_length)
        n = recalls.shape[0]
        object.__setattr__(self, "recalls", recalls)
        for label in ("subject", "condition"):
            column = np.asarray(getattr(self, label))
            if column.shape != (n,):
                raise ValueError(f"{label} must have shape ({n},) (one per list), got {column.shape}.")
            object.__setattr__(self, label, column)
        presentations = np.asarray(self.presentations)
        if presentations.shape != (n, self.list_length):
            raise ValueError(
                f"presentations must have shape ({n}, {self.list_length}), got {presentations.shape}."
            )
        object.__setattr__(self, "presentations", presentations)
        for key, column in self.extra.items():
            if np.shape(column)[:1] != (n,):
                raise ValueError(f"extra column {key!r} must have {n} rows, got shape {np.shape(column)}.")

    def __len__(self) -> int:
        return self.recalls.shape[0]

    def __repr__(self) -> str:
        return (f"RecallDataset({self.name!r}: {len(self)} lists of {self.list_length} items, "
                f"{len(np.unique(self.subject))} subjects)")

    @property
    def subjects(self) -> np.ndarray:
        """The distinct subject ids, sorted."""
        return np.unique(self.subject)

    def select(self, mask) -> "RecallDataset":
        """The lists where the boolean ``mask`` ``(n_lists,)`` is true."""
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(self),):
            raise ValueError(f"mask must be a boolean array of shape ({len(self)},), got {mask.dtype} {mask.shape}.")
        return RecallDataset(
            recalls=self.recalls[mask], subject=self.subject[mask], list_length=self.list_length,
            presentations=self.presentations[mask], condition=self.condition[mask], name=self.name,
            extra={k: np.asarray(v)[mask] for k, v in self.extra.items()},
        )

    def for_subject(self, subject) -> "RecallDataset":
        """The lists of one subject."""
        mask = self.subject == subject
        if not mask.any():
            raise ValueError(f"no lists of subject {subject!r}; subjects are {self.subjects.tolist()}.")
        return self.select(mask)

    def to_psifr(self):
        """psifr's long data frame: one row per study and per recall event.

        Columns ``subject``, ``list`` (1-based within subject), ``trial_type``
        (``"study"`` / ``"recall"``), ``position`` (serial or output position),
        ``item`` (the studied item number; intrusions get ``-1``) and
        ``condition``. Needs pandas.
        """
        import pandas as pd

        rows = []
        list_counter: dict = {}
        for index in range(len(self)):
            subject = self.subject[index].item()
            list_counter[subject] = list_counter.get(subject, 0) + 1
            common = {"subject": subject, "list": list_counter[subject],
                      "condition": self.condition[index]}
            study = self.presentations[index]
            for position, item in enumerate(study, start=1):
                rows.append({**common, "trial_type": "study", "position": position, "item": int(item)})
            for output, code in enumerate(self.recalls[index], start=1):
                if code == 0:
                    break
                item = int(study[code - 1]) if code > 0 else -1
                rows.append({**common, "trial_type": "recall", "position": output, "item": item})
        return pd.DataFrame(rows, columns=["subject", "list", "trial_type", "position", "item", "condition"])

    @classmethod
    def from_psifr(cls, frame, name: str = "") -> "RecallDataset":
        """Build a dataset from psifr's long data frame (see :meth:`to_psifr`).

        Every list must study the same number of items. A recalled item that
        was not studied in that list is an intrusion (``-1``).
        """
        required = {"subject", "list", "trial_type", "position", "item"}
        missing = required - set(frame.columns)
        if missing:
            raise ValueError(f"psifr frame lacks column(s) {sorted(missing)}; it needs {sorted(required)}.")
        unknown = set(frame["trial_type"]) - {"study", "recall"}
        if unknown:
            raise ValueError(f"trial_type must be 'study' or 'recall', found {sorted(unknown)}.")
        subjects, presentations, recall_rows, conditions = [], [], [], []
        lengths = set()
        for (subject, _list), events in frame.groupby(["subject", "list"], sort=False):
            study = events[events["trial_type"] == "study"].sort_values("position")
            recall = events[events["trial_type"] == "recall"].sort_values("position")
            items = study["item"].tolist()
            lengths.add(len(items))
            lookup = {item: position for position, item in enumerate(items, start=1)}
            presentations.append(np.arange(1, len(items) + 1))
            recall_rows.append([lookup.get(item, -1) for item in recall["item"]])
            subjects.append(subject)
            conditions.append(events["condition"].iloc[0] if "condition" in events else name)
        if len(lengths) != 1:
            raise ValueError(f"all lists must have the same length, found lengths {sorted(lengths)}.")
        list_length = lengths.pop()
        width = max([len(r) for r in recall_rows] + [1])
        recalls = np.zeros((len(recall_rows), width), np.int32)
        for row, codes in enumerate(recall_rows):
            recalls[row, : len(codes)] = codes
        return cls(recalls=recalls, subject=np.asarray(subjects), list_length=list_length,
                   presentations=np.asarray(presentations), condition=np.asarray(conditions, dtype=str),
                   name=name)

    @classmethod
    def from_hdf5(cls, path, name: str = "") -> "RecallDataset":
        """Read the MATLAB HDF5 layout of ``HealeyKahana2014.h5``.

        Arrays in group ``/data`` are stored transposed: ``subject``,
        ``listLength``, ``pres_itemnos``, ``recalls`` are required;
        ``listtype`` and ``session`` are kept when present.
        """
        import h5py

        with h5py.File(path, "r") as handle:
            if "data" not in handle:
                raise ValueError(f"{path} has no /data group; expected the MATLAB layout of HealeyKahana2014.h5.")
            group = handle["data"]
            missing = [k for k in ("subject", "listLength", "pres_itemnos", "recalls") if k not in group]
            if missing:
                raise ValueError(f"{path}: /data lacks {missing}.")
            read = {key: group[key][()].T for key in group}
        lengths = np.unique(read["listLength"])
        if lengths.size != 1:
            raise ValueError(f"{path}: lists of several lengths {lengths.tolist()}; select one length first.")
        list_length = int(lengths[0])
        recalls = read["recalls"].astype(np.int64)
        recalls = np.where((recalls < 0) | (recalls > list_length), -1, recalls).astype(np.int32)
        list_type = read.get("listtype")
        if list_type is not None:
            list_type = list_type.ravel().astype(int)
            condition = np.where(list_type == -1, "no task", np.char.add("task ", list_type.astype(str)))
        else:
            condition = np.full(recalls.shape[0], name)
        extra = {k: read[k].ravel() for k in ("listtype", "session") if k in read}
        return cls(recalls=recalls, subject=read["subject"].ravel().astype(int), list_length=list_length,
                   presentations=read["pres_itemnos"].astype(np.int32), condition=condition,
                   name=name, extra=extra)


# ----------------------------------------------------------------------------- loaders


def read_murdock_file(path, list_length: int, n_lists: int = 1200, lists_per_subject: int = 80,
                      condition: str = "") -> RecallDataset:
    """Parse one Murdock (1962) text file: one list per line, recalls in output order.

    Codes outside ``1..L`` (``88`` and a few others) become ``-1``. A final
    line holding only ``0`` (the stray last line of ``fr10-2.txt``) is not a
    list and is not read; any other line count than ``n_lists`` is an error.

    Raises:
        ValueError: a token is not an integer (naming file and line), or the
            file does not hold ``n_lists`` lists.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    if len(lines) == n_lists + 1 and lines[-1].strip() == "0":
        lines = lines[:-1]
    if len(lines) != n_lists:
        raise ValueError(f"{path}: expected {n_lists} lists (one per line), found {len(lines)} lines.")
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append([int(token) for token in line.split()])
        except ValueError:
            raise ValueError(
                f"{path}, line {number}: {line.strip()!r} is not a list of whole numbers "
                "separated by spaces (recalled serial positions in output order)."
            ) from None
    width = max(max(len(r) for r in rows), 1)
    recalls = np.zeros((n_lists, width), np.int32)
    for index, codes in enumerate(rows):
        codes = np.asarray(codes, np.int32)
        recalls[index, : codes.size] = np.where((codes >= 1) & (codes <= list_length), codes, -1)
    return RecallDataset(
        recalls=recalls, subject=np.arange(n_lists) // lists_per_subject + 1, list_length=list_length,
        presentations=np.tile(np.arange(1, list_length + 1, dtype=np.int32), (n_lists, 1)),
        condition=np.full(n_lists, condition), name=f"Murdock (1962) {condition}",
    )


def load_murdock1962(condition: str) -> RecallDataset:
    """One condition of Murdock (1962): 1,200 lists, subjects 1..15, 80 lists each.

    Args:
        condition: one of ``"LL10-2s"``, ``"LL15-2s"``, ``"LL20-1s"``,
            ``"LL20-2s"``, ``"LL30-1s"``, ``"LL40-1s"`` (list length and
            presentation rate).
    """
    if condition not in MURDOCK_CONDITIONS:
        raise ValueError(f"unknown Murdock (1962) condition {condition!r}; choose one of {list(MURDOCK_CONDITIONS)}.")
    filename, list_length = MURDOCK_CONDITIONS[condition]
    return read_murdock_file(fetch(f"murdock1962/{filename}"), list_length, condition=condition)


def load_healey_kahana2014(no_task_only: bool = False) -> RecallDataset:
    """Healey & Kahana (2014), PEERS experiment 1: 126 subjects, 112 lists of 16 words each.

    Args:
        no_task_only: keep only the 3,528 lists studied without an encoding
            task (``listtype == -1``, condition ``"no task"``), the usual
            fitting target for base CMR.
    """
    data = RecallDataset.from_hdf5(fetch("healey_kahana2014/HealeyKahana2014.h5"),
                                   name="Healey & Kahana (2014)")
    return data.select(data.condition == "no task") if no_task_only else data
