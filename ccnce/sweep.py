"""A sweep of runs (speakers × variants × seeds) through the training notebook, resumable and shardable.

Each missing run is executed with papermill (``notebooks/train.ipynb``, one process per run); the
executed notebook is saved in the run folder. Complete runs (``metrics.json`` with the same config hash)
are skipped, a failed run is reported and the sweep goes on, and ``--shard i/n`` takes every n-th run so
that several machines can share one sweep without coordination (ARCHITECTURE.md, "Scale").
"""

from __future__ import annotations

import itertools
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccnce.config import Config
from ccnce.errors import ConfigError
from ccnce.results import is_complete, run_dir

log = logging.getLogger(__name__)

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train.ipynb"


@dataclass
class RunOutcome:
    speaker: str
    variant: str
    seed: int
    status: str  # "done", "skipped" (already complete) or "failed"
    seconds: float
    message: str = ""


def parse_shard(shard: str | None) -> tuple[int, int]:
    """``"i/n"`` → (i, n) with 0 ≤ i < n."""
    if not shard:
        return 0, 1
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {shard!r}: expected i/n, e.g. 0/4") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {shard!r}: need 0 <= i < n")
    return i, n


def plan(speakers: list[str], variants: list[str], seeds: list[int], profile: str, shard: str | None = None,
         **overrides: Any) -> list[Config]:
    """The configs of this shard, in a fixed order (speaker, variant, seed)."""
    i, n = parse_shard(shard)
    grid = itertools.product(speakers, variants, seeds)
    configs = [Config.from_profile(profile, speaker=s, variant=v, seed=k, **overrides) for s, v, k in grid]
    return configs[i::n]


NAMED = ("speaker", "variant", "seed", "profile", "data_root", "results_dir")
"""The fields that name a run (the notebook's parameters and ``ccnce train``'s options)."""


def profile_overrides(cfg: Config) -> dict[str, Any]:
    """Every field of ``cfg`` outside :data:`NAMED` that differs from its profile's value."""
    base = Config.from_profile(cfg.profile).to_dict()
    return {k: v for k, v in cfg.to_dict().items() if k not in NAMED and v != base[k]}


def _parameters(cfg: Config) -> dict[str, Any]:
    """Papermill parameters: the notebook's named ones plus every field that differs from the profile."""
    return {**{k: getattr(cfg, k) for k in NAMED}, "overrides": profile_overrides(cfg)}


def run_one(cfg: Config, data_source: str) -> RunOutcome:
    """Execute the training notebook for one run; never raises (a failure is an outcome)."""
    import papermill

    t = time.perf_counter()
    out = run_dir(cfg, data_source)
    out.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(str(NOTEBOOK), str(out / "train.ipynb"), parameters=_parameters(cfg),
                                   progress_bar=False, cwd=str(Path.cwd()), kernel_name="python3")
        status, message = "done", ""
    except Exception as e:  # papermill wraps the cell's exception; keep its last line
        status, message = "failed", str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__
    return RunOutcome(cfg.speaker, cfg.variant, cfg.seed, status, time.perf_counter() - t, message)


def sweep(configs: list[Config], data_source: str, jobs: int = 1, progress: bool = True,
          data_fingerprint: str | None = None) -> list[RunOutcome]:
    """Run every incomplete config of ``configs`` (``jobs`` at a time); return one outcome per config.
    ``data_fingerprint``: the data's (see :func:`ccnce.results.is_complete`)."""
    from tqdm.auto import tqdm

    complete = [is_complete(run_dir(c, data_source), c, data_fingerprint) for c in configs]
    outcomes = [RunOutcome(c.speaker, c.variant, c.seed, "skipped", 0.0) for c, done in zip(configs, complete) if done]
    todo = [c for c, done in zip(configs, complete) if not done]
    log.info("%d runs complete, %d to run", len(outcomes), len(todo))
    bar = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress)
    if jobs <= 1:
        for cfg in todo:
            outcomes.append(run_one(cfg, data_source))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for outcome in pool.map(run_one, todo, itertools.repeat(data_source)):
                outcomes.append(outcome)
                bar.update()
    bar.close()
    key = {(c.speaker, c.variant, c.seed): i for i, c in enumerate(configs)}
    return sorted(outcomes, key=lambda o: key[(o.speaker, o.variant, o.seed)])


def summary_table(outcomes: list[RunOutcome]) -> str:
    rows = [f"{'speaker':<12} {'variant':<9} {'seed':>4}  {'status':<8} {'seconds':>8}  message"]
    for o in outcomes:
        rows.append(f"{o.speaker:<12} {o.variant:<9} {o.seed:>4}  {o.status:<8} {o.seconds:>8.1f}  {o.message}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    total = sum(o.seconds for o in outcomes)
    rows.append(f"{counts['done']} done, {counts['skipped']} already complete, {counts['failed']} failed; "
                f"{total / 60:.1f} min of run time")
    return "\n".join(rows)
