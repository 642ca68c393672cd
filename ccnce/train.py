"""One run: (speaker, variant, seed, profile) → a results folder (METHOD.md "Training", ARCHITECTURE.md).

Reads top to bottom: build data, build model, loop over epochs (resumable), evaluate on full test
intervals, write results. Everything stochastic is seeded from ``cfg.seed`` and the epoch, and the full
training state is checkpointed every epoch, so a run killed at any point and started again ends with
the same metrics as an uninterrupted one (on CPU).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ccnce import checkpoint as ckpt
from ccnce import distributed
from ccnce import evaluate as ev
from ccnce import gesture_accuracy
from ccnce import provenance
from ccnce.config import Config
from ccnce.data.dataset import load_full_intervals, load_speaker, make_loader, training_loader
from ccnce.data.source import resolve_data
from ccnce.losses import build_contrastive
from ccnce.losses.objective import build_optimizers, train_step
from ccnce.models.discriminator import build_discriminator
from ccnce.models.generator import build_generator
from ccnce.results import is_complete, read_json, read_run_config, run_dir, write_json, write_text

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoints/last.pt"


@dataclass
class RunResult:
    directory: Path
    metrics: dict[str, Any]
    history: pd.DataFrame
    data_source: str
    resumed_from_epoch: int
    skipped: bool = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(cfg: Config, progress: bool = True, stop_after_epoch: int | None = None, force: bool = False) -> RunResult:
    """Train, evaluate and write one run; resume from its last checkpoint if there is one.

    ``stop_after_epoch`` ends the process-equivalent of a kill after that epoch's checkpoint (for tests
    and for splitting long runs); ``force`` re-runs a complete run.
    """
    t_start, started = time.perf_counter(), provenance.now()

    # --- data
    source = resolve_data(cfg.data_root, progress=progress)
    out = run_dir(cfg, source.name)
    config_hash = cfg.hash(source.fingerprint)  # the experiment and its data, not where files live
    if is_complete(out, cfg, source.fingerprint) and not force:
        log.info("run %s is complete (same config hash); skipping", out)
        return RunResult(out, read_json(out / "metrics.json"), pd.read_csv(out / "history.csv"), source.name, cfg.epochs,
                         skipped=True)
    data, test_full = _load_data(cfg, source.root, progress)
    dev_judge = gesture_accuracy.judge(data, data.dev, progress=progress)  # None without true gesture classes

    # --- models, optimisers, contrastive term
    seed_everything(cfg.seed)
    device = distributed.setup(cfg.device)  # joins the process group under torchrun
    G = build_generator(cfg).to(device)
    D = build_discriminator(cfg).to(device)
    contrastive = build_contrastive(cfg, G).to(device)
    opt_G, opt_D = build_optimizers(cfg, G, D, contrastive)
    sched_G = torch.optim.lr_scheduler.ExponentialLR(opt_G, gamma=cfg.lr_decay)
    sched_D = torch.optim.lr_scheduler.ExponentialLR(opt_D, gamma=cfg.lr_decay)
    if cfg.freeze_text:  # fill the frozen encoder's cache in a fixed order: resumed runs see the same features
        G.text.precompute((b["tokens"], b["n_tokens"]) for ws in (data.train, data.dev, test_full)
                          for b in make_loader(ws, 64, shuffle=False))
    stateful = dict(G=G, D=D, opt_G=opt_G, opt_D=opt_D, sched_G=sched_G, sched_D=sched_D, contrastive=contrastive)

    # --- resume
    history: list[dict[str, Any]] = []
    best = {"dev_l1": float("inf"), "epoch": -1, "G": None, "bad_epochs": 0}
    start_epoch = 0
    checkpoint = out / CHECKPOINT
    if checkpoint.exists() and not force:
        state = ckpt.load(checkpoint, device)
        if state["config_hash"] == config_hash:
            history, best, start_epoch = ckpt.restore(checkpoint, state, stateful)
            log.info("resuming %s from epoch %d", out, start_epoch)
        else:
            log.warning("checkpoint %s has another config hash; starting over", checkpoint)
    main = distributed.is_main()  # under torchrun rank 0 alone writes; every rank resumes from its checkpoint
    if main:
        write_json(out / "config.json", {**cfg.to_dict(), "config_hash": config_hash})

    # --- loop
    from tqdm.auto import tqdm

    epochs = tqdm(range(start_epoch, cfg.epochs), desc=f"{cfg.speaker}/{cfg.variant}/seed{cfg.seed}",
                  disable=not (progress and main), initial=start_epoch, total=cfg.epochs)
    for epoch in epochs:
        if best["bad_epochs"] >= cfg.patience and cfg.early_stopping != "none":
            break
        G.train(), D.train()
        contrastive.on_epoch_start(epoch)
        loader = training_loader(data.train, cfg, epoch)  # under torchrun: this rank's share of each batch
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}  # a diagnostic may be logged on some batches only (grad_norm_every)
        n = 0
        truth_ids, cluster_ids = [], []
        for batch in loader:
            batch = {k: _to_device(v, device) if torch.is_tensor(v) else v for k, v in batch.items()}
            logs = train_step(G, D, opt_G, opt_D, contrastive, batch, cfg, epoch, step=n)
            for k, v in logs.items():
                if isinstance(v, (int, float)):
                    sums[k] = sums.get(k, 0.0) + float(v)
                    counts[k] = counts.get(k, 0) + 1
            if "cluster_ids" in logs:
                cluster_ids.append(np.asarray(logs.pop("cluster_ids")))
                truth_ids.append(ev.dominant_class(batch["gesture"].cpu().numpy()))
            n += 1
        contrastive.on_epoch_end(epoch)
        sched_G.step(), sched_D.step()

        row = {"epoch": epoch, **distributed.mean_over_ranks({k: v / counts[k] for k, v in sums.items()})}
        row.update(ev.dev_scores(G, data.dev, cfg, device, dev_judge))
        row.update(ev.online_cluster_quality(cluster_ids, truth_ids))
        history.append(row)
        # Model selection only after the warm-up, for every variant alike: a warm-up epoch has no
        # contrastive term, so picking it would compare the backbone with itself.
        if epoch >= cfg.warmup_epochs:
            if row["dev_l1"] < best["dev_l1"] - 1e-6:
                best = {"dev_l1": row["dev_l1"], "epoch": epoch, "G": _trained_state(G), "bad_epochs": 0}
            else:
                best["bad_epochs"] += 1
        epochs.set_postfix(dev_l1=f"{row['dev_l1']:.3f}", rec=f"{row.get('rec', float('nan')):.3f}")

        if main:
            _save_checkpoint(checkpoint, stateful, config_hash, epoch, history, best)
        distributed.barrier()
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return RunResult(out, {}, pd.DataFrame(history), source.name, start_epoch)

    if not main:  # rank 0 evaluates and writes
        return RunResult(out, {}, pd.DataFrame(history), source.name, start_epoch)

    # --- evaluate the best epoch's generator on full test intervals
    if best["G"] is not None and cfg.early_stopping != "none":
        G.load_state_dict(best["G"], strict=False)
    evaluation = ev.evaluate_run(G, data, test_full, cfg, device)
    metrics = {
        **evaluation.metrics,
        **_final_cluster_quality(history),
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "config_hash": config_hash,
        "data_source": source.name,
        "speaker": cfg.speaker,
        "variant": cfg.variant,
        "seed": cfg.seed,
        "profile": cfg.profile,
    }

    # --- write results (metrics last: its presence marks the run complete)
    history_df = pd.DataFrame(history)
    write_text(out / "history.csv", history_df.to_csv(index=False))
    for name, arrays in evaluation.samples.items():
        ev.write_samples(out / f"{name}.npz", arrays)
    write_json(out / "provenance.json", {
        **provenance.collect(cfg.device, source.name, source.fingerprint), **distributed.describe(),
        "started": started, "finished": provenance.now(),
        "wall_seconds": round(time.perf_counter() - t_start, 2), "resumed_from_epoch": start_epoch,
    })
    write_json(out / "metrics.json", metrics)
    return RunResult(out, metrics, history_df, source.name, start_epoch)


def evaluate_dir(directory: str | Path, progress: bool = True, write: bool = False) -> dict[str, float]:
    """Re-evaluate a run folder: its recorded config, the best generator of its last checkpoint.

    ``write``: replace the evaluation in ``metrics.json`` and the sample files (the training record —
    history, best epoch, config hash — stays), and note the re-evaluation in ``provenance.json``.
    """
    from ccnce.errors import CcnceError

    directory = Path(directory)
    if not (directory / "config.json").exists() or not (directory / CHECKPOINT).exists():
        raise CcnceError(f"{directory}: not a run folder with a checkpoint (needs config.json and {CHECKPOINT})")
    cfg = read_run_config(directory)
    state = ckpt.load(directory / CHECKPOINT, cfg.device)
    source = resolve_data(cfg.data_root, progress=progress)
    data, test_full = _load_data(cfg, source.root, progress)
    G = build_generator(cfg).to(cfg.device)
    ckpt.load_generator(directory / CHECKPOINT, state, G)
    evaluation = ev.evaluate_run(G, data, test_full, cfg, torch.device(cfg.device))
    if write and (directory / "metrics.json").exists():
        for name, arrays in evaluation.samples.items():
            ev.write_samples(directory / f"{name}.npz", arrays)
        prov = read_json(directory / "provenance.json")
        prov["re_evaluated"] = {"at": provenance.now(), "git": provenance.git_state()}
        write_json(directory / "provenance.json", prov)
        write_json(directory / "metrics.json", {**read_json(directory / "metrics.json"), **evaluation.metrics})
    return evaluation.metrics


def _load_data(cfg: Config, root: Path, progress: bool):
    data = load_speaker(cfg, root, progress=progress)
    return data, load_full_intervals(cfg, root, "test", progress=progress, data=data)


def _to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """To a GPU from pinned memory without blocking (the copy overlaps the previous step's kernels)."""
    if device.type != "cuda":
        return x.to(device)
    return x.pin_memory().to(device, non_blocking=True)


def _final_cluster_quality(history: list[dict[str, Any]]) -> dict[str, float]:
    """The online clusters' agreement with the true gestures in the last epoch (ccnce on synthetic data)."""
    last = history[-1] if history else {}
    return {f"cluster_{k}": float(last[k]) for k in ("nmi", "ari", "purity") if np.isfinite(last.get(k, np.nan))}


# ------------------------------------------------------------------------------------ checkpoints
def _trained_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's state without frozen pretrained weights (they come from their package, not checkpoints),
    so it loads with ``strict=False``."""
    frozen = {name for name, p in module.named_parameters() if not p.requires_grad}
    frozen_modules = {name.rsplit(".", 1)[0] for name in frozen}
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()
            if k not in frozen and k.rsplit(".", 1)[0] not in frozen_modules}


def _save_checkpoint(path: Path, stateful: dict[str, Any], config_hash: str, epoch: int,
                     history: list[dict[str, Any]], best: dict[str, Any]) -> None:
    states = {name: _trained_state(obj) if name == "G" else obj.state_dict() for name, obj in stateful.items()}
    ckpt.save(path, states, config_hash, epoch, history, best)
