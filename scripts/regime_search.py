"""The dev-only search behind the `cpu` profile's training regime (issue: a backbone that learns).

    python scripts/regime_search.py NAME OUT.jsonl [FIELD=VALUE ...]

Trains one run of the given config (default: lec_cosmic, the backbone, `cpu` profile) on the training
split and, after every epoch, scores the **dev** full intervals: L1, raw-pose FID, gesture accuracy and
FGD (the speaker's fixed gesture classifier, ccnce.gesture_accuracy). The test split is never read.
Appends one JSON line per run to OUT.jsonl: the overrides and the per-epoch rows. Nothing here is used by
the book; the Analysis page's regime study (`make regime`) shows the chosen regime against the paper's λ.
"""

import ast
import json
import sys
import time

import torch

from ccnce import gesture_accuracy
from ccnce import metrics as M
from ccnce.config import Config
from ccnce.data.dataset import load_full_intervals, load_speaker, make_loader
from ccnce.data.source import resolve_data
from ccnce.evaluate import generate
from ccnce.losses import build_contrastive
from ccnce.losses.objective import build_optimizers, train_step
from ccnce.models.discriminator import build_discriminator
from ccnce.models.generator import build_generator
from ccnce.train import seed_everything


def main(name: str, out: str, *pairs: str) -> None:
    overrides = {"variant": "none"}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    cfg = Config.from_profile(overrides.pop("profile", "cpu"), **overrides)
    source = resolve_data(cfg.data_root, progress=False)
    data = load_speaker(cfg, source.root, progress=False)
    dev = load_full_intervals(cfg, source.root, "dev", progress=False, data=data)
    judge = gesture_accuracy.judge(data, dev)
    seed_everything(cfg.seed)
    G, D = build_generator(cfg), build_discriminator(cfg)
    contrastive = build_contrastive(cfg, G)
    opt_G, opt_D = build_optimizers(cfg, G, D, contrastive)
    sched = [torch.optim.lr_scheduler.ExponentialLR(o, gamma=cfg.lr_decay) for o in (opt_G, opt_D)]
    G.text.precompute((b["tokens"], b["n_tokens"]) for ws in (data.train, data.dev, dev)
                      for b in make_loader(ws, 64, shuffle=False))
    rows, t0 = [], time.time()
    for epoch in range(cfg.epochs):
        G.train(), D.train()
        contrastive.on_epoch_start(epoch)
        sums, n = {}, 0
        for batch in make_loader(data.train, cfg.batch_size, shuffle=True, seed=cfg.seed * 100_003 + epoch,
                                 drop_last=True):
            for k, v in train_step(G, D, opt_G, opt_D, contrastive, batch, cfg, epoch).items():
                if isinstance(v, (int, float)):
                    sums[k] = sums.get(k, 0.0) + v
            n += 1
        contrastive.on_epoch_end(epoch)
        for s in sched:
            s.step()
        g = generate(G, dev, torch.device("cpu"))
        verdict = judge.score(g.pred)
        row = {"epoch": epoch, **{k: v / n for k, v in sums.items()}, "dev_l1": M.l1(g.pred, g.true),
               "dev_fid": M.fid(g.pred.reshape(-1, 96), g.true.reshape(-1, 96)),
               "dev_gesture_acc": verdict["gesture_acc"], "dev_fgd": verdict["fgd"], "seconds": time.time() - t0}
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(out, "a") as f:
        f.write(json.dumps({"name": name, "overrides": overrides, "rows": rows,
                            "dev_gesture_acc_true": verdict["gesture_acc_true"],
                            "dev_gesture_acc_chance": verdict["gesture_acc_chance"]}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
