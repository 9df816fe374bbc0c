import functools
import hashlib
import http.server
import shutil
import threading

import numpy as np
import pytest

import cmrlab
from cmrlab import datasets
from cmrlab.datasets import MURDOCK_CONDITIONS, RecallDataset, load_healey_kahana2014, load_murdock1962

SHARED = datasets.data_dir()  # the shared copies in CI (see conftest.py)


@pytest.mark.parametrize("condition", list(MURDOCK_CONDITIONS))
def test_murdock_conditions(condition):
    data = load_murdock1962(condition)
    L = MURDOCK_CONDITIONS[condition][1]
    assert len(data) == 1200 and data.list_length == L
    np.testing.assert_array_equal(np.unique(data.subject), np.arange(1, 16))
    assert (np.bincount(data.subject)[1:] == 80).all()
    assert data.recalls.min() >= -1 and data.recalls.max() <= L
    assert (data.recalls == -1).any(), "88 and other out-of-range codes are intrusions"
    np.testing.assert_array_equal(data.presentations[0], np.arange(1, L + 1))
    assert set(data.condition) == {condition}


def test_murdock_codes_are_read_line_by_line():
    data = load_murdock1962("LL20-1s")
    # the first lines of fr20-1.txt
    np.testing.assert_array_equal(data.recalls[0, :11], [20, 19, 13, 18, 1, 9, 2, 17, 16, -1, 0])
    np.testing.assert_array_equal(data.recalls[4, :9], [18, 19, 20, 17, 12, 11, 13, -1, 0])


def test_out_of_range_codes_become_intrusions():
    data = load_murdock1962("LL30-1s")
    raw = (SHARED / "murdock1962" / "fr30-1.txt").read_text().splitlines()
    assert raw[2].split()[0] == "31"
    assert data.recalls[2, 0] == -1


def test_unknown_condition():
    with pytest.raises(ValueError, match="LL20-1s"):
        load_murdock1962("LL25")


def test_healey_kahana_and_its_no_task_lists():
    data = load_healey_kahana2014()
    assert len(data) == 14112 and data.list_length == 16 and len(data.subjects) == 126
    no_task = load_healey_kahana2014(no_task_only=True)
    assert len(no_task) == 3528 and set(no_task.condition) == {"no task"}
    assert (np.bincount(no_task.subject)[no_task.subjects] == 28).all()
    assert (data.extra["listtype"] == -1).sum() == 3528
    assert data.for_subject(63).recalls.shape == (112, 16)


def test_psifr_round_trip():
    pytest.importorskip("pandas")
    data = load_murdock1962("LL10-2s").select(np.arange(1200) < 160)
    back = RecallDataset.from_psifr(data.to_psifr())
    np.testing.assert_array_equal(back.subject, data.subject)
    width = back.recalls.shape[1]
    np.testing.assert_array_equal(back.recalls, data.recalls[:, :width])
    assert (data.recalls[:, width:] == 0).all()


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 2 3\r\n4 x 5\r\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: '4 x 5'"):
        datasets.read_murdock_file(path, 10, n_lists=2, lists_per_subject=1)


def test_wrong_list_count_is_an_error(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="expected 1200 lists"):
        datasets.read_murdock_file(path, 10)


def test_dataset_shapes_are_checked():
    with pytest.raises(ValueError, match="subject"):
        RecallDataset(recalls=np.zeros((3, 2), int), subject=np.ones(2), list_length=4,
                      presentations=np.ones((3, 4), int), condition=np.array(["a"] * 3))
    with pytest.raises(ValueError, match="integer"):
        RecallDataset(recalls=np.zeros((3, 2)), subject=np.ones(3), list_length=4,
                      presentations=np.ones((3, 4), int), condition=np.array(["a"] * 3))


# ---------------------------------------------------------------- cache and download


@pytest.fixture
def local_server():
    """An HTTP server on 127.0.0.1 serving ../shared/data; yields its address."""
    handler = functools.partial(_QuietHandler, directory=str(SHARED))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        _QuietHandler.requests.append(self.path)
        super().do_GET()


def test_download_verifies_and_writes_atomically(tmp_path, monkeypatch, local_server):
    monkeypatch.setenv("CMRLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CMRLAB_DATA_MIRROR", local_server)
    _QuietHandler.requests.clear()
    data = load_murdock1962("LL15-2s")
    path = tmp_path / "murdock1962" / "fr15-2.txt"
    assert path.exists() and len(data) == 1200
    assert hashlib.sha256(path.read_bytes()).hexdigest() == datasets.REGISTRY["murdock1962/fr15-2.txt"].sha256
    assert _QuietHandler.requests == ["/murdock1962/fr15-2.txt"]
    assert list((tmp_path / "murdock1962").iterdir()) == [path], "no partial files left behind"
    load_murdock1962("LL15-2s")
    assert len(_QuietHandler.requests) == 1, "a cached file is not downloaded again"


def test_download_with_wrong_checksum_is_refused(tmp_path, monkeypatch, local_server):
    served = tmp_path / "served" / "murdock1962"
    served.mkdir(parents=True)
    (served / "fr10-2.txt").write_text("1 2 3\n")
    handler_dir = tmp_path / "served"
    monkeypatch.setenv("CMRLAB_DATA_DIR", str(tmp_path / "cache"))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(handler_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("CMRLAB_DATA_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(ValueError, match="sha256.*refusing"):
            load_murdock1962("LL10-2s")
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "cache" / "murdock1962" / "fr10-2.txt").exists()
    assert list((tmp_path / "cache" / "murdock1962").iterdir()) == []


def test_corrupt_cached_file_is_downloaded_again(tmp_path, monkeypatch, local_server):
    folder = tmp_path / "murdock1962"
    folder.mkdir()
    shutil.copy(SHARED / "murdock1962" / "fr20-2.txt", folder / "fr20-2.txt")
    with open(folder / "fr20-2.txt", "a") as handle:
        handle.write("1\n")
    monkeypatch.setenv("CMRLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CMRLAB_DATA_MIRROR", local_server)
    assert len(load_murdock1962("LL20-2s")) == 1200
    digest = hashlib.sha256((folder / "fr20-2.txt").read_bytes()).hexdigest()
    assert digest == datasets.REGISTRY["murdock1962/fr20-2.txt"].sha256


def test_corrupt_cached_file_without_network_says_so(tmp_path, monkeypatch):
    folder = tmp_path / "murdock1962"
    folder.mkdir()
    (folder / "fr20-2.txt").write_text("1 2 3\n")
    monkeypatch.setenv("CMRLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CMRLAB_DATA_MIRROR", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(OSError, match="corrupt.*could not be downloaded"):
        load_murdock1962("LL20-2s")


def test_without_network_the_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CMRLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CMRLAB_DATA_MIRROR", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(OSError) as info:
        load_healey_kahana2014()
    message = str(info.value)
    assert "healey_kahana2014/HealeyKahana2014.h5" in message
    assert str(tmp_path / "healey_kahana2014" / "HealeyKahana2014.h5") in message


def test_default_cache_is_per_user(monkeypatch, tmp_path):
    monkeypatch.delenv("CMRLAB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert datasets.data_dir() == tmp_path / "cmrlab"


def test_unknown_file():
    with pytest.raises(KeyError, match="known files"):
        datasets.fetch("murdock1962/fr99.txt")


def test_analyses_run_on_loaded_data():
    data = load_healey_kahana2014(no_task_only=True)
    curve = np.asarray(cmrlab.spc(data.recalls, data.list_length))
    assert curve.shape == (16,) and curve[-1] > curve[7]


# ---------------------------------------------------------------- Polyn, Norman & Kahana (2009)


@pytest.fixture(scope="module")
def polyn():
    return datasets.load_polyn2009()


@pytest.fixture(scope="module")
def polyn_raw():
    from scipy.io import loadmat

    return loadmat(SHARED / "polyn2009" / "behavior.mat")["data"][0, 0]["full"][0, 0]


def test_polyn_list_counts(polyn):
    assert len(polyn) == 1262 and polyn.list_length == 24 and len(polyn.subjects) == 45
    assert (polyn.list_type == 0).sum() == 312 and (polyn.list_type == 1).sum() == 319
    assert (polyn.list_type == 2).sum() == 631
    assert list(polyn.split("condition")) == ["animacy", "shift", "size"]
    assert not polyn.extra["practice"].any()
    with_practice = datasets.load_polyn2009(include_practice=True)
    assert len(with_practice) == 1394 and with_practice.extra["practice"].sum() == 132
    np.testing.assert_array_equal(with_practice.select(~with_practice.extra["practice"]).recalls, polyn.recalls)


def test_polyn_practice_lists_are_the_first_three_of_a_first_session(polyn_raw):
    data = datasets.load_polyn2009(include_practice=True)
    practice = data.extra["practice"]
    np.testing.assert_array_equal(data.subject, polyn_raw["subject"][:, 0])  # data.full order
    starts = np.flatnonzero(np.r_[True, (np.diff(data.subject) != 0) | (np.diff(data.session) != 0)])
    first_three = np.zeros(len(data), bool)
    for start in starts[data.session[starts] == 1]:
        first_three[start:start + 3] = True
    np.testing.assert_array_equal(practice, first_three)
    assert len(np.unique(data.subject[practice])) == 44


def test_polyn_fields_follow_the_file(polyn, polyn_raw):
    experimental = ~datasets.load_polyn2009(include_practice=True).extra["practice"]
    raw = {key: polyn_raw[key][experimental] for key in ("pres_itemnos", "pres_task", "times", "recalls")}
    np.testing.assert_array_equal(polyn.study_items, raw["pres_itemnos"].astype(int) - 1)
    np.testing.assert_array_equal(polyn.presentations, raw["pres_itemnos"])
    np.testing.assert_array_equal(polyn.sources, raw["pres_task"])
    np.testing.assert_array_equal(polyn.times, raw["times"])
    assert ((polyn.times > 0) == (polyn.recalls != 0)).all(), "a time for every response, none for padding"
    studied = raw["recalls"] > 0
    np.testing.assert_array_equal(polyn.recalls[studied], raw["recalls"][studied])
    assert set(np.unique(polyn.sources)) == {0, 1}
    # control lists use one task throughout, shift lists both
    one_task = (polyn.sources == polyn.sources[:, :1]).all(axis=1)
    np.testing.assert_array_equal(one_task, polyn.list_type < 2)
    np.testing.assert_array_equal(polyn.sources[polyn.list_type < 2, 0], polyn.list_type[polyn.list_type < 2])


def test_polyn_repeats_decode_to_the_repeated_position_and_nothing_is_dropped(polyn_raw):
    data = datasets.load_polyn2009(include_practice=True)
    raw = polyn_raw["recalls"].astype(int)
    assert ((raw != 0) == (data.recalls != 0)).all(), "every non-zero code maps to a response"
    np.testing.assert_array_equal(data.recalls == -1, raw == -1)
    counts = cmrlab.clean_recalls(data.recalls, 24, return_counts=True)
    assert counts.n_intrusions == (raw == -1).sum() == 638
    assert counts.n_repeats == (raw == -2).sum() == 479
    for row, col in np.argwhere(raw == -2):
        position = data.recalls[row, col]
        assert data.presentations[row, position - 1] == polyn_raw["rec_itemnos"][row, col]
        assert position in data.recalls[row, :col], "a repeat repeats an earlier recall"


def test_polyn_decoding_refuses_codes_it_cannot_map():
    pres = np.array([[11, 12, 13]])
    np.testing.assert_array_equal(
        datasets.decode_polyn_recalls([[2, 1, -2, -1, 0]], [[12, 11, 12, 99, 0]], pres), [[2, 1, 2, -1, 0]])
    with pytest.raises(ValueError, match="not studied once"):
        datasets.decode_polyn_recalls([[2, -2]], [[12, 14]], pres)
    with pytest.raises(ValueError, match="recall code -3"):
        datasets.decode_polyn_recalls([[-3]], [[11]], pres)
    with pytest.raises(ValueError, match="rec_itemnos says 13"):
        datasets.decode_polyn_recalls([[1]], [[13]], pres)


def test_polyn_similarity_and_words_as_published(polyn):
    S = polyn.similarity
    assert S.shape == (1297, 1297) and S.dtype == np.float64
    assert polyn.words.shape == (1297,) and len(set(polyn.words)) == 1297 and polyn.words[0] == "abdomen"
    assert (np.diag(S) == 1).sum() == 1295, "two diagonal entries of the published matrix are not 1"
    asymmetric = np.flatnonzero((S != S.T).any(axis=0))
    assert len(asymmetric) == 1297 and (S[:, [1143, 1188]] != S[[1143, 1188], :].T).any(axis=0).all()
    assert S.min() < 0, "LSA cosines can be negative"


def test_polyn_select_and_split_keep_the_item_fields(polyn):
    shift = polyn.select(polyn.list_type == 2)
    assert len(shift) == 631 and shift.similarity is polyn.similarity and shift.words is polyn.words
    np.testing.assert_array_equal(shift.sources, polyn.sources[polyn.list_type == 2])
    np.testing.assert_array_equal(shift.times, polyn.times[polyn.list_type == 2])
    one = polyn.for_subject(polyn.subjects[0])
    np.testing.assert_array_equal(one.study_items, polyn.study_items[polyn.subject == polyn.subjects[0]])
    counts = polyn.per_subject(len)
    assert counts.shape == (45,) and counts.sum() == 1262
    parts = polyn.split("list_type")
    assert sorted(parts) == [0, 1, 2] and sum(len(p) for p in parts.values()) == 1262
    with pytest.raises(ValueError, match="cannot split by 'colour'"):
        polyn.split("colour")
    with pytest.raises(AttributeError, match="list_type"):
        load_murdock1962("LL10-2s").list_type


def test_polyn_to_psifr_carries_sources_and_pool_indices(polyn):
    pytest.importorskip("pandas")
    frame = polyn.select(np.arange(1262) < 2).to_psifr()
    study = frame[frame.trial_type == "study"]
    np.testing.assert_array_equal(study["source"].to_numpy(), polyn.sources[:2].ravel())
    np.testing.assert_array_equal(study["item_index"].to_numpy(), polyn.study_items[:2].ravel())
    np.testing.assert_array_equal(study["item"].to_numpy(), polyn.presentations[:2].ravel())


def _small(**changes):
    fields = dict(recalls=np.array([[1, 2, 0], [3, -1, 0]]), subject=np.ones(2, int), list_length=3,
                  presentations=np.tile(np.arange(1, 4), (2, 1)), condition=np.array(["a", "a"]),
                  study_items=np.array([[0, 1, 2], [3, 4, 0]]), sources=np.array([[0, 0, 1], [1, 1, 0]]),
                  times=np.array([[500.0, 900.0, 0.0], [700.0, 1200.0, 0.0]]), similarity=np.eye(5),
                  words=np.array(list("abcde")))
    fields.update(changes)
    return RecallDataset(**fields)


def test_item_fields_are_checked():
    assert _small().study_items.dtype == np.int32
    with pytest.raises(ValueError, match=r"study_items must have shape \(2, 3\)"):
        _small(study_items=np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="outside the similarity matrix"):
        _small(study_items=np.array([[0, 1, 2], [3, 4, 5]]))
    with pytest.raises(ValueError, match="sources must be an integer"):
        _small(sources=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="sources must be >= 0"):
        _small(sources=-np.ones((2, 3), int))
    with pytest.raises(ValueError, match="times must have the shape of recalls"):
        _small(times=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="times must be finite"):
        _small(times=np.array([[np.nan, 1.0, 0.0], [1.0, 2.0, 0.0]]))
    _small(times=np.array([[1.0, 2.0, np.nan], [1.0, 2.0, np.nan]]))  # NaN under padding is fine
    with pytest.raises(ValueError, match="square"):
        _small(similarity=np.ones((5, 4)))
    with pytest.raises(ValueError, match="finite"):
        _small(similarity=np.full((5, 5), np.nan))
    with pytest.raises(ValueError, match=r"words must have shape \(5,\)"):
        _small(words=np.array(["a"]))
