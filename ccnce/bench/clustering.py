"""``ccnce bench clustering``: CC-NCE per batch, a per-sample loop implementation vs ours (vectorised).

What is timed, for batch sizes 32, 128 and 512, is one CC-NCE term after warm-up: Algorithm 1, Algorithm
2, the bank update and Eq. 7, with the default bank encoding (the batch's keys from the momentum copy of
``F``, ``cpu`` profile sizes), against a global bank already filled to a realistic size (128 clusters ×
20 slots; the original code held ~2,200 windows). The generator itself is not run: ``z`` and ``h`` are
random tensors of the right shape, ``z`` with gradient as in training.

The reference is the paper's pseudo-code transcribed sample by sample, organised like the original code:
``Sim`` computed pair by pair, a dictionary of member lists as ``Global_D``, members appended one by one,
and Eq. 7 evaluated pair by pair, one score ``F(z)ᵀF(z')`` per (anchor, candidate) (``speedup``). Two
variants of it show where the time goes: the loss evaluated one anchor at a time against the stacked
candidates (``speedup_vs_per_anchor``: what vectorising the clustering and the anchors adds beyond that),
and that plus re-encoding every stored member with the current ``F`` at each step, as the paper and the
original code do (``speedup_vs_full``: what the default encoding saves in practice). All use the same
threshold, bank capacity, candidate rule and key encoder as ours and run side by side, alternating, on
the same batches.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import torch
from torch import Tensor, nn

from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.bench.step import warm_bank
from ccnce.config import Config
from ccnce.losses.ccnce import CCNCELoss
from ccnce.models.generator import GeneratorOutput, build_generator, normalize_channels

BATCH_SIZES = (32, 128, 512)
RESULT_KEYS = ("batch_sizes", "vectorized_ms", "reference_ms", "speedup", "reference_per_anchor_ms",
               "speedup_vs_per_anchor", "reference_full_ms", "speedup_vs_full")
BANK_CLASSES = 120  # gesture classes of the synthetic windows: about the original's number of clusters


class LoopCCNCE:
    """CC-NCE written sample by sample (the baseline of this benchmark; see the module docstring)."""

    def __init__(self, key_encoder: nn.Module, threshold: float, cfg: Config, seed: int = 0,
                 reencode: nn.Module | None = None, per_pair: bool = False) -> None:
        self.key_encoder, self.threshold, self.reencode = key_encoder, threshold, reencode
        self.per_pair = per_pair
        self.slots, self.max_clusters = cfg.bank_slots, cfg.bank_max_clusters
        self.tau, self.per_cluster = cfg.tau, cfg.bank_sample_negatives
        self.bank: dict[int, list[tuple[Tensor, Tensor, object]]] = {}  # cluster → [(y, key, tag)]
        self.last_update: dict[int, int] = {}
        self.step_count, self.next_id = 0, 0
        self.random = random.Random(seed)

    def load_from(self, loss: CCNCELoss) -> None:
        """Start from the same bank content as a (warmed) vectorised CC-NCE term."""
        bank = loss.global_bank
        for row in bank.active.nonzero().squeeze(1).tolist():
            n = int(bank.filled[row])
            self.bank[row] = [(bank.y[row, s], bank.features[row, s], None) for s in range(n)]
            self.last_update[row] = int(bank.last_update[row])
        self.next_id = bank.max_clusters

    def term(self, y: Tensor, z: Tensor, h: Tensor) -> Tensor:
        self.step_count += 1
        if self.reencode is not None:  # the paper's "full" encoding: store h, re-encode at loss time
            keys = h.detach()
        else:
            with torch.no_grad():
                keys = normalize_channels(self.key_encoder(h))
        Y = [y[j].flatten() for j in range(y.shape[0])]
        clusters = self._batch_clustering(Y)
        targets = self._global_clustering(Y, clusters, keys)
        return self._loss(z, clusters, targets)

    def _batch_clustering(self, Y: list[Tensor]) -> list[list[int]]:
        unassigned = list(range(len(Y)))
        anchor = self.random.randrange(len(Y))
        clusters = []
        while unassigned:
            unassigned.remove(anchor)
            cluster = [anchor]
            s = {j: float(torch.dot(Y[anchor], Y[j])) for j in unassigned}
            for j in list(unassigned):
                if s[j] >= self.threshold:
                    cluster.append(j)
                    unassigned.remove(j)
            clusters.append(cluster)
            if unassigned:
                anchor = min(unassigned, key=s.__getitem__)
        return clusters

    def _global_clustering(self, Y: list[Tensor], clusters: list[list[int]], keys: Tensor) -> list[int]:
        reps = {g: self.random.choice(members)[0] for g, members in self.bank.items()}
        targets = []
        for cluster in clusters:
            y_b = Y[self.random.choice(cluster)]
            best, best_g = -float("inf"), None
            for g, y_g in reps.items():
                s = float(torch.dot(y_b, y_g))
                if s > best:
                    best, best_g = s, g
            if best_g is None or best < self.threshold:
                if len(self.bank) >= self.max_clusters:
                    stale = min((g for g in self.bank if g not in targets), key=self.last_update.__getitem__)
                    del self.bank[stale], reps[stale]
                best_g = self.next_id
                self.next_id += 1
                self.bank[best_g] = []
                reps[best_g] = y_b
            members = self.bank[best_g]
            for j in sorted(cluster):
                members.append((Y[j], keys[j], (self.step_count, j)))
                if len(members) > self.slots:
                    members.pop(0)
            self.last_update[best_g] = self.step_count
            targets.append(best_g)
        return targets

    def _loss(self, z: Tensor, clusters: list[list[int]], targets: list[int]) -> Tensor:
        joined = set(targets)
        candidates = []  # (cluster, key, tag)
        for g, members in self.bank.items():
            chosen = members if g in joined or self.per_cluster <= 0 else self.random.sample(
                members, min(self.per_cluster, len(members)))
            candidates += [(g, key, tag) for _, key, tag in chosen]
        stacked = torch.stack([key for _, key, _ in candidates])
        if self.reencode is not None:
            with torch.no_grad():
                stacked = normalize_channels(self.reencode(stacked))
        stacked = stacked.flatten(1)
        t = z.shape[-1]
        losses = []
        for cluster, g in zip(clusters, targets):
            for j in cluster:
                if self.per_pair:  # Eq. 7 literally: one score F(z)ᵀF(z') per (anchor, candidate)
                    anchor = z[j].flatten()
                    scores = torch.stack([(anchor * key).sum() for key in stacked]) / (t * self.tau)
                else:
                    scores = stacked @ z[j].flatten() / (t * self.tau)
                positive = [k for k, (c, _, tag) in enumerate(candidates) if c == g and tag != (self.step_count, j)]
                negative = [k for k, (c, _, _) in enumerate(candidates) if c != g]
                if not positive:
                    continue
                lse = torch.logsumexp(scores[negative], dim=0) if negative else scores.new_tensor(-float("inf"))
                pos = scores[positive]
                losses.append(-(pos - torch.logaddexp(pos, lse)).mean())
        return torch.stack(losses).mean() if losses else z.sum() * 0.0


def _fake_output(batch: dict[str, Tensor], cfg: Config, g: torch.Generator) -> GeneratorOutput:
    b = batch["pose"].shape[0]
    h = torch.randn(b, cfg.d_model, cfg.window, generator=g)
    z = normalize_channels(torch.randn(b, cfg.d_model, cfg.window, generator=g)).requires_grad_()
    return GeneratorOutput(pose=batch["pose"], cluster_logits=torch.empty(0), h=h, z=z, unet_levels=[])


def run(quick: bool = False) -> dict[str, Any]:
    reps = 1 if quick else 3
    cfg = Config.from_profile("cpu", variant="ccnce", bank_encoding="momentum")
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    generator = build_generator(cfg, text=nn.Identity())  # only F is used: no text model needed
    prototypes = class_prototypes(BANK_CLASSES, g)
    result: dict[str, list[float]] = {key: [] for key in RESULT_KEYS}
    for batch_size in BATCH_SIZES:
        ours = CCNCELoss(cfg.replace(batch_size=batch_size), generator)
        warm_bank(ours, cfg, batches=90, generator=g, prototypes=prototypes)
        threshold = ours.clustering.estimator.threshold
        loops = {"pair": LoopCCNCE(ours.F_momentum, threshold, cfg, per_pair=True),
                 "anchor": LoopCCNCE(ours.F_momentum, threshold, cfg),
                 "full": LoopCCNCE(ours.F_momentum, threshold, cfg.replace(bank_sample_negatives=0),
                                   reencode=generator.F)}
        for loop in loops.values():
            loop.load_from(ours)
        times: dict[str, list[float]] = {"ours": [], **{name: [] for name in loops}}
        for rep in range(reps + 1):  # the first round only warms up allocations
            batch = random_batch(batch_size, g, prototypes=prototypes)
            out = _fake_output(batch, cfg, g)
            start = time.perf_counter()
            ours.term(batch, out, epoch=cfg.warmup_epochs)
            elapsed = {"ours": time.perf_counter() - start}
            for name, loop in loops.items():
                start = time.perf_counter()
                loop.term(batch["pose"], out.z, out.h)
                elapsed[name] = time.perf_counter() - start
            if rep:
                for name, seconds in elapsed.items():
                    times[name].append(seconds)
        ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
        result["batch_sizes"].append(batch_size)
        result["reference_ms"].append(ms["pair"])
        result["vectorized_ms"].append(ms["ours"])
        result["speedup"].append(ms["pair"] / ms["ours"])
        result["reference_per_anchor_ms"].append(ms["anchor"])
        result["speedup_vs_per_anchor"].append(ms["anchor"] / ms["ours"])
        result["reference_full_ms"].append(ms["full"])
        result["speedup_vs_full"].append(ms["full"] / ms["ours"])
    return result


def format_result(result: dict[str, Any]) -> str:
    lines = [f"{'batch':>6} {'ours ms':>9} | {'per-pair ms':>12} {'×':>6} | {'per-anchor ms':>14} {'×':>6} | "
             f"{'+full enc. ms':>14} {'×':>6}"]
    for b, ours, pair, s_pair, anchor, s_anchor, full, s_full in zip(*(result[k] for k in RESULT_KEYS)):
        lines.append(f"{b:>6} {ours:>9.1f} | {pair:>12.1f} {s_pair:>5.1f}× | {anchor:>14.1f} {s_anchor:>5.1f}× | "
                     f"{full:>14.1f} {s_full:>5.1f}×")
    lines.append("per-pair: the pseudo-code transcribed (speedup); per-anchor: its loss evaluated one anchor at a time; "
                 "+full enc.: per-anchor and every stored member re-encoded by F each step (paper, original code)")
    return "\n".join(lines)
