"""`ccnce inspect`: summaries of a file and a root, and one clear error line for every bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np

from ccnce.cli import main
from pats_fixture import delete_key, explode_frames, make_pats_root, read_key, replace_key, truncate, write_garbage


def _run(capsys, *argv):
    code = main(["inspect", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_interval_file_summary(pats_root, capsys):
    path = pats_root.path("lec_cosmic", "0001009")
    code, out, _ = _run(capsys, path, "--json")
    s = json.loads(out)
    assert code == 0 and s["windows"] == 20 and s["problems"] == []
    assert s["frames"]["pose/normalize"] == 160 and s["frames"]["audio/log_mel_400"] == 1064
    assert s["frames"]["text/meta"] == 160 and s["keys"]["text/bert"] == {"shape": [160, 768], "dtype": "float32"}
    assert s["words"] > 0 and "zero-length" in s["notes"][0]
    code, out, _ = _run(capsys, path)
    assert code == 0 and "windows: 20 (window 64, hop 5)" in out and "problems: none" in out


def test_interval_problems_are_reported(tmp_path, capsys):
    fx = make_pats_root(tmp_path, n_intervals={"train": 2})
    a, b = (fx.path("lec_cosmic", i) for i in fx.ids())
    explode_frames(a, [10])
    delete_key(a, "text/bert")  # optional for the reader (many real bee files lack it)
    replace_key(b, "audio/log_mel_400", read_key(b, "audio/log_mel_400")[:500])
    s = json.loads(_run(capsys, a, "--json")[1])
    assert s["windows"] == 17 and "missing key 'text/bert'" in s["problems"]
    assert any("3 windows dropped" in p for p in s["problems"])
    s = json.loads(_run(capsys, b, "--json")[1])
    assert s["windows"] == 0 and "modality lengths differ" in s["problems"][0]


def test_root_summary(tmp_path, capsys):
    fx = make_pats_root(tmp_path, speakers=("lec_cosmic", "bee"), n_intervals={"train": 2, "test": 1})
    fx.path("bee", fx.ids("bee", "train")[1]).unlink()
    code, out, _ = _run(capsys, fx.root, "--json")
    s = json.loads(out)
    assert code == 0 and s["speakers"] == ["bee", "lec_cosmic"]
    assert s["splits"]["lec_cosmic"]["train"] == {"intervals": 2, "used": 2, "windows": 40}
    assert s["splits"]["bee"]["train"] == {"intervals": 2, "used": 1, "windows": 20}
    assert s["windows"] == 100 and s["frames"]["pose/normalize"] == 5 * 160 and s["words"] > 0
    assert [d["category"] for d in s["skipped"]] == ["absent"] and len(s["problems"]) == 1
    code, out, _ = _run(capsys, fx.root, "--speaker", "bee")
    assert code == 0 and "skipped intervals: 1 (1 absent)" in out and "lec_cosmic" not in out


def _bad_inputs(tmp_path):
    fx = make_pats_root(tmp_path / "root", n_intervals={"train": 1})
    good = fx.path("lec_cosmic", fx.ids()[0])
    cases = {}
    cases["no such path"] = (tmp_path / "nope.h5", [], "nope.h5")
    garbage = tmp_path / "garbage.h5"
    write_garbage(garbage)
    cases["not hdf5"] = (garbage, [], "garbage.h5")
    for name, damage, key in (("truncated", truncate, None),
                              ("missing pose", lambda p: delete_key(p, "pose/normalize"), "pose/normalize"),
                              ("missing meta", lambda p: delete_key(p, "text/meta"), "text/meta"),
                              ("bad meta", lambda p: replace_key(p, "text/meta/block0_values",
                                                                 np.zeros(3)), "text/meta")):
        copy = tmp_path / f"{name.replace(' ', '_')}.h5"
        shutil.copy(good, copy)
        damage(copy)
        cases[name] = (copy, [], key or copy.name)
    cases["unknown speaker"] = (fx.root, ["--speaker", "nobody"], "cmu_intervals_df.csv")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    cases["not a root"] = (empty, [], "cmu_intervals_df.csv")
    bad_csv = tmp_path / "bad_csv"
    bad_csv.mkdir()
    (bad_csv / "cmu_intervals_df.csv").write_text("dataset,speaker\ntrain,bee\n")
    cases["csv columns"] = (bad_csv, [], "interval_id")
    bad_missing = tmp_path / "bad_missing"
    shutil.copytree(fx.root, bad_missing)
    write_garbage(bad_missing / "missing_intervals.h5")
    cases["corrupt missing list"] = (bad_missing, [], "missing_intervals.h5")
    return cases


def test_every_bad_input_is_one_error_line_naming_the_file(tmp_path, capsys):
    for name, (path, extra, mention) in _bad_inputs(tmp_path).items():
        code, out, err = _run(capsys, path, *extra)
        lines = err.strip().splitlines()
        assert code == 2, name
        assert len(lines) == 1 and lines[0].startswith("ccnce: error: "), (name, err)
        assert path.name in lines[0] and mention in lines[0], (name, err)
        assert "Traceback" not in err and out == "", name
