"""The Jupyter Book: its configuration, an offline build with warnings as errors against a fake results
tree, and the built Results page checked in a real headless browser.

The build (about a minute on 2 cores) runs once per session, into a temporary folder, with
``CCNCE_RESULTS_DIR`` pointing at :mod:`results_fixture`'s tree and ``CCNCE_SYNTH_DIR`` at an empty folder
(the Data page then shows what is missing instead of reading a generated dataset). The browser test
needs Chromium (Debian: ``apt-get install -y chromium``) and is skipped with that reason without it; it
keeps a screenshot of the Results page in ``artifacts/book-results.png``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from browser import Chromium, find_chromium
from ccnce.config import SPEAKERS
from ccnce.report import SEEDS, VARIANT_LABEL, VARIANT_ORDER
from results_fixture import SEEDS as FIXTURE_SEEDS
from results_fixture import make_results_tree

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
MISSING_RUNS = (("colbert", "patchnce", 0), ("colbert", "patchnce", 1), ("colbert", "patchnce", 2),
                ("bee", "moco", 2))
# the fake tree has fewer seeds than the grid the report expects; the coverage sentence counts both
FOUND = len(SPEAKERS) * len(VARIANT_ORDER) * len(FIXTURE_SEEDS) - len(MISSING_RUNS)
COVERAGE = f"{FOUND} of the {len(SPEAKERS) * len(VARIANT_ORDER) * len(SEEDS)} expected runs"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *(c["file"] for c in toc["chapters"])]


def _source(name: str) -> Path:
    matches = [p for p in (ROOT / f"{name}.ipynb", ROOT / f"{name}.md") if p.exists()]
    assert len(matches) == 1, f"{name}: expected one .ipynb or .md page, found {matches}"
    return matches[0]


# ------------------------------------------------------------------------------- configuration
def test_every_page_lives_in_book_and_exists():
    files = _toc_files()
    assert all(f.startswith("book/") for f in files)
    for name in files:
        _source(name)


def test_config_builds_offline_and_executes_every_notebook():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force" and config["only_build_toc_files"] is True
    assert {".venv", "data", "results", "notebooks", "tests"} <= set(config["exclude_patterns"])
    assert not config["launch_buttons"]["thebe"] and not config["launch_buttons"]["binderhub_url"]
    sphinx = config["sphinx"]["config"]
    assert sphinx["html_theme_options"]["use_download_button"] is True  # pages and notebooks downloadable
    assert "dollarmath" not in sphinx["myst_enable_extensions"]  # math would load MathJax from a CDN


def test_report_notebooks_are_stored_without_outputs():
    for name in _toc_files():
        path = _source(name)
        if path.suffix != ".ipynb":
            continue
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{path.name} has stored outputs"
                assert "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"])
                assert "train(" not in "".join(cell["source"]), f"{path.name}: report pages read results only"


# ------------------------------------------------------------------------------------------ build
@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """Build the book once against the fake results tree; the HTML folder."""
    tmp = tmp_path_factory.mktemp("book")
    results = tmp / "results"
    make_results_tree(results, missing=MISSING_RUNS)
    (results / "bench").mkdir()
    (results / "bench" / "step.json").write_text(json.dumps({"none": {"ms_per_step": 50.0, "ratio_vs_none": 1.0},
                                                             "ccnce": {"ms_per_step": 70.0, "ratio_vs_none": 1.4}}))
    (tmp / "no-synthetic-data").mkdir()
    # CSVs and the video go to a static folder of their own, which a copy of _config.yml adds to the
    # build's static paths, so that the built pages' links resolve without writing into book/_static/
    static = tmp / "static"
    (static / "downloads").mkdir(parents=True)  # Sphinx checks html_static_path before the notebooks write into it
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["sphinx"]["config"]["html_static_path"] = [str(ROOT / "book" / "_static"), str(static)]
    (tmp / "_config.yml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "CCNCE_RESULTS_DIR": str(results), "CCNCE_SYNTH_DIR": str(tmp / "no-synthetic-data"),
           "CCNCE_DOWNLOADS_DIR": str(static / "downloads")}
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(tmp),
               "--config", str(tmp / "_config.yml"), "-W", "-n", "--keep-going", "--all"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed:\n{log[-6000:]}"
    assert "build succeeded" in log
    html = tmp / "_build" / "html"
    assert (html / "index.html").exists()
    return html


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors_and_needs_no_network(book):
    pages = sorted(book.glob("book/*.html"))
    assert {p.stem for p in pages} == {Path(f).name for f in _toc_files()}
    external = re.compile(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    for page in [*pages, book / "index.html"]:
        assert not external.search(page.read_text()), f"{page.name} loads a remote resource"
    results = (book / "book" / "results.html").read_text()
    assert f"Coverage (synthetic): {COVERAGE}" in results
    assert "ours (synthetic)" in results and "paper (real PATS)" in results
    data = (book / "book" / "data.html").read_text()
    assert "No synthetic dataset at" in data  # the missing data is stated, not a crash


CHECK_PAGE = """(async () => {
  await Promise.all([...document.images].map(img => img.complete ? null
      : new Promise(done => { img.onload = img.onerror = done; })));
  const text = el => el.textContent.trim();
  return {
    tables: [...document.querySelectorAll("table.ccnce-table")].map(t => ({
      caption: t.caption ? text(t.caption) : "",
      header: [...t.querySelectorAll("thead th")].map(text),
      rows: [...t.querySelectorAll("tbody tr")].map(r => [...r.children].map(text)),
    })),
    images: [...document.querySelectorAll("main img")].map(img => ({
      src: img.getAttribute("src").slice(0, 80), complete: img.complete, width: img.naturalWidth,
    })),
    body: document.body.innerText,
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH; install it (Debian: apt-get install -y chromium) to check the built book")
    with Chromium() as b:
        yield b


def _assert_images_loaded(page_data: dict, minimum: int) -> None:
    images = page_data["images"]
    assert len(images) >= minimum, f"expected at least {minimum} figures, found {len(images)}"
    broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not load: {broken}"


@pytest.mark.slow
def test_results_page_in_a_browser_shows_both_tables_and_loaded_figures(book, browser):
    page = browser.open((book / "book" / "results.html").as_uri(), width=1400)
    data = page.evaluate(CHECK_PAGE)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(ARTIFACTS / "book-results.png")

    for metric in ("L1", "FID"):
        tables = [t for t in data["tables"] if t["caption"].startswith(f"{metric} — ours (synthetic)")]
        assert len(tables) == 1, f"one {metric} table expected, captions: {[t['caption'][:40] for t in data['tables']]}"
        table = tables[0]
        assert table["header"] == ["variant", *SPEAKERS, "mean"]
        assert [row[0] for row in table["rows"]] == [VARIANT_LABEL[v] for v in VARIANT_ORDER]
        cells = {row[0]: row[1:] for row in table["rows"]}
        assert cells[VARIANT_LABEL["patchnce"]][SPEAKERS.index("colbert")] == "—"
        assert all(re.fullmatch(r"[\d.]+ ± [\d.]+ \(\d\)", c) for c in cells[VARIANT_LABEL["ccnce"]][:-1])
        paper = [t for t in data["tables"] if t["caption"].startswith(f"{metric}: ours (synthetic) above the paper")]
        assert len(paper) == 1 and any("paper (real PATS)" in cell for row in paper[0]["rows"] for cell in row)
    assert COVERAGE in data["body"]
    _assert_images_loaded(data, minimum=2)


@pytest.mark.slow
def test_analysis_and_qualitative_figures_load_in_a_browser(book, browser):
    analysis = browser.open((book / "book" / "analysis.html").as_uri()).evaluate(CHECK_PAGE)
    _assert_images_loaded(analysis, minimum=6)
    qualitative = browser.open((book / "book" / "qualitative.html").as_uri()).evaluate(CHECK_PAGE)
    _assert_images_loaded(qualitative, minimum=1)


@pytest.mark.slow
def test_performance_and_data_figures_load_in_a_browser(book, browser):
    performance = browser.open((book / "book" / "performance.html").as_uri()).evaluate(CHECK_PAGE)
    _assert_images_loaded(performance, minimum=1)  # the ratios of the fake step benchmark
    assert "bank_encoding (" in performance["body"] and "not measured in this build" in performance["body"]
    data = browser.open((book / "book" / "data.html").as_uri()).evaluate(CHECK_PAGE)
    _assert_images_loaded(data, minimum=1)  # the real speakers' statistics, without the synthetic dataset
    assert "Real statistics only" in data["body"]


CHECK_VIDEO = """(async () => {
  const v = document.querySelector("video.ccnce-video");
  if (!v) return null;
  if (v.readyState < 1) await new Promise(done => { v.onloadedmetadata = v.onerror = done; });
  v.muted = true;
  let played = true;
  try { await v.play(); await new Promise(done => setTimeout(done, 700)); } catch (e) { played = String(e); }
  return {duration: v.duration, time: v.currentTime, played: played, error: v.error && v.error.code};
})()"""


@pytest.mark.slow
def test_video_plays_in_a_browser(book, browser):
    video = browser.open((book / "book" / "qualitative.html").as_uri()).evaluate(CHECK_VIDEO)
    assert video is not None, "no <video class=ccnce-video> on the Qualitative page"
    assert video["error"] is None and video["played"] is True, video
    assert video["duration"] > 0 and video["time"] > 0, video


CSV_LINKS = """[...document.querySelectorAll("p.ccnce-download a")].map(a => a.href)"""


@pytest.mark.slow
def test_csv_links_resolve_and_forest_plots_are_present(book, browser):
    for name in ("results", "analysis"):
        page = browser.open((book / "book" / f"{name}.html").as_uri())
        links = page.evaluate(CSV_LINKS)
        assert links, f"{name}: no CSV download links"
        for href in links:
            path = Path(unquote(urlparse(href).path))
            assert path.is_file() and path.stat().st_size > 0, f"{name}: CSV link {href} does not resolve"
        forests = page.evaluate("""[...document.querySelectorAll("figure.ccnce-forest")].map(f => ({
            loaded: f.querySelector("img").complete && f.querySelector("img").naturalWidth > 0,
            caption: f.querySelector("figcaption").textContent}))""")
        assert len(forests) == 2, f"{name}: expected two forest plots, found {len(forests)}"
        assert all(f["loaded"] and "Holm" in f["caption"] and "t-based 95 %" in f["caption"] for f in forests)
