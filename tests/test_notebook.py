"""The training notebook through papermill, as a user runs it, at smoke size on small synthetic data.

The recorded metrics (tests/data/notebook_smoke_metrics.json) were written by this test itself with
``CCNCE_RECORD_NOTEBOOK_METRICS=1``; a change of numbers must be a deliberate re-recording.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "train.ipynb"
RECORDED = ROOT / "tests" / "data" / "notebook_smoke_metrics.json"
COMPARED = ("l1", "fid", "pck", "w1_vel", "w1_acc", "f1", "diversity", "expressiveness")


def _execute(tmp_path: Path, **parameters) -> Path:
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, progress_bar=False,
                               kernel_name="python3", cwd=str(ROOT))
    return out


def _smoke(tmp_path: Path, synth_root: Path, **extra) -> dict:
    return dict(speaker="lec_cosmic", variant="ccnce", seed=0, profile="smoke", data_root=str(synth_root),
                results_dir=str(tmp_path / "results"), epochs=2,
                overrides={"warmup_epochs": 1, "max_train_windows": 64, "batch_size": 16}, **extra)


def test_parameters_cell_comes_first_and_is_tagged():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    for name in ("speaker", "variant", "seed", "profile", "data_root", "results_dir", "nproc_per_node"):
        assert re.search(rf"^{name} = ", first_code.source, re.M), name


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("book/*.ipynb")),
                         ids=lambda p: p.name)
def test_committed_notebooks_carry_no_machine_paths(path):
    text = path.read_text()
    assert not re.search(r'"(/root|/tmp|/work|/home)/', text), f"{path.name} stores an absolute machine path"


@pytest.mark.slow
def test_papermill_run_writes_the_recorded_metrics(tmp_path, synth_root):
    params = _smoke(tmp_path, synth_root)
    _execute(tmp_path, **params)
    run = Path(params["results_dir"]) / "synthetic" / "lec_cosmic" / "ccnce" / "seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    for key in COMPARED:
        assert math.isfinite(metrics[key]), key
    assert 0 <= metrics["pck"] <= 1 and 0 <= metrics["f1"] <= 1 and metrics["fid"] >= 0 and metrics["l1"] > 0
    assert metrics["data_source"] == "synthetic" and metrics["profile"] == "smoke"
    observed = {k: metrics[k] for k in COMPARED}
    if os.environ.get("CCNCE_RECORD_NOTEBOOK_METRICS") == "1":
        RECORDED.write_text(json.dumps(observed, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(RECORDED.read_text())
    for key in COMPARED:
        assert observed[key] == pytest.approx(recorded[key], rel=1e-3, abs=1e-4), key


@pytest.mark.parametrize("bad, message", [
    (dict(variant="simclr"), "variant='simclr' is not valid; expected one of none, ccnce, moco, patchnce"),
    (dict(speaker="nobody"), "nobody"),
])
def test_bad_parameters_stop_with_a_clear_message(tmp_path, synth_root, bad, message):
    params = {**_smoke(tmp_path, synth_root), **bad}
    with pytest.raises(papermill.PapermillExecutionError) as info:
        _execute(tmp_path, **params)
    assert message in str(info.value)
