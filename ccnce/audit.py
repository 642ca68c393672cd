"""``ccnce audit``: which committed runs would the current code still produce? (docs/ARCHITECTURE.md, "Stale runs")

A run folder is any folder under the results tree with a ``config.json``; it is *complete* when it also
has ``metrics.json``. A complete run is **stale** when the code that trained it is not the current
training code:

- its code fingerprint (``provenance.json``, :func:`ccnce.provenance.code_fingerprint`) differs from the
  current one, and no certification links the two (below);
- a run trained before provenance held a fingerprint is judged from its recorded git commit: the
  fingerprint is recomputed from that commit's files (``git cat-file``), so it is stale if the training
  sources changed since. A run trained from a working tree with uncommitted changes and no fingerprint,
  or whose commit this repository does not have, cannot be identified and counts as stale.

**Certification.** A code change that leaves results unchanged (a refactor, a faster but equivalent
kernel) is certified by ``ccnce reproduce --certify RUN_DIR``: when the re-trained run reproduces the
committed one within tolerance, the pair (run's fingerprint → current fingerprint) is recorded for that
run's *variant* in ``certified_fingerprints.json`` at the root of the results tree, which is committed
with the code. A run of variant v is current when its fingerprint equals the current one or is linked to
it by a chain of certifications of variant v. A change is certified for the variants whose runs were
reproduced, never for the others, so a change that touches one contrastive term needs a reproduced run
of that variant.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccnce import provenance

CERTIFIED = "certified_fingerprints.json"


@dataclass
class RunAudit:
    path: str  # relative to the results tree
    variant: str | None
    complete: bool
    fingerprint: str | None  # the code that trained it (None: unknown)
    fingerprint_from: str  # "provenance", "git <commit>" or "unknown"
    stale: bool = False
    reason: str = ""


@dataclass
class Audit:
    results_dir: str
    current_fingerprint: str
    runs: list[RunAudit] = field(default_factory=list)

    @property
    def stale(self) -> list[RunAudit]:
        return [r for r in self.runs if r.stale]

    @property
    def incomplete(self) -> list[RunAudit]:
        return [r for r in self.runs if not r.complete]

    def to_json(self) -> dict[str, Any]:
        return {
            "results_dir": self.results_dir,
            "current_fingerprint": self.current_fingerprint,
            "runs": len(self.runs),
            "complete": sum(r.complete for r in self.runs),
            "incomplete": [r.path for r in self.incomplete],
            "stale": [r.path for r in self.stale],
            "details": [asdict(r) for r in self.runs],
        }

    def summary(self) -> str:
        n, stale, incomplete = len(self.runs), len(self.stale), len(self.incomplete)
        return (f"{n} runs in {self.results_dir}: {n - incomplete} complete, {incomplete} incomplete, "
                f"{stale} stale (current code fingerprint {self.current_fingerprint})")

    def format(self) -> str:
        lines = [self.summary()]
        if self.stale:
            lines.append("stale (the current code would not produce them; re-train or certify):")
            lines += [f"  {r.path}  {r.reason}" for r in self.stale]
        if self.incomplete:
            lines.append("incomplete (no metrics.json):")
            lines += [f"  {r.path}" for r in self.incomplete]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------ certifications
def read_certifications(results_dir: Path) -> list[dict[str, Any]]:
    """Every certification recorded in a ``certified_fingerprints.json`` under ``results_dir``."""
    out: list[dict[str, Any]] = []
    for path in sorted(Path(results_dir).rglob(CERTIFIED)):
        out += json.loads(path.read_text()).get("certifications", [])
    return out


def certified_equivalent(fingerprint: str, current: str, variant: str | None,
                         certifications: list[dict[str, Any]]) -> bool:
    """True when a chain of certifications of ``variant`` links ``fingerprint`` to ``current`` (module doc)."""
    if fingerprint == current:
        return True
    graph: dict[str, set[str]] = defaultdict(set)
    for c in certifications:
        if c.get("variant") == variant:
            graph[c["from"]].add(c["to"])
            graph[c["to"]].add(c["from"])
    seen, todo = {fingerprint}, [fingerprint]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            if nxt == current:
                return True
            seen.add(nxt)
            todo.append(nxt)
    return False


def certify(results_root: Path, old: str, new: str, variant: str, run: str, evidence: dict[str, Any]) -> Path:
    """Record that code ``new`` reproduced run ``run`` (variant ``variant``) trained by code ``old``."""
    from ccnce.results import write_json

    path = Path(results_root) / CERTIFIED
    doc = json.loads(path.read_text()) if path.exists() else {
        "rule": "a fingerprint pair is certified for a variant when `ccnce reproduce --certify` re-trained a "
                "committed run of that variant with the new code and every metric matched within tolerance "
                "(ccnce/audit.py, docs/ARCHITECTURE.md)",
        "certifications": []}
    doc["certifications"].append({"from": old, "to": new, "variant": variant, "run": run,
                                  "at": provenance.now(), "git": provenance.git_state(), **evidence})
    write_json(path, doc)
    return path


# ------------------------------------------------------------------------------------ fingerprints of past commits
class _GitReader:
    """Reads files of past commits with one ``git cat-file --batch`` process; fingerprints cached per commit."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.cache: dict[str, str | None] = {}

    def fingerprint(self, commit: str) -> str | None:
        if commit not in self.cache:
            self.cache[commit] = self._fingerprint(commit)
        return self.cache[commit]

    def _fingerprint(self, commit: str) -> str | None:
        try:
            proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.repo, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return None
        assert proc.stdin is not None and proc.stdout is not None

        def read(path: str) -> str | None:
            proc.stdin.write(f"{commit}:{path}\n".encode())
            proc.stdin.flush()
            header = proc.stdout.readline().decode().split()
            if len(header) != 3 or header[1] != "blob":
                return None
            data = proc.stdout.read(int(header[2]) + 1)[:-1]
            return data.decode()

        try:
            if read("ccnce/train.py") is None:
                return None
            return provenance.fingerprint_of(provenance.training_sources(read))
        except SyntaxError:
            return None
        finally:
            proc.stdin.close()
            proc.wait()


# ------------------------------------------------------------------------------------ the audit
def run_folders(results_dir: Path) -> list[Path]:
    return sorted(p.parent for p in Path(results_dir).rglob("config.json") if "checkpoints" not in p.parts)


def audit(results_dir: str | Path, repo: Path | None = None) -> Audit:
    """Audit every run folder under ``results_dir`` against the code of ``repo`` (default: this package's)."""
    results_dir = Path(results_dir)
    repo = repo or Path(provenance.__file__).resolve().parents[1]
    current = provenance.code_fingerprint(repo)
    certifications = read_certifications(results_dir)
    git = _GitReader(repo)
    report = Audit(str(results_dir), current)
    for folder in run_folders(results_dir):
        report.runs.append(_audit_run(folder, results_dir, current, certifications, git))
    return report


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _audit_run(folder: Path, results_dir: Path, current: str, certifications: list[dict[str, Any]],
               git: _GitReader) -> RunAudit:
    config, prov = _read(folder / "config.json"), _read(folder / "provenance.json")
    complete = bool(_read(folder / "metrics.json"))
    run = RunAudit(str(folder.relative_to(results_dir)), config.get("variant"), complete, None, "unknown")
    if not complete:
        return run
    commit, dirty = (prov.get("git") or {}).get("commit"), (prov.get("git") or {}).get("dirty")
    if prov.get("code_fingerprint"):
        run.fingerprint, run.fingerprint_from = prov["code_fingerprint"], "provenance"
    elif commit and dirty:
        run.stale, run.reason = True, f"trained at {commit[:9]} with uncommitted changes and no code fingerprint"
        return run
    elif commit:
        run.fingerprint, run.fingerprint_from = git.fingerprint(commit), f"git {commit[:9]}"
        if run.fingerprint is None:
            run.stale, run.reason = True, f"its commit {commit[:9]} is not readable in this repository"
            return run
    else:
        run.stale, run.reason = True, "no code fingerprint and no git commit in provenance.json"
        return run
    if not certified_equivalent(run.fingerprint, current, run.variant, certifications):
        origin = "" if run.fingerprint_from == "provenance" else f" (from its commit {commit[:9]})"
        run.stale, run.reason = True, (f"code fingerprint {run.fingerprint}{origin} differs from the current "
                                       f"{current} and is not certified for {run.variant}")
    return run
