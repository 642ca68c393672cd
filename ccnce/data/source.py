"""Which data a run uses: real PATS under ``data_root``, or the embedded synthetic default.

``resolve_data(cfg.data_root)`` returns a :class:`DataSource` (root, name ``"pats"`` or ``"synthetic"``,
fingerprint) that every results file records (``DataSource.to_dict()``). Without a ``data_root`` (or when
it holds no PATS data) the default synthetic dataset is generated once into the data cache
(``$CCNCE_DATA_DIR``, else ``<repository or working directory>/data/synthetic``, the Makefile's
``data/synthetic``) and reused while its completion marker says it is complete and of the current
generator version and seed. Using synthetic data is always logged as a loud warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ccnce.config import SPEAKERS
from ccnce.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_SEED = 0
DEFAULT_SIZE = "default"
CSV_NAME = "cmu_intervals_df.csv"
MISSING_NAME = "missing_intervals.h5"


@dataclass(frozen=True)
class DataSource:
    root: Path
    name: str  # "synthetic" | "pats"
    fingerprint: str

    @property
    def synthetic(self) -> bool:
        return self.name == "synthetic"

    def to_dict(self) -> dict[str, object]:
        """What results files record as ``data_source``."""
        return {"name": self.name, "root": str(self.root), "fingerprint": self.fingerprint,
                "synthetic": self.synthetic}


def default_data_dir() -> Path:
    """``$CCNCE_DATA_DIR``, else ``data/synthetic`` in the repository (editable install) or working directory."""
    env = os.environ.get("CCNCE_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    repo = Path(__file__).resolve().parents[2]
    base = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return base / "data" / "synthetic"


def has_pats_data(root: str | os.PathLike) -> bool:
    """True when ``root`` looks like a PATS-layout root (interval table and processed/ folder)."""
    root = Path(root)
    return (root / CSV_NAME).is_file() and (root / "processed").is_dir()


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def synthetic_fingerprint(root: Path, marker: dict) -> str:
    """Generator identity (version, seed, size, speakers) and the interval table."""
    identity = {k: marker.get(k) for k in ("generator_version", "seed", "size", "speakers")}
    return _digest([json.dumps(identity, sort_keys=True).encode(), (root / CSV_NAME).read_bytes()])


def pats_fingerprint(root: Path) -> str:
    """The interval table, the missing list and the number of interval files per speaker (cheap on 84k files)."""
    missing = root / MISSING_NAME
    counts = sorted((d.name, sum(1 for _ in d.glob("*.h5"))) for d in (root / "processed").iterdir() if d.is_dir())
    return _digest([(root / CSV_NAME).read_bytes(), missing.read_bytes() if missing.is_file() else b"",
                    json.dumps(counts).encode()])


def _warn_synthetic(root: Path) -> None:
    log.warning("DATA IS SYNTHETIC: using the ccnce synth dataset at %s; results on it are NOT PATS results "
                "(set data_root to a real PATS root to use PATS)", root)


def _is_current(marker: dict | None) -> bool:
    from ccnce.data.synth import is_current

    return is_current(marker, list(SPEAKERS), DEFAULT_SIZE, DEFAULT_SEED)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise generation of one cache folder between processes (e.g. parallel runs of a sweep)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resolve_data(cfg_data_root: str | None, progress: bool = True) -> DataSource:
    """The data a run uses (see the module docstring); generates the synthetic default when needed."""
    from ccnce.data.synth import generate, read_marker

    if cfg_data_root is not None:
        root = Path(cfg_data_root).expanduser().resolve()
        if has_pats_data(root):
            marker = read_marker(root)
            if marker is None:
                return DataSource(root, "pats", pats_fingerprint(root))
            if marker.get("complete") is not True:
                raise DataError(f"{root} is an incomplete `ccnce synth` output (interrupted?); "
                                f"regenerate it: ccnce synth --out {root}")
            _warn_synthetic(root)
            return DataSource(root, "synthetic", synthetic_fingerprint(root, marker))
        log.warning("data_root %s has no PATS data (no %s and processed/); falling back to the synthetic default",
                    root, CSV_NAME)
    root = default_data_dir()
    with _locked(root):
        if not _is_current(read_marker(root)):
            log.warning("generating the synthetic default dataset into %s (once; a few minutes)", root)
            generate(root, speakers=list(SPEAKERS), size=DEFAULT_SIZE, seed=DEFAULT_SEED, progress=progress)
    _warn_synthetic(root)
    return DataSource(root, "synthetic", synthetic_fingerprint(root, read_marker(root) or {}))
