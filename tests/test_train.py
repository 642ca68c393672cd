"""One run end to end at smoke size: results folder, determinism, resume after a kill."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ccnce.config import Config
from ccnce.results import is_complete
from ccnce.train import CHECKPOINT, train

EXACT = ("l1", "fid", "pck", "w1_vel", "w1_acc", "f1", "diversity")


def smoke(tmp_path, root, **overrides) -> Config:
    values = dict(data_root=str(root), results_dir=str(tmp_path / "results"), epochs=2, warmup_epochs=1,
                  max_train_windows=64, batch_size=16)
    return Config.from_profile("smoke", **{**values, **overrides})


@pytest.fixture(scope="module")
def reference(synth_root, tmp_path_factory):
    """An uninterrupted ccnce run, seed 0."""
    cfg = smoke(tmp_path_factory.mktemp("ref"), synth_root)
    return cfg, train(cfg, progress=False)


def test_run_folder_has_results_and_provenance(reference):
    cfg, result = reference
    d = result.directory
    assert d.parts[-4:] == ("synthetic", "lec_cosmic", "ccnce", "seed0")
    for name in ("config.json", "metrics.json", "history.csv", "provenance.json", "embeddings.npz",
                 "clusters.npz", "generated.npz"):
        assert (d / name).exists(), name
    m = json.loads((d / "metrics.json").read_text())
    prov = json.loads((d / "provenance.json").read_text())
    assert m["data_source"] == "synthetic" and m["config_hash"] == cfg.hash(prov["data_fingerprint"])
    for key in EXACT:
        assert math.isfinite(m[key]), key
    assert 0 <= m["pck"] <= 1 and 0 <= m["f1"] <= 1 and m["fid"] >= 0
    assert len(prov["code_fingerprint"]) == 16
    assert prov["data_source"] == "synthetic" and prov["packages"]["torch"].startswith("2.13")
    assert {"commit", "dirty"} <= set(prov["git"]) and prov["wall_seconds"] > 0
    history = pd.read_csv(d / "history.csv")
    assert list(history["epoch"]) == [0, 1]
    assert history["contrastive"].iloc[0] == 0  # warm-up epoch: statistics only
    assert history["contrastive"].iloc[1] > 0 and np.isfinite(history["threshold"].iloc[1])
    gen = np.load(d / "generated.npz")
    assert gen["pred"].shape == gen["true"].shape and gen["pred"].shape[1:] == (64, 96)
    assert is_complete(d, cfg)


def test_complete_run_is_skipped(reference):
    cfg, result = reference
    again = train(cfg, progress=False)
    assert again.skipped and again.metrics == json.loads((result.directory / "metrics.json").read_text())


def test_same_seed_same_metrics(reference, synth_root, tmp_path):
    _, result = reference
    other = train(smoke(tmp_path, synth_root), progress=False)
    assert {k: other.metrics[k] for k in EXACT} == {k: result.metrics[k] for k in EXACT}


def test_killed_run_resumes_to_the_same_metrics(reference, synth_root, tmp_path):
    _, result = reference
    cfg = smoke(tmp_path, synth_root)
    partial = train(cfg, progress=False, stop_after_epoch=0)  # as if killed after the first epoch
    assert (partial.directory / CHECKPOINT).exists() and not (partial.directory / "metrics.json").exists()
    resumed = train(cfg, progress=False)
    assert resumed.resumed_from_epoch == 1
    assert {k: resumed.metrics[k] for k in EXACT} == {k: result.metrics[k] for k in EXACT}


def test_different_seeds_differ(reference, synth_root, tmp_path):
    _, result = reference
    other = train(smoke(tmp_path, synth_root, seed=1), progress=False)
    assert other.directory.name == "seed1"
    assert other.metrics["l1"] != result.metrics["l1"]


@pytest.mark.parametrize("variant", ["none", "moco", "patchnce"])
def test_every_variant_trains(variant, synth_root, tmp_path):
    result = train(smoke(tmp_path, synth_root, variant=variant, epochs=1, warmup_epochs=0), progress=False)
    assert math.isfinite(result.metrics["l1"]) and result.metrics["variant"] == variant


def test_evaluate_dir_reproduces_and_rewrites_the_evaluation(reference):
    from ccnce.train import evaluate_dir

    _, result = reference
    metrics = evaluate_dir(result.directory, progress=False, write=True)
    assert {k: metrics[k] for k in EXACT} == {k: result.metrics[k] for k in EXACT}
    prov = json.loads((result.directory / "provenance.json").read_text())
    assert "re_evaluated" in prov
    assert json.loads((result.directory / "metrics.json").read_text())["best_epoch"] == result.metrics["best_epoch"]
