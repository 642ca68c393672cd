"""``ccnce bench scale``: what more processes buy, measured side by side in one run.

- **ddp**: windows/s of the CC-NCE training step (D + G; default the ``cpu`` profile, its global batch)
  in one process against ``WORLD`` gloo processes that each take their share of the same global batch
  (:mod:`ccnce.distributed`: gradients averaged, clusters formed on the gathered batch). The threads
  this process may use are split between the processes. Rounds alternate 1 and ``WORLD`` processes, so
  machine load affects both alike; the median round counts.
- **launchers**: wall time of the same ``smoke`` runs (lec_cosmic, ``none``) through the sweep from this
  process (``--launcher inprocess``) and as submitit local jobs (``--launcher local``), each into a fresh
  results folder, alternating. The data is the default dataset (``ccnce sweep``'s).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ccnce import distributed
from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.bench.step import build_variant, warm_bank
from ccnce.config import Config
from ccnce.data.source import resolve_data
from ccnce.errors import CcnceError
from ccnce.launchers import submit
from ccnce.losses.objective import train_step
from ccnce.models.generator import build_generator
from ccnce.sweep import plan, sweep

WORLD = 2
VARIANT = "ccnce"


def _ddp_worker(rank: int, world: int, rendezvous: str, out: str, settings: dict[str, Any]) -> None:
    """One rank: ms per step of ``settings["steps"]`` timed steps on its share of every global batch."""
    torch.set_num_threads(settings["threads"])
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        cfg = Config.from_profile(settings["profile"], **{**settings["overrides"], "variant": VARIANT, "device": "cpu"})
        torch.manual_seed(0)
        rng = torch.Generator().manual_seed(0)
        prototypes = class_prototypes(16, rng)
        share = distributed.local_slice(distributed.local_batch_size(cfg.batch_size))
        batches = [{k: v[share] for k, v in random_batch(cfg.batch_size, rng, prototypes=prototypes).items()}
                   for _ in range(4)]
        text = build_generator(cfg).text
        if cfg.freeze_text:
            text.precompute((b["tokens"], b["n_tokens"]) for b in batches)
        parts = build_variant(cfg, text)
        warm_bank(parts["c"], cfg, batches=90, generator=rng)
        warm, steps = 2, settings["steps"]
        for i in range(warm + steps):
            if i == warm:
                distributed.barrier()
                start = time.perf_counter()
            train_step(parts["g"], parts["d"], parts["opt_g"], parts["opt_d"], parts["c"], batches[i % len(batches)],
                       cfg, cfg.warmup_epochs)
        distributed.barrier()
        if rank == 0:
            Path(out).write_text(str((time.perf_counter() - start) * 1000 / steps))
    finally:
        distributed.teardown()


def _ddp_round(world: int, settings: dict[str, Any]) -> float:
    """ms per global step over ``world`` fresh processes."""
    with tempfile.TemporaryDirectory(prefix="ccnce-bench-ddp-") as tmp:
        out = Path(tmp) / "ms"
        threads = max(1, settings["threads_total"] // world)
        try:
            mp.spawn(_ddp_worker, args=(world, str(Path(tmp) / "rendezvous"), str(out), {**settings, "threads": threads}),
                     nprocs=world, join=True)
        except Exception as e:  # a rank raised: its last line
            raise CcnceError(f"bench scale: the {world}-process step failed: {str(e).strip().splitlines()[-1]}") from None
        return float(out.read_text())


def ddp_step(profile: str, overrides: dict[str, Any], rounds: int, steps: int) -> dict[str, Any]:
    """The ``ddp`` half of the benchmark (module docstring)."""
    batch = Config.from_profile(profile, **overrides).batch_size
    settings = {"profile": profile, "overrides": overrides, "steps": steps, "threads_total": torch.get_num_threads()}
    times: dict[int, list[float]] = {1: [], WORLD: []}
    for _ in range(rounds):
        for world in times:
            times[world].append(_ddp_round(world, settings))
    result: dict[str, Any] = {"variant": VARIANT, "profile": profile, "global_batch": batch, "world": WORLD,
                              "rounds": rounds, "steps": steps, "threads_total": settings["threads_total"]}
    for world, t in times.items():
        ms = statistics.median(t)
        result[f"world_{world}"] = {"ms_per_step": ms, "windows_per_s": batch / ms * 1000}
    result["speedup"] = result["world_1"]["ms_per_step"] / result[f"world_{WORLD}"]["ms_per_step"]
    return result


def sweep_launchers(seeds: list[int], rounds: int) -> dict[str, Any]:
    """The ``launchers`` half of the benchmark (module docstring)."""
    source = resolve_data(None, progress=False)
    walls: dict[str, list[float]] = {"inprocess": [], "local": []}
    for _ in range(rounds):
        for launcher in walls:
            with tempfile.TemporaryDirectory(prefix=f"ccnce-bench-{launcher}-") as tmp:
                configs = plan(["lec_cosmic"], ["none"], seeds, "smoke", results_dir=str(Path(tmp) / "results"))
                start = time.perf_counter()
                if launcher == "inprocess":
                    outcomes = sweep(configs, source.name, progress=False, data_fingerprint=source.fingerprint)
                else:
                    outcomes = submit(configs, source.name, "local", Path(tmp) / "jobs",
                                      data_fingerprint=source.fingerprint, time_min=30)
                walls[launcher].append(time.perf_counter() - start)
            failed = [o.message for o in outcomes if o.status != "done"]
            if failed:
                raise CcnceError(f"bench scale: a {launcher} run failed: {failed[0]}")
    result: dict[str, Any] = {"runs": len(seeds), "profile": "smoke", "rounds": rounds}
    for launcher, w in walls.items():
        result[launcher] = {"wall_s": statistics.median(w), "s_per_run": statistics.median(w) / len(seeds)}
    result["local_vs_inprocess"] = result["local"]["wall_s"] / result["inprocess"]["wall_s"]
    return result


def run(quick: bool = False, profile: str = "cpu", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Both halves; ``quick``: one round of each, 3 timed steps, one run per launcher."""
    rounds, steps, seeds = (1, 3, [0]) if quick else (3, 10, [0, 1])
    return {"ddp": ddp_step(profile, overrides or {}, rounds, steps), "launchers": sweep_launchers(seeds, rounds)}


def format_result(result: dict[str, Any]) -> str:
    d, la = result["ddp"], result["launchers"]
    lines = [f"ddp: {d['variant']} step, {d['profile']} profile, global batch {d['global_batch']}, "
             f"{d['threads_total']} threads in all"]
    for world in (1, d["world"]):
        r = d[f"world_{world}"]
        label = f"{world} process{'es' if world > 1 else ''}:"
        lines.append(f"  {label:<13} {r['ms_per_step']:8.1f} ms/step {r['windows_per_s']:8.0f} windows/s")
    lines.append(f"  speed-up {d['speedup']:.2f}×")
    lines.append(f"launchers: {la['runs']} {la['profile']} run(s)")
    for launcher in ("inprocess", "local"):
        lines.append(f"  {launcher + ':':<13} {la[launcher]['wall_s']:8.1f} s")
    lines.append(f"  local ÷ inprocess {la['local_vs_inprocess']:.2f}×")
    return "\n".join(lines)
