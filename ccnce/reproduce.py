"""``ccnce reproduce RUN_DIR``: re-train a committed run from its recorded config and compare every metric.

The run is trained again from its ``config.json`` into a scratch folder (never into the results tree),
then each metric of its ``metrics.json`` is compared with the new value.

**Tolerance rule** (docs/EVALUATION.md, "Reproducing a run"): a metric reproduces when
``|now − committed| ≤ max(2 · s, 1e-3 · max(1, |committed|))``, where ``s`` is the sample standard deviation
(ddof 1) of that metric over the seeds of the run's cell (the sibling ``seed*`` folders of the same
speaker, variant and profile). Two seeds' spread is the noise a reader already accepts between the seeds
of a table cell; floating-point divergence across machines, which the GAN amplifies, is noise of the
same kind. The floor covers cells with a single seed (then only near-exact agreement passes). The
training record (``best_epoch``, ``epochs_run``) is shown but not judged: the best epoch flips between
near-equal dev L1 values under that same noise. A run reproduces when every judged metric does.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccnce.config import Config
from ccnce.errors import CcnceError

SPREAD = 2.0  # tolerance = SPREAD × std over seeds ...
FLOOR = 1e-3  # ... but at least FLOOR × max(1, |committed|)
RECORD = ("best_epoch", "epochs_run")  # shown, not judged
IDENTITY = ("config_hash", "data_source", "speaker", "variant", "seed", "profile")


@dataclass
class Comparison:
    committed: float
    now: float | None
    tolerance: float
    judged: bool = True

    @property
    def ok(self) -> bool:
        if not self.judged:
            return True
        if self.now is None:
            return False
        if math.isnan(self.committed) and math.isnan(self.now):
            return True
        return abs(self.now - self.committed) <= self.tolerance


@dataclass
class Reproduction:
    run_dir: str
    scratch_dir: str
    metrics: dict[str, Comparison] = field(default_factory=dict)
    certified: str | None = None  # the certifications file written, if any

    @property
    def reproduced(self) -> bool:
        return all(c.ok for c in self.metrics.values())

    def to_json(self) -> dict[str, Any]:
        judged = {k: c for k, c in self.metrics.items() if c.judged}
        return {
            "reproduced": self.reproduced,
            "run_dir": self.run_dir,
            "scratch_dir": self.scratch_dir,
            "metrics": {k: {"committed": c.committed, "now": c.now, "tolerance": c.tolerance, "ok": c.ok}
                        for k, c in judged.items()},
            "record": {k: {"committed": c.committed, "now": c.now} for k, c in self.metrics.items() if not c.judged},
            "rule": f"|now - committed| <= max({SPREAD:g} x std over the cell's seeds, {FLOOR:g} x max(1, |committed|))",
            "certified": self.certified,
        }

    def format(self) -> str:
        lines = [f"{'metric':<18} {'committed':>12} {'now':>12} {'|diff|':>10} {'tolerance':>10}  ok"]
        for name, c in self.metrics.items():
            now = "missing" if c.now is None else f"{c.now:.5g}"
            diff = "" if c.now is None else f"{abs(c.now - c.committed):.3g}"
            tol = f"{c.tolerance:.3g}" if c.judged else "(record)"
            lines.append(f"{name:<18} {c.committed:>12.5g} {now:>12} {diff:>10} {tol:>10}  {'yes' if c.ok else 'NO'}")
        verdict = "REPRODUCED" if self.reproduced else "NOT REPRODUCED"
        failed = [k for k, c in self.metrics.items() if not c.ok]
        lines.append(f"{verdict}: {self.run_dir} re-trained into {self.scratch_dir}"
                     + (f"; outside tolerance: {', '.join(failed)}" if failed else ""))
        if self.certified:
            lines.append(f"certified the current code fingerprint for this run's variant in {self.certified}")
        return "\n".join(lines)


def recorded_config(run_dir: Path) -> Config:
    path = Path(run_dir) / "config.json"
    if not path.exists() or not (Path(run_dir) / "metrics.json").exists():
        raise CcnceError(f"{run_dir}: not a complete run folder (needs config.json and metrics.json)")
    recorded = json.loads(path.read_text())
    recorded.pop("config_hash", None)
    return Config.from_dict(recorded)


def seed_spread(run_dir: Path) -> dict[str, float]:
    """Sample std (ddof 1) of every numeric metric over the seeds of the run's cell (0 with one seed)."""
    run_dir = Path(run_dir)
    profile = json.loads((run_dir / "metrics.json").read_text()).get("profile")
    values: dict[str, list[float]] = {}
    for metrics_file in sorted(run_dir.parent.glob("seed*/metrics.json")):
        m = json.loads(metrics_file.read_text())
        if m.get("profile") != profile:
            continue
        for k, v in m.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                values.setdefault(k, []).append(float(v))
    return {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()}


def tolerance(committed: float, spread: float) -> float:
    return max(SPREAD * spread, FLOOR * max(1.0, abs(committed)))


def compare(committed: dict[str, Any], now: dict[str, Any], spread: dict[str, float]) -> dict[str, Comparison]:
    """Every numeric committed metric beside its new value and tolerance (module docstring)."""
    out: dict[str, Comparison] = {}
    for name, value in committed.items():
        if name in IDENTITY or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        new = now.get(name)
        new = float(new) if isinstance(new, (int, float)) and not isinstance(new, bool) else None
        out[name] = Comparison(float(value), new, tolerance(float(value), spread.get(name, 0.0)),
                               judged=name not in RECORD)
    return out


def reproduce(run_dir: str | Path, scratch: str | Path | None = None, progress: bool = True,
              certify: bool = False) -> Reproduction:
    """Re-train ``run_dir`` from its recorded config into ``scratch`` (default: a new temporary folder)
    and compare; with ``certify``, a reproduced run certifies the current code fingerprint (ccnce.audit)."""
    from ccnce.train import train

    run_dir = Path(run_dir).resolve()
    cfg = recorded_config(run_dir)
    scratch = Path(scratch) if scratch is not None else Path(tempfile.mkdtemp(prefix="ccnce-reproduce-"))
    scratch = scratch.resolve()
    if scratch == run_dir.parents[3]:  # the run would be written to run_dir itself
        raise CcnceError(f"--scratch {scratch} would overwrite the committed run; choose a folder outside it")
    result = train(cfg.replace(results_dir=str(scratch)), progress=progress, force=True)
    committed = json.loads((run_dir / "metrics.json").read_text())
    out = Reproduction(str(run_dir), str(result.directory), compare(committed, result.metrics, seed_spread(run_dir)))
    if certify and out.reproduced:
        out.certified = str(_certify(run_dir, cfg, out))
    return out


def _certify(run_dir: Path, cfg: Config, rep: Reproduction) -> Path:
    from ccnce import audit, provenance

    prov = json.loads((run_dir / "provenance.json").read_text())
    old = prov.get("code_fingerprint")
    git = prov.get("git") or {}
    if old is None and git.get("commit") and not git.get("dirty"):
        old = audit._GitReader(Path(provenance.__file__).resolve().parents[1]).fingerprint(git["commit"])
    if old is None:
        raise CcnceError(f"{run_dir}: reproduced, but the code that trained it cannot be identified "
                         "(no code fingerprint, no clean commit); nothing to certify")
    results_root = run_dir.parents[3]  # <results>/<source>/<speaker>/<variant>/seed<k>
    evidence = {"metrics": {k: {"committed": c.committed, "now": c.now, "tolerance": c.tolerance}
                            for k, c in rep.metrics.items() if c.judged}}
    return audit.certify(results_root, old, provenance.code_fingerprint(), cfg.variant,
                         str(run_dir.relative_to(results_root)), evidence)
