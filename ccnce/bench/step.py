"""``ccnce bench step [--device cuda] [--profile paper]``: milliseconds per training step (D + G) per loss
variant (default: the ``cpu`` profile on the CPU), windows per second, and on CUDA the peak memory.

All four variants share one generator architecture and one frozen, cached text encoder; each has its own
weights, discriminator, optimisers and contrastive term. CC-NCE runs after warm-up with a global bank
already filled to a realistic size (the original code held ~2,200 windows). Steps are interleaved
variant by variant, repetition by repetition, so that machine load affects all variants alike; we report
the median and the ratio of medians to ``none``, with a 95 % bootstrap interval that resamples the
repetitions as pairs (each step with the ``none`` step of the same repetition).

Beside the four variants, the same loop measures CC-NCE with the cheaper settings of
:data:`ALTERNATIVES` (rows ``ccnce[field=value]``): what a cheaper term would cost, for a decision that
changes the numbers training computes. After that loop, further paired steps of ``none`` and the default
CC-NCE, with the term's parts timed, say where the extra time goes (``ccnce_parts``, medians in ms).
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

ALTERNATIVES: tuple[dict[str, Any], ...] = ({"bank_encoding": "memory"}, {"bank_sample_negatives": 2},
                                            {"bank_encoding": "memory", "bank_sample_negatives": 2})
"""Cheaper CC-NCE settings measured beside the default: keys stored without a forward pass of F_m
(``"memory"``), half the sampled negatives per other cluster, and both."""

PARTS = ("encode the batch for the bank", "Algorithms 1-2", "gather candidate keys", "Eq. 7: candidates, scores, InfoNCE",
         "rest of the term", "backward + update")
"""The parts of a CC-NCE step's extra time over the backbone's (:func:`ccnce_parts`)."""


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
    configs = {v: base.replace(variant=v) for v in VARIANTS}
    configs.update({alternative_name(o): base.replace(variant="ccnce", **o) for o in ALTERNATIVES})
    runs = {}
    for name, cfg in configs.items():
        runs[name] = build_variant(cfg, shared_text)
        for part in ("g", "d", "c"):
            runs[name][part].to(dev)
        warm_bank(runs[name]["c"], cfg, batches=90, generator=rng, device=dev)
    epoch = base.warmup_epochs  # the contrastive terms are active

    def step(name: str, rep: int) -> float:
        parts = runs[name]
        start = time.perf_counter()
        batch = {k: v.to(dev, non_blocking=True) for k, v in batches[rep % pool].items()}
        train_step(parts["g"], parts["d"], parts["opt_g"], parts["opt_d"], parts["c"], batch, parts["cfg"], epoch)
        if cuda:
            torch.cuda.synchronize(dev)
        return (time.perf_counter() - start) * 1000

    times: dict[str, list[float]] = {name: [] for name in runs}
    peak: dict[str, int] = {name: 0 for name in runs}
    for rep in range(warm_steps + reps):
        for name in runs:
            if cuda:
                torch.cuda.synchronize(dev)
                torch.cuda.reset_peak_memory_stats(dev)
            elapsed = step(name, rep)
            if cuda:
                peak[name] = max(peak[name], torch.cuda.max_memory_allocated(dev))
            if rep >= warm_steps:
                times[name].append(elapsed)
    none = statistics.median(times["none"])
    result: dict[str, Any] = {}
    for name, t in times.items():
        ms = statistics.median(t)
        result[name] = {"ms_per_step": ms, "ratio_vs_none": ms / none, "windows_per_s": base.batch_size / ms * 1000,
                        "ratio_ci95": paired_ratio_interval(t, times["none"]), "repetitions": len(t)}
        if cuda:
            result[name]["peak_mem_mib"] = peak[name] / 2**20
    result["ccnce_parts"] = ccnce_parts(runs["ccnce"]["c"], step, reps,
                                        synchronize=(lambda: torch.cuda.synchronize(dev)) if cuda else None)
    bank = getattr(runs["ccnce"]["c"], "global_bank", None)
    if bank is not None:
        log.info("ccnce bank: %d clusters, %d members", bank.n_clusters, int(bank.filled.sum()))
    return result


def alternative_name(overrides: dict[str, Any]) -> str:
    """The row name of a CC-NCE alternative, e.g. ``ccnce[bank_encoding=memory]``."""
    return "ccnce[" + ",".join(f"{k}={v}" for k, v in overrides.items()) + "]"


def ccnce_parts(contrastive: Any, step: Any, reps: int, synchronize: Any = None) -> dict[str, float]:
    """Where a CC-NCE step's extra time over the backbone's goes: ``reps`` pairs of steps (``step(name, i)``
    runs one training step of ``"none"`` or ``"ccnce"`` on batch ``i`` and returns its ms), the term's parts timed by
    wrapping the methods of ``contrastive`` (a :class:`~ccnce.losses.ccnce.CCNCELoss`) on the instance.
    Medians in ms of :data:`PARTS`, and ``"extra step"``, the median of the paired differences; medians
    need not add up exactly."""
    timed: dict[str, list[float]] = {}
    calls = {"encode_for_bank": (contrastive, "encode the batch for the bank"), "_keys": (contrastive, "keys"),
             "_loss": (contrastive, "loss"), "term": (contrastive, "term"),
             "observe": (contrastive.clustering, "observe"), "cluster": (contrastive.clustering, "cluster")}

    def wrap(owner: Any, method: str, label: str) -> None:
        original = getattr(owner, method)

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            if synchronize:
                synchronize()
            start = time.perf_counter()
            out = original(*args, **kwargs)
            if synchronize:
                synchronize()
            timed.setdefault(label, []).append((time.perf_counter() - start) * 1000)
            return out
        setattr(owner, method, timed_call)

    own = {method: vars(owner).get(method) for method, (owner, _) in calls.items()}  # instance attributes
    for method, (owner, label) in calls.items():
        wrap(owner, method, label)
    try:
        pairs = [(step("none", i), step("ccnce", i)) for i in range(reps)]  # each ccnce step calls each method once
    finally:
        for method, (owner, _) in calls.items():
            if own[method] is None:
                delattr(owner, method)
            else:
                setattr(owner, method, own[method])
    t = {label: np.asarray(v) for label, v in timed.items()}
    extra = np.asarray([c - n for n, c in pairs])
    algorithms = t["observe"] + t["cluster"]
    parts = {"encode the batch for the bank": t["encode the batch for the bank"], "Algorithms 1-2": algorithms,
             "gather candidate keys": t["keys"], "Eq. 7: candidates, scores, InfoNCE": t["loss"] - t["keys"],
             "rest of the term": t["term"] - t["encode the batch for the bank"] - algorithms - t["loss"],
             "backward + update": extra - t["term"], "extra step": extra}
    return {**{label: float(np.median(v)) for label, v in parts.items()}, "repetitions": reps}


def paired_ratio_interval(times: list[float], baseline: list[float], resamples: int = 2000,
                          seed: int = 0) -> list[float]:
    """95 % percentile-bootstrap interval of ``median(times) / median(baseline)``, resampling repetitions
    as pairs (a repetition's step and the baseline step beside it are drawn together)."""
    t, b = np.asarray(times), np.asarray(baseline)
    draws = np.random.default_rng(seed).integers(0, len(t), size=(resamples, len(t)))
    ratios = np.median(t[draws], axis=1) / np.median(b[draws], axis=1)
    tail = 100 * (1 - CI_LEVEL) / 2
    return [float(v) for v in np.percentile(ratios, [tail, 100 - tail])]


def format_result(result: dict[str, Any]) -> str:
    rows = {name: r for name, r in result.items() if isinstance(r, dict) and "ms_per_step" in r}
    memory = any("peak_mem_mib" in r for r in rows.values())
    width = max(10, *(len(name) for name in rows))
    lines = [f"{'variant':<{width}} {'ms/step':>9} {'× none':>8} {'95 % CI':>11} {'windows/s':>10}"
             + (f" {'peak MiB':>9}" if memory else "")]
    for name, r in rows.items():
        low, high = r.get("ratio_ci95", (r["ratio_vs_none"],) * 2)
        line = (f"{name:<{width}} {r['ms_per_step']:>9.1f} {r['ratio_vs_none']:>8.2f} {f'{low:.2f}–{high:.2f}':>11} "
                f"{r['windows_per_s']:>10.0f}")
        lines.append(line + (f" {r['peak_mem_mib']:>9.0f}" if memory else ""))
    parts = result.get("ccnce_parts")
    if isinstance(parts, dict):
        lines.append(f"where the CC-NCE step's extra {parts['extra step']:.1f} ms go (medians of "
                     f"{parts['repetitions']} paired steps):")
        lines += [f"  {label:<36} {parts[label]:>6.1f} ms" for label in PARTS if label in parts]
    return "\n".join(lines)
