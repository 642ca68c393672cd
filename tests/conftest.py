"""Shared fixtures: an isolated window cache for every test, and one small PATS-layout root per session."""

from __future__ import annotations

import os
import tempfile

import pytest

from pats_fixture import PatsFixture, make_pats_root


def pytest_configure(config: pytest.Config) -> None:
    """Notebooks collected by nbval run at smoke size and write their runs outside the repo's results/."""
    os.environ.setdefault("CCNCE_PROFILE", "smoke")
    os.environ.setdefault("CCNCE_RESULTS_DIR", tempfile.mkdtemp(prefix="ccnce-nbval-results-"))
    os.environ.setdefault("CCNCE_DOWNLOADS_DIR", tempfile.mkdtemp(prefix="ccnce-nbval-downloads-"))


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test writes to ~/.cache: CCNCE_CACHE_DIR points into pytest's temporary folder."""
    monkeypatch.setenv("CCNCE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ccnce-cache"))


@pytest.fixture(scope="session")
def pats_root(tmp_path_factory: pytest.TempPathFactory) -> PatsFixture:
    """A small PATS-layout root (lec_cosmic: 4 train, 1 dev, 1 test intervals of 160 frames). Read-only:
    tests that damage files build their own with ``make_pats_root``."""
    return make_pats_root(tmp_path_factory.mktemp("pats"))


@pytest.fixture(scope="session")
def pats_data(pats_root: PatsFixture, tmp_path_factory: pytest.TempPathFactory):
    """``load_speaker`` of ``pats_root`` with the default config (cache in its own temporary folder)."""
    from ccnce.config import Config
    from ccnce.data.dataset import load_speaker

    return load_speaker(Config(), pats_root.root, progress=False, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory):
    """A small synthetic PATS-layout root (`ccnce synth --size small`, lec_cosmic only), for training tests."""
    from ccnce.data.synth import generate

    out = tmp_path_factory.mktemp("synth-small") / "root"
    generate(out, speakers=["lec_cosmic"], size="small", seed=0, progress=False)
    return out
