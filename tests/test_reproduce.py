"""ccnce reproduce: a smoke run reproduces itself; a tampered metric does not; the tolerance rule."""

from __future__ import annotations

import json

import pytest

from ccnce import reproduce as rp
from ccnce.cli import main
from ccnce.config import Config
from ccnce.errors import CcnceError
from ccnce.train import train


@pytest.fixture(scope="module")
def committed(synth_root, tmp_path_factory):
    """A smoke run standing in for a committed one."""
    cfg = Config.from_profile("smoke", data_root=str(synth_root), results_dir=str(tmp_path_factory.mktemp("results")),
                              epochs=1, warmup_epochs=0, max_train_windows=32, batch_size=16)
    return train(cfg, progress=False).directory


def test_a_run_reproduces_itself_in_a_scratch_folder(committed, tmp_path):
    before = (committed / "metrics.json").read_text()
    result = rp.reproduce(committed, scratch=tmp_path / "scratch", progress=False)
    assert result.reproduced, result.format()
    assert result.scratch_dir.startswith(str(tmp_path / "scratch"))
    assert (committed / "metrics.json").read_text() == before  # the committed run is untouched
    out = result.to_json()
    assert {"l1", "fid", "pck"} <= set(out["metrics"]) and "best_epoch" in out["record"]
    assert all(set(m) >= {"committed", "now", "tolerance"} for m in out["metrics"].values())


def test_a_tampered_metric_is_not_reproduced(committed, tmp_path, capsys):
    tampered = tmp_path / "results" / "synthetic" / "lec_cosmic" / "ccnce" / "seed0"
    tampered.mkdir(parents=True)
    for name in ("config.json", "provenance.json"):
        (tampered / name).write_text((committed / name).read_text())
    metrics = json.loads((committed / "metrics.json").read_text())
    (tampered / "metrics.json").write_text(json.dumps({**metrics, "l1": metrics["l1"] + 0.1}))
    assert main(["reproduce", str(tampered), "--json", "--scratch", str(tmp_path / "scratch")]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["reproduced"] is False
    assert out["metrics"]["l1"]["ok"] is False and out["metrics"]["fid"]["ok"] is True


def test_scratch_may_not_be_the_results_tree(committed):
    with pytest.raises(CcnceError, match="would overwrite"):
        rp.reproduce(committed, scratch=committed.parents[3], progress=False)


def test_tolerance_is_twice_the_seed_spread_with_a_floor(tmp_path):
    cell = tmp_path / "synthetic" / "bee" / "ccnce"
    for k, l1 in enumerate((0.50, 0.52, 0.54)):
        (cell / f"seed{k}").mkdir(parents=True)
        (cell / f"seed{k}" / "metrics.json").write_text(json.dumps({"l1": l1, "fid": 100.0, "profile": "cpu"}))
    spread = rp.seed_spread(cell / "seed0")
    assert spread["l1"] == pytest.approx(0.02) and spread["fid"] == 0
    comparisons = rp.compare({"l1": 0.50, "fid": 100.0, "speaker": "bee"}, {"l1": 0.539, "fid": 100.05}, spread)
    assert comparisons["l1"].tolerance == pytest.approx(0.04) and comparisons["l1"].ok
    assert comparisons["fid"].tolerance == pytest.approx(0.1) and comparisons["fid"].ok  # floor: 1e-3 x 100
    assert "speaker" not in comparisons
    assert not rp.compare({"l1": 0.50}, {"l1": 0.55}, spread)["l1"].ok
    assert not rp.compare({"l1": 0.50}, {}, spread)["l1"].ok  # a metric that is gone does not reproduce
