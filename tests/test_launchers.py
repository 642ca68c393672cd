"""Sweeps through submitit (ccnce.launchers): jobs on the local executor, SLURM parameters."""

from __future__ import annotations

import sys

import pytest

from ccnce.config import Config
from ccnce.errors import CcnceError
from ccnce.sweep import RunOutcome, plan, summary_table

submitit = pytest.importorskip("submitit")
cloudpickle = pytest.importorskip("cloudpickle")

from ccnce.launchers import executor_parameters, submit  # noqa: E402


def fake_run(cfg: Config, data_source: str) -> RunOutcome:
    """Stands in for the notebook run: records which process ran it."""
    import os

    if cfg.variant == "moco":
        raise RuntimeError("the job died")
    return RunOutcome(cfg.speaker, cfg.variant, cfg.seed, "done", 0.0, f"pid {os.getpid()} {data_source}")


@pytest.fixture()
def by_value():
    """The job pickles this module's functions by value: the job process does not see tests/."""
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_local_launcher_runs_each_missing_run_as_a_submitit_job(tmp_path, by_value):
    configs = plan(["lec_cosmic"], ["ccnce", "none", "moco"], [0], "smoke", results_dir=str(tmp_path / "results"))
    outcomes = submit(configs, "synthetic", "local", tmp_path / "jobs", runner=fake_run, parallel=2, time_min=5)
    assert [(o.variant, o.status) for o in outcomes] == [("ccnce", "done"), ("none", "done"), ("moco", "failed")]
    pids = {o.message.split()[1] for o in outcomes[:2]}
    assert len(pids) == 2 and str(__import__("os").getpid()) not in pids  # separate job processes
    assert "the job died" in outcomes[2].message
    assert "2 done, 0 already complete, 1 failed" in summary_table(outcomes)
    assert list((tmp_path / "jobs").glob("*_submitted.pkl"))  # submitit's own records


def test_slurm_parameters(tmp_path):
    p = executor_parameters("slurm", partition="gpu", gpus_per_run=1, time_min=90, parallel=8)
    assert p["slurm_partition"] == "gpu" and p["gpus_per_node"] == 1 and p["timeout_min"] == 90
    assert p["slurm_array_parallelism"] == 8 and p["slurm_max_num_timeout"] == 3
    assert "slurm_partition" not in executor_parameters("local")
    with pytest.raises(CcnceError, match="--partition"):
        executor_parameters("slurm")
    with pytest.raises(CcnceError, match="launcher"):
        executor_parameters("kubernetes")
    # submitit accepts every name (it rejects unknown ones)
    submitit.AutoExecutor(folder=str(tmp_path), cluster="slurm").update_parameters(**p)
