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
