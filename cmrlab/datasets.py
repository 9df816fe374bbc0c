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


def _per_item(column, label: str, n: int, list_length: int, high: int | None) -> np.ndarray:
    """Check an ``(n, L)`` integer array of per-item codes; returns it as int32."""
    array = np.asarray(column)
    if array.shape != (n, list_length):
        raise ValueError(f"{label} must have shape ({n}, {list_length}) (one value per studied item "
                         f"of each list), got {array.shape}.")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{label} must be an integer array, got dtype {array.dtype}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{label} must be >= 0, found {array.min()}.")
    if high is not None and array.size and array.max() >= high:
        raise ValueError(f"{label} holds {array.max()}, outside the similarity matrix (0..{high - 1}).")
    return array.astype(np.int32)


@dataclass(frozen=True, eq=False)
class RecallDataset:
    """Free-recall lists of one list length.

    Every per-list array has one row per list, in the same order; the
    dataset-level ``similarity`` and ``words`` describe the word pool the
    lists were drawn from and are shared (not copied) by :meth:`select`.

    Attributes:
        recalls: int32 ``(n_lists, max_recalls)`` in the spec's encoding
            (``1..L`` serial positions, ``0`` padding, ``-1`` intrusions; a
            repeat is the repeated serial position).
        subject: int ``(n_lists,)`` subject id of each list.
        list_length: ``L``.
        presentations: int ``(n_lists, L)`` the study order as item numbers
            (``1..L`` in serial order where the source has none).
        condition: str ``(n_lists,)`` a condition label for each list.
        name: a label for the whole data set (used in plot legends).
        extra: other per-list columns of the source (e.g. ``session``), each
            with ``n_lists`` rows.
        study_items: optional int32 ``(n_lists, L)``: the word-pool index
            (0-based row of ``similarity``) of the item at each serial position.
        sources: optional int32 ``(n_lists, L)``: the source (e.g. encoding
            task) of each serial position, ``0..S-1``.
        times: optional float64 ``(n_lists, max_recalls)``: the time of each
            response (e.g. ms from the start of recall), aligned with
            ``recalls``; entries under ``0`` padding are not used.
        similarity: optional float ``(P, P)``: the pool's semantic similarity
            matrix, as the source publishes it.
        words: optional str ``(P,)``: the pool's words (``words[k]`` is row
            ``k`` of ``similarity``).
    """

    recalls: np.ndarray
    subject: np.ndarray
    list_length: int
    presentations: np.ndarray
    condition: np.ndarray
    name: str = ""
    extra: dict = field(default_factory=dict)
    study_items: np.ndarray | None = None
    sources: np.ndarray | None = None
    times: np.ndarray | None = None
    similarity: np.ndarray | None = None
    words: np.ndarray | None = None

    def __post_init__(self):
        recalls = check_recalls(self.recalls, self.list_length)
        n, L = recalls.shape[0], self.list_length
        object.__setattr__(self, "recalls", recalls)
        for label in ("subject", "condition"):
            column = np.asarray(getattr(self, label))
            if column.shape != (n,):
                raise ValueError(f"{label} must have shape ({n},) (one per list), got {column.shape}.")
            object.__setattr__(self, label, column)
        presentations = np.asarray(self.presentations)
        if presentations.shape != (n, L):
            raise ValueError(
                f"presentations must have shape ({n}, {L}), got {presentations.shape}."
            )
        object.__setattr__(self, "presentations", presentations)
        for key, column in self.extra.items():
            if np.shape(column)[:1] != (n,):
                raise ValueError(f"extra column {key!r} must have {n} rows, got shape {np.shape(column)}.")
        similarity, words = self.similarity, self.words
        if similarity is not None:
            similarity = np.asarray(similarity)
            if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
                raise ValueError(f"similarity must be a square (P, P) matrix, got shape {similarity.shape}.")
            if not np.issubdtype(similarity.dtype, np.number) or not np.isfinite(similarity).all():
                raise ValueError("similarity must hold finite numbers (no NaN or infinity).")
            object.__setattr__(self, "similarity", similarity)
        if words is not None:
            words = np.asarray(words)
            if similarity is not None and words.shape != (similarity.shape[0],):
                raise ValueError(f"words must have shape ({similarity.shape[0]},) (one per row of "
                                 f"similarity), got {words.shape}.")
            object.__setattr__(self, "words", words)
        pool = None if similarity is None else similarity.shape[0]
        for label, high in (("study_items", pool), ("sources", None)):
            column = getattr(self, label)
            if column is not None:
                object.__setattr__(self, label, _per_item(column, label, n, L, high))
        if self.times is not None:
            times = np.asarray(self.times)
            if times.shape != recalls.shape:
                raise ValueError(f"times must have the shape of recalls {recalls.shape} (one time per "
                                 f"response), got {times.shape}.")
            if not np.issubdtype(times.dtype, np.number) or not np.isfinite(times[recalls != 0]).all():
                raise ValueError("times must be finite numbers wherever recalls is not 0 padding.")
            object.__setattr__(self, "times", times.astype(np.float64))

    def __len__(self) -> int:
        return self.recalls.shape[0]

    def __repr__(self) -> str:
        return (f"RecallDataset({self.name!r}: {len(self)} lists of {self.list_length} items, "
                f"{len(np.unique(self.subject))} subjects)")

    @property
    def subjects(self) -> np.ndarray:
        """The distinct subject ids, sorted."""
        return np.unique(self.subject)

    @property
    def session(self) -> np.ndarray:
        """``(n_lists,)`` the session of each list (``extra["session"]``)."""
        return self._extra_column("session")

    @property
    def list_type(self) -> np.ndarray:
        """``(n_lists,)`` the list type code of each list (``extra["list_type"]``)."""
        return self._extra_column("list_type")

    def _extra_column(self, key: str) -> np.ndarray:
        if key not in self.extra:
            raise AttributeError(f"{self.name or 'this data set'} has no {key!r} column; "
                                 f"its extra columns are {sorted(self.extra)}.")
        return np.asarray(self.extra[key])

    def select(self, mask) -> "RecallDataset":
        """The lists where the boolean ``mask`` ``(n_lists,)`` is true.

        Per-list arrays are cut to those rows; ``similarity``, ``words`` and
        ``name`` are kept.
        """
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(self),):
            raise ValueError(f"mask must be a boolean array of shape ({len(self)},), got {mask.dtype} {mask.shape}.")

        def rows(column):
            return None if column is None else column[mask]

        return RecallDataset(
            recalls=self.recalls[mask], subject=self.subject[mask], list_length=self.list_length,
            presentations=self.presentations[mask], condition=self.condition[mask], name=self.name,
            extra={k: np.asarray(v)[mask] for k, v in self.extra.items()},
            study_items=rows(self.study_items), sources=rows(self.sources), times=rows(self.times),
            similarity=self.similarity, words=self.words,
        )

    def for_subject(self, subject) -> "RecallDataset":
        """The lists of one subject."""
        mask = self.subject == subject
        if not mask.any():
            raise ValueError(f"no lists of subject {subject!r}; subjects are {self.subjects.tolist()}.")
        return self.select(mask)

    def split(self, by: str = "condition") -> dict:
        """The lists grouped by a per-list column: ``{value: RecallDataset}``.

        Args:
            by: ``"subject"``, ``"condition"``, or a key of ``extra`` (e.g.
                ``"list_type"``, ``"session"``). Groups are in sorted order
                of their value; each keeps the lists' order.

        Example: the serial-position curve of each list type::

            {kind: cmrlab.spc(part.recalls, part.list_length)
             for kind, part in data.split("list_type").items()}
        """
        if by in ("subject", "condition"):
            column = getattr(self, by)
        elif by in self.extra:
            column = np.asarray(self.extra[by])
        else:
            raise ValueError(f"cannot split by {by!r}; choose 'subject', 'condition' or one of the "
                             f"extra columns {sorted(self.extra)}.")
        if column.ndim != 1:
            raise ValueError(f"cannot split by {by!r}: it holds more than one value per list.")
        return {value.item() if hasattr(value, "item") else value: self.select(column == value)
                for value in np.unique(column)}

    def per_subject(self, analysis) -> np.ndarray:
        """``analysis(lists_of_one_subject)`` for each subject, stacked in :attr:`subjects` order.

        ``analysis`` takes a :class:`RecallDataset` and returns a number or
        an array. The mean of subject means, as psifr reports a group's
        figure, is ``np.nanmean(data.per_subject(f), axis=0)`` (subjects
        with nothing to count give NaN and are left out). For example the
        source clustering of each subject::

            data.per_subject(lambda d: cmrlab.category_crp(d.recalls, d.sources, d.list_length))
        """
        return np.stack([np.asarray(analysis(part)) for part in self.split("subject").values()])

    def to_psifr(self):
        """psifr's long data frame: one row per study and per recall event.

        Columns ``subject``, ``list`` (1-based within subject), ``trial_type``
        (``"study"`` / ``"recall"``), ``position`` (serial or output position),
        ``item`` (the studied item number; intrusions get ``-1``) and
        ``condition``; with ``sources`` also ``source``, with ``study_items``
        also ``item_index`` (both on study rows, NaN on recall rows; merge
        them with ``psifr.fr.merge_free_recall(frame, study_keys=[...])``).
        Needs pandas.
        """
        import pandas as pd

        columns = ["subject", "list", "trial_type", "position", "item", "condition"]
        per_item = {key: getattr(self, attribute) for key, attribute in
                    (("source", "sources"), ("item_index", "study_items")) if getattr(self, attribute) is not None}
        rows = []
        list_counter: dict = {}
        for index in range(len(self)):
            subject = self.subject[index].item()
            list_counter[subject] = list_counter.get(subject, 0) + 1
            common = {"subject": subject, "list": list_counter[subject],
                      "condition": self.condition[index]}
            study = self.presentations[index]
            for position, item in enumerate(study, start=1):
                row = {**common, "trial_type": "study", "position": position, "item": int(item)}
                row.update({key: int(values[index, position - 1]) for key, values in per_item.items()})
                rows.append(row)
            for output, code in enumerate(self.recalls[index], start=1):
                if code == 0:
                    break
                item = int(study[code - 1]) if code > 0 else -1
                rows.append({**common, "trial_type": "recall", "position": output, "item": item})
        return pd.DataFrame(rows, columns=columns + list(per_item))

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


POLYN_LIST_TYPES: dict[int, str] = {0: "size", 1: "animacy", 2: "shift"}
"""Polyn et al. (2009) list type code -> condition label (0, 1 control lists; 2 task shift)."""

POLYN_TASKS: dict[int, str] = {0: "size", 1: "animacy"}
"""Polyn et al. (2009) encoding task code (``sources``) -> task."""


def decode_polyn_recalls(recalls, rec_itemnos, pres_itemnos) -> np.ndarray:
    """Turn the recall codes of Polyn et al. (2009) into the spec's recall matrix.

    The file codes a studied item by its serial position ``1..24``, an
    intrusion by ``-1``, a repeat by ``-2`` and padding by ``0``. A repeat
    becomes the serial position of the repeated item, found by matching its
    pool number (``rec_itemnos``) against the list's ``pres_itemnos``.

    Raises:
        ValueError: a code outside ``{-2, -1, 0, 1..L}``, a serial position
            whose pool number disagrees with ``rec_itemnos``, or a repeat
            whose item was not studied in that list (nothing is dropped
            silently: every non-zero code maps to a response).
    """
    recalls = np.asarray(recalls, np.int64)
    rec_itemnos = np.asarray(rec_itemnos, np.int64)
    pres_itemnos = np.asarray(pres_itemnos, np.int64)
    n, width = recalls.shape
    L = pres_itemnos.shape[1]
    if rec_itemnos.shape != recalls.shape or pres_itemnos.shape[0] != n:
        raise ValueError(f"recalls {recalls.shape}, rec_itemnos {rec_itemnos.shape} and pres_itemnos "
                         f"{pres_itemnos.shape} must describe the same lists.")
    unknown = (recalls < -2) | (recalls > L)
    if unknown.any():
        row, col = np.argwhere(unknown)[0]
        raise ValueError(f"list {row}, response {col}: recall code {recalls[row, col]} is not -2, -1, 0 or 1..{L}.")
    out = recalls.copy()
    studied = recalls > 0
    pool_of_position = np.take_along_axis(pres_itemnos, np.where(studied, recalls - 1, 0), axis=1)
    mismatch = studied & (pool_of_position != rec_itemnos)
    if mismatch.any():
        row, col = np.argwhere(mismatch)[0]
        raise ValueError(f"list {row}, response {col}: serial position {recalls[row, col]} is pool item "
                         f"{pool_of_position[row, col]}, but rec_itemnos says {rec_itemnos[row, col]}.")
    for row, col in np.argwhere(recalls == -2):
        position = np.flatnonzero(pres_itemnos[row] == rec_itemnos[row, col])
        if position.size != 1:
            raise ValueError(f"list {row}, response {col}: repeat (-2) of pool item {rec_itemnos[row, col]}, "
                             f"which was not studied once in that list.")
        out[row, col] = position[0] + 1
    return out.astype(np.int32)


def read_polyn2009(behavior_path, stimuli_path, include_practice: bool = False) -> RecallDataset:
    """Read ``behavior.mat`` and ``stimuli.mat`` of Polyn et al. (2009); see :func:`load_polyn2009`."""
    from scipy.io import loadmat

    data = loadmat(behavior_path)["data"][0, 0]
    full, parts = data["full"][0, 0], {name: data[name][0, 0] for name in ("co", "sh")}
    L = int(np.asarray(full["listLength"]).ravel()[0])
    n = full["recalls"].shape[0]

    def key(table, row):
        return (int(table["subject"][row, 0]), int(table["session"][row, 0]),
                tuple(table["pres_itemnos"][row].tolist()))

    # The experimental lists are the rows of data.co and data.sh; find each in data.full.
    row_of = {key(full, row): row for row in range(n)}
    experimental = np.zeros(n, bool)
    for name, table in parts.items():
        for row in range(table["recalls"].shape[0]):
            match = row_of.get(key(table, row))
            if match is None or experimental[match]:
                raise ValueError(f"{behavior_path}: data.{name} row {row} is not one list of data.full.")
            for field_name in ("recalls", "times", "pres_task", "listType"):
                a, b = np.asarray(full[field_name][match]), np.asarray(table[field_name][row])
                width = min(a.size, b.size)
                if not (np.array_equal(a[:width], b[:width]) and not a[width:].any() and not b[width:].any()):
                    raise ValueError(f"{behavior_path}: data.{name} row {row} differs from data.full row "
                                     f"{match} in {field_name}.")
            experimental[match] = True
    keep = np.ones(n, bool) if include_practice else experimental

    recalls = decode_polyn_recalls(full["recalls"], full["rec_itemnos"], full["pres_itemnos"])[keep]
    pres_itemnos = full["pres_itemnos"].astype(np.int32)[keep]
    list_type = full["listType"][:, 0].astype(np.int32)[keep]
    stimuli = loadmat(stimuli_path)
    words = np.array([str(np.asarray(cell).ravel()[0]) for cell in stimuli["tfr_wp"].ravel()])
    return RecallDataset(
        recalls=recalls, subject=full["subject"][:, 0].astype(np.int32)[keep], list_length=L,
        presentations=pres_itemnos, condition=np.array([POLYN_LIST_TYPES[t] for t in list_type]),
        name="Polyn et al. (2009)",
        extra={
            "session": full["session"][:, 0].astype(np.int32)[keep],
            "list_type": list_type,
            "practice": ~experimental[keep],
            "rec_itemnos": full["rec_itemnos"].astype(np.int32)[keep],
            "intrusions": full["intrusions"].astype(np.int32)[keep],
            "react_time": full["react_time"].astype(np.int32)[keep],
        },
        study_items=pres_itemnos - 1, sources=full["pres_task"].astype(np.int32)[keep],
        times=full["times"].astype(np.float64)[keep], similarity=stimuli["sem_mat"], words=words,
    )


def load_polyn2009(include_practice: bool = False) -> RecallDataset:
    """Polyn, Norman & Kahana (2009): free recall of 24-word lists studied with encoding tasks.

    45 subjects judged each word's size or animacy while studying it; control
    lists use one task, task-shift lists switch between trains of 2 to 6
    items. The 1,262 experimental lists (631 control: 312 size, 319 animacy;
    631 shift), in the file's ``data.full`` order; ``include_practice=True``
    adds the 132 practice lists (all 1,394; ``extra["practice"]`` marks them).

    Returns:
        A :class:`RecallDataset` with ``list_length`` 24 and

        - ``recalls`` ``(n, 26)``: serial positions ``1..24``, ``-1``
          intrusions, repeats as the repeated serial position, ``0`` padding;
        - ``study_items`` ``(n, 24)``: 0-based word-pool indices
          (``presentations`` holds the file's 1-based ``pres_itemnos``);
        - ``sources`` ``(n, 24)``: the encoding task of each item (0 size,
          1 animacy; :data:`POLYN_TASKS`);
        - ``list_type`` ``(n,)``: 0 size, 1 animacy, 2 shift (``condition``
          holds the same as ``"size"``, ``"animacy"``, ``"shift"``);
        - ``subject``, ``session`` ``(n,)``;
        - ``times`` ``(n, 26)``: the time of each response in ms from the
          start of the recall period;
        - ``similarity`` ``(1297, 1297)``: the LSA cosines of the word pool as
          published (diagonal and two asymmetric columns untouched: the model
          symmetrizes and zeroes the diagonal itself); ``words`` ``(1297,)``;
        - ``extra``: ``session``, ``list_type``, ``practice``, and the file's
          ``rec_itemnos``, ``intrusions`` (``-1`` extra-list, ``k`` from
          ``k`` lists back) and ``react_time`` (encoding-task response times).
    """
    return read_polyn2009(fetch("polyn2009/behavior.mat"), fetch("polyn2009/stimuli.mat"),
                          include_practice=include_practice)
