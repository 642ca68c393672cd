"""``ccnce bench step [--device cuda] [--profile paper]``: milliseconds per training step (D + G) per loss
variant (default: the ``cpu`` profile on the CPU), windows per second, and on CUDA the peak memory.

All four variants share one generator architecture and one frozen, cached text encoder; each has its own
weights, discriminator, optimisers and contrastive term. CC-NCE runs after warm-up with a global bank
already filled to a realistic size (the original code held ~2,200 windows). Steps are interleaved
variant by variant, repetition by repetition, so that machine load affects all variants alike; we report
the median and the ratio of medians to ``none``, with a 95 % bootstrap interval that resamples the
repetitions as pairs (each step with the ``none`` step of the same repetition).
"""

from __future__ import annotations

import logging
import statistics
import time
from typing import Any

import numpy as np
import torch

from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.config import VARIANTS, Config
from ccnce.losses.contrastive import build_contrastive
from ccnce.losses.objective import build_optimizers, train_step
from ccnce.metrics import CI_LEVEL
from ccnce.models.discriminator import build_discriminator
from ccnce.models.generator import build_generator

log = logging.getLogger(__name__)

BANK_WARMUP_CLASSES = 120  # about the number of global clusters the original code accumulated


def warm_bank(contrastive: Any, cfg: Config, batches: int, generator: torch.Generator,
              prototypes: torch.Tensor | None = None, device: str | torch.device = "cpu") -> None:
    """Fill a CC-NCE bank with clustered windows of many classes (no generator involved)."""
    clustering = getattr(contrastive, "clustering", None)
    if clustering is None:
        return
    if prototypes is None:
        prototypes = class_prototypes(BANK_WARMUP_CLASSES, generator)
    for epoch in range(cfg.warmup_epochs + 1):
        for _ in range(batches if epoch == cfg.warmup_epochs else 2):
            y = random_batch(cfg.batch_size, generator, prototypes=prototypes)["pose"].to(device)
            S = clustering.observe(y, epoch)
            if epoch >= cfg.warmup_epochs:
                h = torch.randn(cfg.batch_size, cfg.d_model, cfg.window, generator=generator).to(device)
                clustering.cluster(y, S, contrastive.encode_for_bank(h))


def build_variant(cfg: Config, text: torch.nn.Module) -> dict[str, Any]:
    generator = build_generator(cfg, text=text)
    discriminator = build_discriminator(cfg)
    contrastive = build_contrastive(cfg, generator)
    opt_g, opt_d = build_optimizers(cfg, generator, discriminator, contrastive)
    return {"cfg": cfg, "g": generator, "d": discriminator, "c": contrastive, "opt_g": opt_g, "opt_d": opt_d}


def run(quick: bool = False, profile: str = "cpu", device: str = "cpu",
        overrides: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """Median ms/step of every variant, its ratio to ``none`` and windows/s; on CUDA also the peak memory
    of a step (bf16 autocast when the profile's ``amp`` is on; batches copied from pinned memory with
    ``non_blocking``, as training does)."""
    reps, warm_steps, pool = (5, 2, 4) if quick else (30, 3, 8)
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    base = Config.from_profile(profile, **{"device": device, **(overrides or {})})
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    prototypes = class_prototypes(16, rng)
    batches = [random_batch(base.batch_size, rng, prototypes=prototypes) for _ in range(pool)]
    if cuda:
        batches = [{k: v.pin_memory() for k, v in b.items()} for b in batches]
    shared_text = build_generator(base).text.to(dev)
    if base.freeze_text:
        shared_text.precompute((b["tokens"].to(dev), b["n_tokens"].to(dev)) for b in batches)
    runs = {}
    for variant in VARIANTS:
        cfg = base.replace(variant=variant)
        runs[variant] = build_variant(cfg, shared_text)
        for name in ("g", "d", "c"):
            runs[variant][name].to(dev)
        warm_bank(runs[variant]["c"], cfg, batches=90, generator=rng, device=dev)
    epoch = base.warmup_epochs  # the contrastive terms are active
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    peak: dict[str, int] = {v: 0 for v in VARIANTS}
    for rep in range(warm_steps + reps):
        for variant, parts in runs.items():
            if cuda:
                torch.cuda.synchronize(dev)
                torch.cuda.reset_peak_memory_stats(dev)
            start = time.perf_counter()
            batch = {k: v.to(dev, non_blocking=True) for k, v in batches[rep % pool].items()}
            train_step(parts["g"], parts["d"], parts["opt_g"], parts["opt_d"], parts["c"], batch, parts["cfg"], epoch)
            if cuda:
                torch.cuda.synchronize(dev)
                peak[variant] = max(peak[variant], torch.cuda.max_memory_allocated(dev))
            elapsed = (time.perf_counter() - start) * 1000
            if rep >= warm_steps:
                times[variant].append(elapsed)
    none = statistics.median(times["none"])
    result = {}
    for v, t in times.items():
        ms = statistics.median(t)
        result[v] = {"ms_per_step": ms, "ratio_vs_none": ms / none, "windows_per_s": base.batch_size / ms * 1000,
                     "ratio_ci95": paired_ratio_interval(t, times["none"]), "repetitions": len(t)}
        if cuda:
            result[v]["peak_mem_mib"] = peak[v] / 2**20
    bank = getattr(runs["ccnce"]["c"], "global_bank", None)
    if bank is not None:
        log.info("ccnce bank: %d clusters, %d members", bank.n_clusters, int(bank.filled.sum()))
    return result


def paired_ratio_interval(times: list[float], baseline: list[float], resamples: int = 2000,
                          seed: int = 0) -> list[float]:
    """95 % percentile-bootstrap interval of ``median(times) / median(baseline)``, resampling repetitions
    as pairs (a repetition's step and the baseline step beside it are drawn together)."""
    t, b = np.asarray(times), np.asarray(baseline)
    draws = np.random.default_rng(seed).integers(0, len(t), size=(resamples, len(t)))
    ratios = np.median(t[draws], axis=1) / np.median(b[draws], axis=1)
    tail = 100 * (1 - CI_LEVEL) / 2
    return [float(v) for v in np.percentile(ratios, [tail, 100 - tail])]


def format_result(result: dict[str, dict[str, float]]) -> str:
    memory = any("peak_mem_mib" in r for r in result.values())
    lines = [f"{'variant':<10} {'ms/step':>9} {'× none':>8} {'windows/s':>10}" + (f" {'peak MiB':>9}" if memory else "")]
    for variant, r in result.items():
        line = f"{variant:<10} {r['ms_per_step']:>9.1f} {r['ratio_vs_none']:>8.2f} {r['windows_per_s']:>10.0f}"
        lines.append(line + (f" {r['peak_mem_mib']:>9.0f}" if memory else ""))
    return "\n".join(lines)
