"""One run over N processes from Python (ccnce.torchrun): the command line, its config, its errors.

A real 2-process run, killed and resumed, is in test_distributed.py.
"""

from __future__ import annotations

import sys

import pytest

from ccnce import torchrun
from ccnce.cli import _config, build_parser
from ccnce.config import Config
from ccnce.errors import CcnceError, ConfigError


def test_the_command_trains_the_same_config_over_n_processes(tmp_path):
    cfg = Config.from_profile("smoke", speaker="maher", variant="moco", seed=3, data_root=str(tmp_path / "pats"),
                              results_dir=str(tmp_path / "results"), epochs=2, tau=0.25, similarity="cosine",
                              max_train_windows=None, freeze_text=False)
    argv = torchrun.command(cfg, 2)
    assert argv[:6] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    assert argv[6:8] == ["ccnce", "train"]
    args = build_parser().parse_args(argv[7:])
    assert _config(args, speaker=args.speaker, variant=args.variant, seed=args.seed) == cfg


def test_without_overrides_or_data_root_the_command_names_the_run_only():
    argv = torchrun.command(Config.from_profile("cpu"), 4)
    assert "--set" not in argv and "--data-root" not in argv and "--nproc_per_node=4" in argv


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_a_bad_number_of_processes_is_one_clear_error(bad):
    with pytest.raises(ConfigError, match=r"nproc_per_node=.*expected a whole number of processes >= 1"):
        torchrun.command(Config.from_profile("smoke"), bad)


TORCHRUN_FAILED = """\
ccnce: error: batch_size=15 must be divisible by the number of processes (2)
ccnce: error: batch_size=15 must be divisible by the number of processes (2)
W1202 13:09:54.142000 6323 torch/distributed/elastic/multiprocessing/api.py:1028] Sending process 6328 closing signal SIGTERM
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/torch/distributed/launcher/api.py", line 383, in launch_agent
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
"""

RANK_RAISED = """\
[rank1]: Traceback (most recent call last):
[rank1]:   File "/repo/ccnce/train.py", line 80, in train
[rank1]: RuntimeError: boom on rank 1
[rank0]: torch.distributed.DistBackendError: Connection closed by peer
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
"""


def test_error_line_is_the_processes_own_cause_not_torchruns():
    assert torchrun.error_line(TORCHRUN_FAILED) == "batch_size=15 must be divisible by the number of processes (2)"
    assert torchrun.error_line(RANK_RAISED) == "RuntimeError: boom on rank 1"
    assert torchrun.error_line("torch.distributed.elastic.multiprocessing.errors.ChildFailedError:\n") == ""


def test_a_failed_torchrun_raises_one_line(tmp_path, monkeypatch, pats_root):
    cfg = Config.from_profile("smoke", data_root=str(pats_root.root), results_dir=str(tmp_path))
    monkeypatch.setattr(torchrun, "command", lambda cfg, n: [sys.executable, "-c", "raise ValueError('no')"])
    with pytest.raises(CcnceError, match=r"^torchrun with 2 processes failed \(exit 1\): ValueError: no$"):
        torchrun.train(cfg, 2, progress=False)
