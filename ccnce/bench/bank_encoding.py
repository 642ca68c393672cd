"""Which ``bank_encoding`` should CC-NCE use by default? Grounding quality vs cost on a toy task.

Run: ``python -m ccnce.bench.bank_encoding [--quick]`` (prints a table; ``--json`` for the numbers).

The task isolates what CC-NCE is for, the many-to-one grounding of language in gesture: ``n_classes``
gesture classes, each spoken with ``families`` unrelated "phrase families". A window's input ``x``
(16 channels × 64 frames) is its phrase family's random prototype plus noise; its ground-truth pose ``y``
is its gesture class's prototype trajectory (random scale, shift and noise). A small convolutional encoder
maps ``x`` to ``h`` and the ``cpu`` profile's U-Net ``F`` gives ``z = normalize(F(h))``; only the CC-NCE
term trains them. Grounding is the *cross-family* k-NN class accuracy of held-out ``z``: neighbours are
looked up among windows of other phrase families only, so the score is high only if unrelated phrases of
one gesture class were pulled together (chance ≈ (families − 1) / (n_classes·families − 1)). Cost is
the median time of one training step (term + backward + update). Seeds are averaged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn

from ccnce.bench.batches import WINDOW, class_prototypes
from ccnce.config import Config
from ccnce.losses.ccnce import CCNCELoss
from ccnce.models.generator import GeneratorOutput, build_generator

ENCODINGS = ("full", "sampled", "momentum", "memory")
IN_CHANNELS = 16


class ToyTask:
    def __init__(self, n_classes: int, families: int, generator: torch.Generator) -> None:
        self.n_classes, self.families = n_classes, families
        self.gestures = class_prototypes(n_classes, generator)
        self.phrases = torch.randn(n_classes * families, IN_CHANNELS, WINDOW, generator=generator)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(x, y, gesture class, phrase family)`` of ``n`` windows."""
        family = torch.randint(self.n_classes * self.families, (n,), generator=generator)
        cls = family // self.families
        x = self.phrases[family] + torch.randn(n, IN_CHANNELS, WINDOW, generator=generator)
        scale = 0.7 + 0.6 * torch.rand(n, 1, 1, generator=generator)
        shift = torch.randint(-2, 3, (n,), generator=generator)
        y = torch.stack([self.gestures[c].roll(int(s), 0) for c, s in zip(cls, shift)]) * scale
        return x, y + 0.3 * torch.randn(y.shape, generator=generator), cls, family


def cross_family_knn_accuracy(z: Tensor, cls: Tensor, family: Tensor, k: int = 5) -> float:
    """Class accuracy of a k-NN vote (cosine of flattened ``z``) among windows of *other* families."""
    v = F_nn.normalize(z.flatten(1), dim=1)
    sim = (v @ v.T).masked_fill(family[:, None] == family[None, :], -torch.inf)
    votes = cls[sim.topk(k, dim=1).indices]
    predicted = torch.mode(votes, dim=1).values
    return float((predicted == cls).float().mean())


def train_one(encoding: str, task: ToyTask, seed: int, checkpoints: tuple[int, ...],
              steps_per_epoch: int) -> dict[str, Any]:
    """Train with ``encoding``; k-NN grounding after each number of steps in ``checkpoints``."""
    steps = max(checkpoints)
    cfg = Config.from_profile("cpu", variant="ccnce", bank_encoding=encoding, similarity="cosine",
                              warmup_epochs=1, bank_reset="epoch", seed=seed)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = build_generator(cfg, text=nn.Identity())  # only F is used
    encoder = nn.Sequential(nn.Conv1d(IN_CHANNELS, cfg.d_model, 3, padding=1), nn.LeakyReLU(0.2),
                            nn.Conv1d(cfg.d_model, cfg.d_model, 3, padding=1))
    loss_fn = CCNCELoss(cfg, model)
    params = list(encoder.parameters()) + list(model.F.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=cfg.weight_decay)
    x_test, _, cls_test, fam_test = task.sample(512, torch.Generator().manual_seed(10_000 + seed))

    def grounding() -> float:
        with torch.no_grad():
            return cross_family_knn_accuracy(model.embed(encoder(x_test)), cls_test, fam_test)

    curve = {0: grounding()}
    times = []
    total = steps_per_epoch * cfg.warmup_epochs + steps
    for step in range(total):
        epoch = step // steps_per_epoch
        if step % steps_per_epoch == 0:
            loss_fn.on_epoch_start(epoch)
        x, y, _, _ = task.sample(cfg.batch_size, g)
        start = time.perf_counter()
        h = encoder(x)
        z = model.embed(h)
        out = GeneratorOutput(pose=y, cluster_logits=torch.empty(0), h=h, z=z, unet_levels=[])
        loss, _ = loss_fn.term({"pose": y}, out, epoch)
        if loss.requires_grad:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if epoch >= cfg.warmup_epochs:
            times.append(time.perf_counter() - start)
            done = len(times)
            if done in checkpoints:
                curve[done] = grounding()
    return {"curve": curve, "ms_per_step": 1000 * statistics.median(times)}


def run(quick: bool = False) -> dict[str, Any]:
    seeds, checkpoints = ((0,), (30, 60)) if quick else ((0, 1, 2), (25, 50, 100, 200))
    task = ToyTask(n_classes=16, families=4, generator=torch.Generator().manual_seed(123))
    result: dict[str, Any] = {"checkpoints": list(checkpoints), "seeds": list(seeds)}
    for encoding in ENCODINGS:
        runs = [train_one(encoding, task, seed, checkpoints, steps_per_epoch=100) for seed in seeds]
        result[encoding] = {
            "knn": [statistics.mean(r["curve"][c] for r in runs) for c in (0, *checkpoints)],
            "knn_final_per_seed": [r["curve"][checkpoints[-1]] for r in runs],
            "ms_per_step": statistics.mean(r["ms_per_step"] for r in runs),
        }
    result["chance"] = (task.families - 1) / (task.n_classes * task.families - 1)
    return result


def format_result(result: dict[str, Any]) -> str:
    steps = [0, *result["checkpoints"]]
    header = " ".join(f"{f'@{s}':>7}" for s in steps)
    lines = [f"{'encoding':<10} {header} {'ms/step':>9}   (cross-family k-NN accuracy after n steps)"]
    for encoding in ENCODINGS:
        r = result[encoding]
        knn = " ".join(f"{v:>7.3f}" for v in r["knn"])
        lines.append(f"{encoding:<10} {knn} {r['ms_per_step']:>9.1f}")
    lines.append(f"chance {result['chance']:.3f}; seeds {result['seeds']}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    outcome = run(quick=args.quick)
    print(json.dumps(outcome, indent=2) if args.json else format_result(outcome))
