"""Sweeps through submitit: every missing run as one job, on SLURM (a job array) or submitit's local executor.

``ccnce sweep --launcher slurm --partition P --gpus-per-run 1 --time-min 60`` submits the runs that are not
complete as one SLURM array; ``--launcher local`` runs them as local submitit jobs (one process each,
``--jobs`` at a time). A job executes the training notebook exactly as the in-process sweep does
(:func:`ccnce.sweep.run_one`), so the outcomes and the summary table are the same.

Preemption and time limits: a job is a :class:`submitit.helpers.Checkpointable`, so when SLURM preempts it
or its time runs out submitit requeues the same job (up to ``MAX_REQUEUES`` times for time-outs), and the
run resumes from its last epoch checkpoint (``ccnce.train``); a complete run is never re-run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccnce.config import Config
from ccnce.errors import CcnceError
from ccnce.results import is_complete, run_dir
from ccnce.sweep import RunOutcome, run_one

log = logging.getLogger(__name__)

LAUNCHERS = ("inprocess", "local", "slurm")

Runner = Callable[[Config, str], RunOutcome]


MAX_REQUEUES = 3  # time-outs after which SLURM gives a job up (preemptions requeue without limit)


def executor_options(launcher: str) -> dict[str, Any]:
    """submitit's ``AutoExecutor`` constructor options (not ``update_parameters`` ones) for ``launcher``."""
    return {"slurm_max_num_timeout": MAX_REQUEUES} if launcher == "slurm" else {}


def executor_parameters(launcher: str, partition: str | None = None, gpus_per_run: int = 0, time_min: int = 120,
                        cpus_per_run: int = 2, parallel: int = 1) -> dict[str, Any]:
    """submitit's ``update_parameters`` for ``launcher``: generic names, SLURM ones prefixed ``slurm_``."""
    if launcher not in ("local", "slurm"):
        raise CcnceError(f"--launcher {launcher!r}: submitit launchers are 'local' and 'slurm'")
    params: dict[str, Any] = {"name": "ccnce", "timeout_min": time_min, "gpus_per_node": gpus_per_run,
                              "cpus_per_task": cpus_per_run, "tasks_per_node": 1, "nodes": 1}
    if launcher == "slurm":
        if not partition:
            raise CcnceError("--launcher slurm needs --partition")
        params.update(slurm_partition=partition, slurm_array_parallelism=max(1, parallel))
    return params


def _submitit():
    try:
        import submitit
    except ImportError:
        raise CcnceError("--launcher local|slurm needs submitit: pip install submitit") from None
    return submitit


def _job_class(submitit):
    class RunJob(submitit.helpers.Checkpointable):
        """One run as a requeueable job: ``checkpoint`` (inherited) resubmits the same call, and the run
        resumes from its own training checkpoint."""

        def __init__(self, runner: Runner, config: dict[str, Any], data_source: str) -> None:
            self.runner, self.config, self.data_source = runner, config, data_source

        def __call__(self) -> RunOutcome:
            return self.runner(Config.from_dict(self.config), self.data_source)

    return RunJob


def submit(configs: list[Config], data_source: str, launcher: str, folder: str | Path,
           runner: Runner = run_one, data_fingerprint: str | None = None, **parameters: Any) -> list[RunOutcome]:
    """Submit every incomplete config of ``configs`` as a job and wait for them; one outcome per config.

    ``data_fingerprint``: the data's (see :func:`ccnce.results.is_complete`). ``parameters`` go to
    :func:`executor_parameters`. A job that dies (not a failed run, which is an
    outcome) is reported as failed with submitit's last line of error.
    """
    submitit = _submitit()
    complete = [is_complete(run_dir(c, data_source), c, data_fingerprint) for c in configs]
    outcomes = [RunOutcome(c.speaker, c.variant, c.seed, "skipped", 0.0) for c, done in zip(configs, complete) if done]
    todo = [c for c, done in zip(configs, complete) if not done]
    log.info("%d runs complete, %d to submit (%s)", len(outcomes), len(todo), launcher)
    if todo:
        executor = submitit.AutoExecutor(folder=str(folder), cluster=launcher, **executor_options(launcher))
        executor.update_parameters(**executor_parameters(launcher, **parameters))
        RunJob = _job_class(submitit)
        # SLURM: one array (its parallelism is a parameter); local: waves of ``parallel`` processes, since
        # submitit's local executor starts every job it is given at once
        wave = len(todo) if launcher == "slurm" else max(1, parameters.get("parallel", 1))
        for start in range(0, len(todo), wave):
            outcomes += _run_wave(executor, RunJob, runner, todo[start: start + wave], data_source)
    key = {(c.speaker, c.variant, c.seed): i for i, c in enumerate(configs)}
    return sorted(outcomes, key=lambda o: key[(o.speaker, o.variant, o.seed)])


def _run_wave(executor: Any, RunJob: type, runner: Runner, configs: list[Config], data_source: str) -> list[RunOutcome]:
    with executor.batch():
        jobs = [executor.submit(RunJob(runner, c.to_dict(), data_source)) for c in configs]
    log.info("submitted %d jobs: %s", len(jobs), ", ".join(str(j.job_id) for j in jobs))
    outcomes = []
    for cfg, job in zip(configs, jobs):
        t = time.perf_counter()
        try:
            outcomes.append(job.result())
        except Exception as e:  # the job itself failed (killed, out of requeues, not importable)
            outcomes.append(RunOutcome(cfg.speaker, cfg.variant, cfg.seed, "failed", time.perf_counter() - t,
                                       f"job {job.job_id}: {job_error_line(e)}"))
    return outcomes


def job_error_line(error: Exception) -> str:
    """The dead job's own exception line from submitit's error, whose text is the job's traceback between
    dashed rules, then "You can check full logs with …" and the log paths."""
    lines = [x.strip() for x in str(error).splitlines()]
    lines = [x for x in lines if x and set(x) != {"-"} and not x.startswith("- ")
             and not x.startswith("You can check full logs")]
    return lines[-1][:300] if lines else type(error).__name__
