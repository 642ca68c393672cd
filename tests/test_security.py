"""Untrusted files never run code: crafted ``text/meta`` and checkpoints, and fuzzed interval files.

Every payload here would create a marker file if it were executed (``io.open(marker, "w")`` on
unpickling); the tests check that ``pd.read_hdf`` / ``torch.load(weights_only=False)`` do run it (so the
payload is live) and that no ``ccnce`` path does.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccnce import checkpoint as ckpt
from ccnce.cli import main
from ccnce.config import Config
from ccnce.data.fixed_frame import RefusedPickle, safe_loads
from ccnce.data.pats import IntervalError, read_interval
from pats_fixture import delete_key, make_pats_root

POSE, AUDIO = "pose/normalize", "audio/log_mel_400"


class Payload:
    """Unpickled, it calls ``open(marker, "w")``: the marker file appears."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code: int, err: str, *mentions: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ccnce: error: "), err
    assert "Traceback" not in err and all(m in lines[0] for m in mentions), err
    return lines[0]


# ------------------------------------------------------------------------------------------ text/meta
def _crafted_meta(path: Path, marker: Path, where: str) -> None:
    """Replace ``text/meta`` by a frame whose Word column, frame numbers or index hold the payload."""
    meta = pd.DataFrame({"Word": ["a", "b", "c"], "start_frame": [0.0, 1.0, 2.0], "end_frame": [1.0, 2.0, 160.0]})
    if where == "word":
        meta["Word"] = pd.Series(["a", Payload(marker), "c"], dtype=object)
    elif where == "frames":
        meta["start_frame"] = pd.Series([0.0, Payload(marker), 2.0], dtype=object)
    else:
        meta.index = pd.Index([Payload(marker), 1, 2], dtype=object)
    delete_key(path, "text/meta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta.to_hdf(path, key="text/meta", format="fixed", mode="a")


@pytest.fixture
def crafted_root(tmp_path):
    fx = make_pats_root(tmp_path / "root", n_intervals={"train": 2, "dev": 1, "test": 1})
    return fx, fx.path("lec_cosmic", fx.ids()[0])


def test_crafted_word_payload_is_live_through_pandas(crafted_root, tmp_path):
    _, path = crafted_root
    marker = tmp_path / "pandas_ran_it"
    _crafted_meta(path, marker, "word")
    pd.read_hdf(path, "text/meta")  # what the original loader does
    assert marker.exists()


@pytest.mark.parametrize("where", ["word", "frames", "index"])
def test_crafted_meta_never_runs_through_inspect(crafted_root, tmp_path, capsys, where):
    fx, path = crafted_root
    marker = tmp_path / "marker"
    _crafted_meta(path, marker, where)
    code, out, err = _cli(capsys, "inspect", path)
    if where == "index":  # the index is never decoded: the file reads cleanly
        assert code == 0 and "windows:" in out
    else:
        line = _one_error_line(code, err, path.name)
        assert line.endswith(f"{path}: text/meta: refused a pickled object of type io.open")
    # The reader decodes the frame numbers only: an interval is skipped when they hold a payload.
    code, out, err = _cli(capsys, "inspect", fx.root)
    assert code == 0 and ("skipped intervals: 1 (1 refused pickle)" in out) == (where == "frames")
    assert not marker.exists()


def test_crafted_meta_is_skipped_or_raises_in_strict_mode(crafted_root, tmp_path):
    from ccnce.data.dataset import load_speaker

    fx, path = crafted_root
    marker = tmp_path / "marker"
    _crafted_meta(path, marker, "word")
    assert read_interval(path, POSE, AUDIO).n_words == 3  # Word is never decoded by the reader
    _crafted_meta(path, marker, "frames")
    with pytest.raises(IntervalError, match="text/meta: refused a pickled object of type io.open") as e:
        read_interval(path, POSE, AUDIO)
    assert e.value.category == "refused pickle"
    data = load_speaker(Config(), fx.root, progress=False, cache_dir=tmp_path / "cache")
    assert [s["category"] for s in data.report.skipped] == ["refused pickle"]
    with pytest.raises(IntervalError, match="strict mode"):
        load_speaker(Config(strict=True), fx.root, progress=False, cache_dir=tmp_path / "cache-strict")
    assert not marker.exists()


@pytest.mark.parametrize("obj, refused", [(np.array(["a", 1.5, None, b"x"], dtype=object), None),
                                          (np.array([[]], dtype=object), None),
                                          ([1, 2], "list"),
                                          (np.array([{"a": 1}], dtype=object), "dict"),
                                          (np.ma.masked_array([1.0]), "numpy.ma.core"),
                                          (np.array([np.float64(2.5)], dtype=object), None)])
def test_unpickler_admits_only_arrays_of_words_and_numbers(obj, refused):
    for protocol in (2, 5):
        data = pickle.dumps(obj, protocol=protocol)
        if refused is None:
            np.testing.assert_array_equal(safe_loads(data), obj)
        else:
            with pytest.raises(RefusedPickle, match=refused):
                safe_loads(data)


# ------------------------------------------------------------------------------------------ checkpoints
def _run_folder(tmp_path: Path, **config_overrides) -> Path:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    cfg = Config.from_profile("smoke", data_root=str(tmp_path / "no-data"))
    (run / "config.json").write_text(json.dumps({**cfg.to_dict(), "config_hash": cfg.hash(), **config_overrides}))
    return run


def test_crafted_checkpoint_never_runs_through_evaluate(tmp_path, capsys):
    run = _run_folder(tmp_path)
    path = run / "checkpoints" / "last.pt"
    live, marker = tmp_path / "torch_ran_it", tmp_path / "marker"
    torch.save({"G": Payload(live)}, path)
    torch.load(path, weights_only=False)  # the payload is live
    assert live.exists()
    torch.save({"G": Payload(marker), "best": {"G": None}}, path)
    code, _, err = _cli(capsys, "evaluate", run)
    _one_error_line(code, err, str(path), "refused a pickled object of type io.open")
    assert not marker.exists()


def _damaged_checkpoints(path: Path) -> dict[str, tuple[object, str]]:
    """name -> (what to write, expected words of the error)."""
    good = {name: {} for name in ckpt.MODULES}
    good.update(format=ckpt.FORMAT, config_hash="x", epoch=0, history=[], best={"dev_l1": 1.0, "epoch": 0,
                "G": None, "bad_epochs": 0}, rng=ckpt.rng_state())
    return {
        "format 1": ({**good, "format": None, "rng": {"numpy": np.random.get_state()}}, "earlier version of ccnce"),
        "no format": ({k: v for k, v in good.items() if k != "format"}, "earlier version of ccnce"),
        "future format": ({**good, "format": 99}, "format 99"),
        "not a dict": (torch.zeros(3), "a Tensor, not a dict"),
        "missing keys": ({"format": ckpt.FORMAT}, "missing config_hash"),
        "wrong types": ({**good, "history": "x", "best": {}}, "wrong type or content: history"),
        "truncated": (b"truncated", "not a readable checkpoint"),
    }


def test_bad_checkpoints_are_one_line_errors_naming_the_file(tmp_path, capsys):
    run = _run_folder(tmp_path)
    path = run / "checkpoints" / "last.pt"
    for name, (content, words) in _damaged_checkpoints(path).items():
        if isinstance(content, bytes):
            torch.save({"G": torch.zeros(1000)}, path)
            path.write_bytes(path.read_bytes()[:200])
        else:
            torch.save(content, path)
        with pytest.raises(ckpt.CheckpointError, match=words):
            ckpt.load(path)
        code, _, err = _cli(capsys, "evaluate", run)
        line = _one_error_line(code, err, str(path), words)
        if "version" in words or "format" in words:
            assert "re-run the training" in line, name


def test_checkpoint_state_that_does_not_fit_the_model_is_one_line(tmp_path):
    path = tmp_path / "last.pt"
    states = {name: {} for name in ckpt.MODULES}
    ckpt.save(path, states, "x", 0, [{"epoch": 0, "dev_l1": np.float64(0.5)}],
              {"dev_l1": np.float64(0.5), "epoch": 0, "G": None, "bad_epochs": 0})
    state = ckpt.load(path)
    assert state["history"] == [{"epoch": 0, "dev_l1": 0.5}] and type(state["best"]["dev_l1"]) is float
    with pytest.raises(ckpt.CheckpointError, match="D does not fit this run"):
        ckpt.restore(path, {**state, "D": {"weight": torch.zeros(2)}},
                     {"G": torch.nn.Linear(2, 2), "D": torch.nn.Linear(3, 3)})


def test_rng_state_round_trips_exactly(tmp_path):
    import random

    path = tmp_path / "last.pt"
    random.random(), np.random.normal(), torch.rand(1)  # a cached gaussian and moved states
    ckpt.save(path, {name: {} for name in ckpt.MODULES}, "x", 0, [], {"dev_l1": 1.0, "epoch": 0, "G": None,
                                                                     "bad_epochs": 0})
    expected = (random.random(), np.random.normal(), np.random.randint(1 << 30), torch.rand(3))
    ckpt.set_rng_state(ckpt.load(path)["rng"])
    got = (random.random(), np.random.normal(), np.random.randint(1 << 30), torch.rand(3))
    assert got[:3] == expected[:3] and torch.equal(got[3], expected[3])


def test_evaluate_names_missing_config_fields(tmp_path, capsys):
    run = _run_folder(tmp_path)
    recorded = json.loads((run / "config.json").read_text())
    del recorded["variant"], recorded["d_model"]
    (run / "config.json").write_text(json.dumps(recorded))
    torch.save({}, run / "checkpoints" / "last.pt")
    code, _, err = _cli(capsys, "evaluate", run)
    _one_error_line(code, err, "config.json", "missing field(s) variant, d_model")
    (run / "config.json").write_text("{not json")
    code, _, err = _cli(capsys, "evaluate", run)
    _one_error_line(code, err, "config.json", "not readable JSON")


# ------------------------------------------------------------------------------------------ fuzzing
@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> tuple[bytes, int, int]:
    """A valid interval file's bytes, and where its pickled Word block lies in them."""
    fx = make_pats_root(tmp_path_factory.mktemp("fuzz"), n_intervals={"train": 1})
    data = fx.path("lec_cosmic", fx.ids()[0]).read_bytes()
    with h5py.File(fx.path("lec_cosmic", fx.ids()[0]), "r") as f:
        block = f["text/meta/block0_values"][0].tobytes()
    start = data.find(block)
    assert start > 0
    return data, start, len(block)


CASES: list[str] = []


def _damage(data: bytes, pickle_at: tuple[int, int], draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["flip", "flip pickle", "flip header", "truncate", "zero"]))
    b = bytearray(data)
    if kind == "truncate":
        n = draw(st.integers(0, len(b) - 1))
        return bytes(b[:n]), f"truncate {n}"
    if kind == "zero":
        at = draw(st.integers(0, len(b) - 1))
        n = draw(st.integers(1, 4096))
        b[at:at + n] = bytes(len(b[at:at + n]))
        return bytes(b), f"zero {at}+{n}"
    lo, hi = {"flip": (0, len(b) - 1), "flip header": (0, 4095),
              "flip pickle": (pickle_at[0], pickle_at[0] + pickle_at[1] - 1)}[kind]
    for _ in range(draw(st.integers(1, 4))):
        at, bit = draw(st.integers(lo, hi)), draw(st.integers(0, 7))
        b[at] ^= 1 << bit
    return bytes(b), kind


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_files_read_cleanly_or_give_one_error_line(valid_file, capsys, data):
    raw, at, size = valid_file
    damaged, what = _damage(raw, (at, size), data.draw)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.h5"
        path.write_bytes(damaged)
        t = time.perf_counter()
        code = main(["inspect", str(path)])
        elapsed = time.perf_counter() - t
    out, err = capsys.readouterr()
    CASES.append(f"{what}: {'read' if code == 0 else 'error'}")
    assert elapsed < 10, what
    assert "Traceback" not in err
    if code != 0:
        _one_error_line(code, err, "damaged.h5")


def test_fuzz_cases_were_tried():
    """Runs after the fuzz test (file order): how many cases, how many read and how many errors."""
    if not CASES:
        pytest.skip("the fuzz test did not run in this session")
    reads = sum(c.endswith("read") for c in CASES)
    print(f"fuzz: {len(CASES)} cases, {reads} clean reads, {len(CASES) - reads} one-line errors")
    assert len(CASES) >= 30
