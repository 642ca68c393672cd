"""One run over N data-parallel processes, started from Python: the training notebook's ``nproc_per_node``.

:func:`train` runs ``torchrun --standalone --nproc_per_node N -m ccnce train …`` (as
``python -m torch.distributed.run``, so the processes use this interpreter) for the run of a config and
reads its results back from the run folder. :func:`command` names the run by the fields of
:data:`ccnce.sweep.NAMED` and passes every other field that differs from the profile as
``--set FIELD=VALUE``, so the processes build the same config, and config hash, as the caller.

:mod:`ccnce.train` does not import this module: it is no part of the code fingerprint of training.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys

import pandas as pd

from ccnce.config import Config
from ccnce.data.source import resolve_data
from ccnce.errors import CcnceError, ConfigError
from ccnce.results import is_complete, read_json, run_dir
from ccnce.sweep import profile_overrides
from ccnce.train import RunResult

_CLI_ERROR = re.compile(r"ccnce: error: (.*)")
_EXCEPTION = re.compile(r"^(?:\[rank\d+\]:)?\s*((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)\b.*)$")


def command(cfg: Config, nproc_per_node: int) -> list[str]:
    """The torchrun command line that trains ``cfg``'s run over ``nproc_per_node`` processes."""
    if isinstance(nproc_per_node, bool) or not isinstance(nproc_per_node, int) or nproc_per_node < 1:
        raise ConfigError(f"nproc_per_node={nproc_per_node!r}: expected a whole number of processes >= 1")
    options = ["--speaker", cfg.speaker, "--variant", cfg.variant, "--seed", str(cfg.seed), "--profile", cfg.profile,
               "--results-dir", str(cfg.results_dir)]
    if cfg.data_root is not None:
        options += ["--data-root", str(cfg.data_root)]
    for key, value in sorted(profile_overrides(cfg).items()):
        options += ["--set", f"{key}={value!r}"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc_per_node}",
            "-m", "ccnce", "train", "--quiet", *options]


def error_line(output: str) -> str:
    """The cause of a failed torchrun, from its output: the first ``ccnce: error:`` line of a process, else
    the first exception line of a process (not torchrun's own ``ChildFailedError``), else ''. The first:
    the other processes fail after it, on the lost connection."""
    lines = output.splitlines()
    for line in lines:
        if match := _CLI_ERROR.search(line):
            return match.group(1).strip()
    for line in lines:
        if (match := _EXCEPTION.match(line)) and "ChildFailedError" not in line:
            return match.group(1).strip()
    return ""


def train(cfg: Config, nproc_per_node: int, progress: bool = True) -> RunResult:
    """Train ``cfg``'s run under torchrun over ``nproc_per_node`` processes (skipped when complete, as in
    :func:`ccnce.train.train`) and return it as read from its folder. Prints the processes' output when
    ``progress``; a failure raises :class:`CcnceError` with the cause in one line."""
    argv = command(cfg, nproc_per_node)
    source = resolve_data(cfg.data_root, progress=progress)
    out = run_dir(cfg, source.name)
    skipped = is_complete(out, cfg, source.fingerprint)
    if not skipped:
        tail: collections.deque[str] = collections.deque(maxlen=400)
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
            for line in process.stdout:
                tail.append(line)
                if progress:
                    print(line, end="", flush=True)
        if process.returncode:
            cause = error_line("".join(tail)) or next((x.strip() for x in reversed(tail) if x.strip()), "no output")
            raise CcnceError(f"torchrun with {nproc_per_node} processes failed (exit {process.returncode}): {cause}")
    if not (out / "metrics.json").is_file():
        raise CcnceError(f"torchrun finished but {out} has no metrics.json")
    resumed = cfg.epochs if skipped else read_json(out / "provenance.json")["resumed_from_epoch"]
    return RunResult(out, read_json(out / "metrics.json"), pd.read_csv(out / "history.csv"), source.name, resumed,
                     skipped=skipped)
