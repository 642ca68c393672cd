"""ccnce audit: code fingerprints, stale runs after a source change, certification, legacy runs by commit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ccnce import audit, provenance
from ccnce.cli import main
from ccnce.config import Config

PACKAGE = Path(provenance.__file__).resolve().parent


def test_config_hash_covers_the_experiment_and_data_not_paths():
    a = Config.from_profile("cpu", data_root="/here", results_dir="results")
    b = Config.from_profile("cpu", data_root="/elsewhere/pats", results_dir="/tmp/other")
    assert a.hash("f00d") == b.hash("f00d")
    assert a.hash("f00d") != a.hash("beef")
    assert a.hash("f00d") != a.replace(tau=0.2).hash("f00d")


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the package's Python sources in a git repository of its own (one commit)."""
    root = tmp_path / "repo"
    shutil.copytree(PACKAGE, root / "ccnce", ignore=shutil.ignore_patterns("__pycache__", "assets", "*.csv"))
    _git(root, "init", "-q")
    _commit(root, "code")
    return root


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    return _git(root, "rev-parse", "HEAD")


def _edit(root: Path, path: str, old: str, new: str) -> None:
    f = root / path
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))


def _append(root: Path, path: str, text: str) -> None:
    f = root / path
    f.write_text(f.read_text() + text)


def _run(results: Path, name: str, variant: str = "ccnce", **prov) -> Path:
    d = results / "synthetic" / "lec_cosmic" / variant / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"variant": variant, "speaker": "lec_cosmic"}))
    (d / "metrics.json").write_text(json.dumps({"l1": 0.5, "variant": variant}))
    (d / "provenance.json").write_text(json.dumps(prov))
    return d


def test_fingerprint_ignores_comments_and_docstrings_but_not_code(repo):
    before = provenance.code_fingerprint(repo)
    _edit(repo, "ccnce/train.py", '"""One run:', '"""Reworded. One run:')
    _append(repo, "ccnce/losses/ccnce.py", "\n# a new comment\n")
    assert provenance.code_fingerprint(repo) == before
    _append(repo, "ccnce/losses/ccnce.py", "EXTRA = 1\n")
    assert provenance.code_fingerprint(repo) != before


def test_generator_and_report_are_not_training_sources(repo):
    sources = provenance.training_sources(lambda p: (repo / p).read_text() if (repo / p).is_file() else None)
    assert "ccnce/train.py" in sources and "ccnce/losses/ccnce.py" in sources and "ccnce/config.py" in sources
    assert not any(p.startswith(("ccnce/data/synth/", "ccnce/report/")) or p == "ccnce/provenance.py" for p in sources)


def test_run_becomes_stale_after_a_source_change_and_certification_accepts_it(repo, tmp_path):
    results = tmp_path / "results"
    _run(results, "seed0", code_fingerprint=provenance.code_fingerprint(repo))
    _run(results, "seed0", variant="none", code_fingerprint=provenance.code_fingerprint(repo))
    old = provenance.code_fingerprint(repo)
    assert audit.audit(results, repo).stale == []

    _append(repo, "ccnce/losses/ccnce.py", "EXTRA = 1\n")
    new = provenance.code_fingerprint(repo)
    report = audit.audit(results, repo)
    assert [r.path for r in report.stale] == ["synthetic/lec_cosmic/ccnce/seed0", "synthetic/lec_cosmic/none/seed0"]
    assert "not certified" in report.stale[0].reason

    audit.certify(results, old, new, "ccnce", "synthetic/lec_cosmic/ccnce/seed0", {})
    report = audit.audit(results, repo)
    # certified for the variant that was reproduced, not for the other
    assert [r.path for r in report.stale] == ["synthetic/lec_cosmic/none/seed0"]
    assert json.loads((results / audit.CERTIFIED).read_text())["certifications"][0]["to"] == new


def test_certifications_chain_within_a_variant():
    certs = [{"from": "a", "to": "b", "variant": "ccnce"}, {"from": "b", "to": "c", "variant": "ccnce"},
             {"from": "c", "to": "d", "variant": "none"}]
    assert audit.certified_equivalent("a", "c", "ccnce", certs)
    assert not audit.certified_equivalent("a", "d", "ccnce", certs)
    assert not audit.certified_equivalent("a", "c", "none", certs)


def test_legacy_runs_are_judged_from_their_commit(repo, tmp_path):
    results = tmp_path / "results"
    first = _git(repo, "rev-parse", "HEAD")
    _run(results, "seed0", git={"commit": first, "dirty": False})
    _run(results, "seed1", git={"commit": first, "dirty": True})
    _edit(repo, "ccnce/train.py", '"""One run:', '"""Reworded. One run:')  # prose only
    second = _commit(repo, "prose")
    _run(results, "seed2", git={"commit": second, "dirty": False})
    _run(results, "seed3", git={"commit": "0" * 40, "dirty": False})
    report = audit.audit(results, repo)
    stale = {r.path.rsplit("/", 1)[1]: r.reason for r in report.stale}
    assert set(stale) == {"seed1", "seed3"}  # uncommitted changes; unknown commit

    _append(repo, "ccnce/losses/ccnce.py", "EXTRA = 1\n")
    _commit(repo, "code")
    stale = {r.path.rsplit("/", 1)[1] for r in audit.audit(results, repo).stale}
    assert stale == {"seed0", "seed1", "seed2", "seed3"}


def test_incomplete_runs_are_listed_not_stale(repo, tmp_path):
    results = tmp_path / "results"
    d = _run(results, "seed0", code_fingerprint=provenance.code_fingerprint(repo))
    (d / "metrics.json").unlink()
    report = audit.audit(results, repo)
    assert [r.path for r in report.incomplete] == ["synthetic/lec_cosmic/ccnce/seed0"] and report.stale == []


def test_cli_json_and_exit_status(tmp_path, capsys):
    results = tmp_path / "results"
    _run(results, "seed0", code_fingerprint=provenance.code_fingerprint())
    assert main(["audit", str(results), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 1 and out["stale"] == []
    _run(results, "seed1", code_fingerprint="0123456789abcdef")
    assert main(["audit", str(results), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["stale"] == ["synthetic/lec_cosmic/ccnce/seed1"]
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
    assert "ccnce: error:" in capsys.readouterr().err


def test_the_device_names_the_cpu_model_and_its_kernels():
    """Two CPUs whose kernels round differently train different runs from one seed: provenance tells them apart."""
    import torch

    described = provenance.device_description("cpu")
    assert described == (f"CPU {provenance.cpu_model()} ({torch.backends.cpu.get_cpu_capability()}), "
                         f"{torch.get_num_threads()} threads")
    assert provenance.cpu_model()
