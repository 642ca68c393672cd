"""environment.yml must list exactly the pinned pip dependencies of pyproject.toml (the pip truth)."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {r.replace(" ", "") for r in reqs}


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {r.replace(" ", "") for r in pip if not r.startswith("-e")}


def test_environment_yml_matches_pyproject():
    py, env = _pyproject_requirements(), _environment_requirements()
    assert py == env, f"only in pyproject: {sorted(py - env)}; only in environment.yml: {sorted(env - py)}"


def test_every_dependency_is_pinned():
    unpinned = [r for r in _pyproject_requirements() if "==" not in r]
    assert not unpinned, f"pin these in pyproject.toml (and environment.yml): {unpinned}"


def test_torch_is_the_local_cpu_wheel_version():
    # Any other torch request downloads GBs of CUDA on the project's machines.
    assert "torch==2.13.0" in _pyproject_requirements()
