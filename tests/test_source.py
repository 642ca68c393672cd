"""Which data a run uses: ``resolve_data`` (PATS under data_root, else the synthetic default)."""

from __future__ import annotations

import json
import logging

import pytest

from ccnce.config import SPEAKERS
from ccnce.data import source
from ccnce.data.synth import GENERATOR_VERSION, MARKER_NAME


def _fake_root(path, marker=None):
    (path / "processed" / "bee").mkdir(parents=True)
    (path / "cmu_intervals_df.csv").write_text("dataset,delta_time,end_time,interval_id,speaker,start_time,"
                                                "video_fn,video_link\n")
    if marker is not None:
        (path / MARKER_NAME).write_text(json.dumps(marker))
    return path


def _current_marker():
    return {"generator_version": GENERATOR_VERSION, "seed": source.DEFAULT_SEED, "size": source.DEFAULT_SIZE,
            "speakers": list(SPEAKERS), "complete": True}


@pytest.fixture
def no_generation(monkeypatch):
    calls = []

    def fake_generate(out, **kwargs):
        calls.append((out, kwargs))
        _fake_root(out, _current_marker())

    monkeypatch.setattr("ccnce.data.synth.generate", fake_generate)
    return calls


def test_a_pats_root_is_used_as_pats(tmp_path, no_generation):
    ds = source.resolve_data(str(_fake_root(tmp_path / "pats")))
    assert ds.name == "pats" and not ds.synthetic and len(ds.fingerprint) == 16
    assert ds.to_dict()["name"] == "pats" and not no_generation


def test_a_synth_output_is_labelled_synthetic_loudly(tmp_path, no_generation, caplog):
    root = _fake_root(tmp_path / "s", {**_current_marker(), "size": "small"})
    with caplog.at_level(logging.WARNING):
        ds = source.resolve_data(str(root))
    assert ds.synthetic and ds.to_dict()["synthetic"] is True
    assert "SYNTHETIC" in caplog.text and not no_generation
    assert source.resolve_data(str(root)).fingerprint == ds.fingerprint


def test_without_data_root_the_default_is_generated_once_then_reused(tmp_path, monkeypatch, no_generation):
    monkeypatch.setenv("CCNCE_DATA_DIR", str(tmp_path / "cache" / "synthetic"))
    first = source.resolve_data(None, progress=False)
    second = source.resolve_data(None, progress=False)
    assert len(no_generation) == 1 and no_generation[0][1]["size"] == "default"
    assert first == second and first.root == tmp_path / "cache" / "synthetic" and first.synthetic


def test_an_outdated_or_incomplete_default_is_regenerated(tmp_path, monkeypatch, no_generation):
    root = tmp_path / "synthetic"
    monkeypatch.setenv("CCNCE_DATA_DIR", str(root))
    _fake_root(root, {**_current_marker(), "generator_version": "0"})
    (root / "processed" / "bee").rmdir()  # the fake generator lays the folder anew
    (root / "processed").rmdir()
    (root / "cmu_intervals_df.csv").unlink()
    source.resolve_data(None, progress=False)
    assert len(no_generation) == 1


def test_a_data_root_without_pats_data_falls_back_to_synthetic(tmp_path, monkeypatch, no_generation, caplog):
    monkeypatch.setenv("CCNCE_DATA_DIR", str(tmp_path / "synthetic"))
    with caplog.at_level(logging.WARNING):
        ds = source.resolve_data(str(tmp_path / "empty"), progress=False)
    assert ds.synthetic and "no PATS data" in caplog.text and len(no_generation) == 1


def test_an_interrupted_synth_output_is_refused(tmp_path):
    from ccnce.errors import DataError

    root = _fake_root(tmp_path / "half", {**_current_marker(), "complete": False})
    with pytest.raises(DataError, match="incomplete"):
        source.resolve_data(str(root))
