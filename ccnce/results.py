"""The results tree: one folder per run, atomic writes, completeness by config hash (ARCHITECTURE.md).

``results/<data_source>/<speaker>/<variant>/seed<k>/`` holds ``config.json``, ``metrics.json``,
``history.csv``, ``provenance.json``, small ``.npz`` samples for the book, and (ignored by git)
``checkpoints/``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ccnce.config import Config
from ccnce.errors import CcnceError


def run_dir(cfg: Config, data_source: str) -> Path:
    return Path(cfg.results_dir) / data_source / cfg.speaker / cfg.variant / f"seed{cfg.seed}"


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    _atomic(Path(path), lambda f: f.write((json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n").encode()))


def write_text(path: Path, text: str) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode()))


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    _atomic(Path(path), lambda f: np.savez_compressed(f, **arrays))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def is_complete(directory: Path, cfg: Config, data_fingerprint: str | None = None) -> bool:
    """A run is complete when its metrics exist and were produced by a config with the same hash
    (:meth:`Config.hash`: the experiment and the data fingerprint). Without ``data_fingerprint`` the
    fingerprint the run recorded in ``provenance.json`` is used, i.e. only the experiment is compared."""
    directory = Path(directory)
    metrics = directory / "metrics.json"
    if not metrics.exists():
        return False
    try:
        if data_fingerprint is None:
            data_fingerprint = read_json(directory / "provenance.json").get("data_fingerprint")
        return read_json(metrics).get("config_hash") == cfg.hash(data_fingerprint)
    except (OSError, json.JSONDecodeError):
        return False


def read_run_config(directory: Path) -> Config:
    """The :class:`Config` recorded in a run folder's ``config.json``: every field, none assumed.

    A field missing from the file is named rather than taken from a profile default (that would evaluate
    another run than the one recorded); unreadable JSON or invalid values are one-line errors too.
    """
    path = Path(directory) / "config.json"
    try:
        recorded = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CcnceError(f"{path}: not readable JSON ({' '.join(str(e).split())})") from None
    if not isinstance(recorded, dict):
        raise CcnceError(f"{path}: expected a JSON object of config fields, got {type(recorded).__name__}")
    recorded.pop("config_hash", None)
    missing = [f.name for f in dataclasses.fields(Config) if f.name not in recorded]
    if missing:
        raise CcnceError(f"{path}: missing field(s) {', '.join(missing)}; re-run the training to rewrite it")
    try:
        return Config.from_dict(recorded)
    except CcnceError as e:
        raise CcnceError(f"{path}: {e}") from None
