"""Sweeps through submitit (ccnce.launchers): jobs on the local executor, SLURM parameters."""

from __future__ import annotations

import sys

import pytest

from ccnce.config import Config
from ccnce.errors import CcnceError
from ccnce.sweep import RunOutcome, plan, summary_table

submitit = pytest.importorskip("submitit")
cloudpickle = pytest.importorskip("cloudpickle")

from ccnce.launchers import MAX_REQUEUES, executor_options, executor_parameters, job_error_line, submit  # noqa: E402


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


def test_job_error_line_is_the_jobs_exception_not_submitits_log_paths():
    trace = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nRuntimeError: the job died")
    error = Exception(f"Job (task=0) failed during processing with trace:\n----------------------\n{trace}\n"
                      "----------------------\nYou can check full logs with 'job.stderr(0)' and 'job.stdout(0)'"
                      "or at paths:\n  - /jobs/1_0_log.err\n  - /jobs/1_0_log.out")
    assert job_error_line(error) == "RuntimeError: the job died"
    assert job_error_line(Exception("")) == "Exception"


def test_slurm_parameters(tmp_path, monkeypatch):
    p = executor_parameters("slurm", partition="gpu", gpus_per_run=1, time_min=90, parallel=8)
    assert p["slurm_partition"] == "gpu" and p["gpus_per_node"] == 1 and p["timeout_min"] == 90
    assert p["slurm_array_parallelism"] == 8
    assert "slurm_partition" not in executor_parameters("local")
    with pytest.raises(CcnceError, match="--partition"):
        executor_parameters("slurm")
    with pytest.raises(CcnceError, match="launcher"):
        executor_parameters("kubernetes")
    # submitit accepts every name (it rejects unknown ones); no srun here, so its executor is told there is
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))
    executor = submitit.AutoExecutor(folder=str(tmp_path), cluster="slurm", **executor_options("slurm"))
    executor.update_parameters(**p)
    assert executor._executor.max_num_timeout == MAX_REQUEUES and executor_options("local") == {}
