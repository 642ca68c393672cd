"""The CC-NCE study: clustering replay, its controls (oracle, k-means), the loss floor, the study options."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from ccnce import evaluate as ev
from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.clustering import (MiniBatchKMeans, OnlineClustering, batch_clustering, build_clustering, dominant_gesture,
                              similarity)
from ccnce.config import HASH_NEUTRAL, Config
from ccnce.gradnorms import term_gradient_norms
from ccnce.losses.contrastive import build_contrastive
from ccnce.models.generator import build_generator
from ccnce.study import epoch_batches, floor_grid, loss_family, loss_floor, replay


class ToyText(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(30522, d_model)

    def forward(self, tokens, n_tokens):
        return self.embedding(tokens), torch.arange(tokens.shape[1])[None, :] >= n_tokens[:, None]


def batches_of(n_batches: int, n_classes: int = 5, noise: float = 0.2, batch_size: int = 16, seed: int = 0):
    """``batches(epoch)`` over fixed random windows of ``n_classes`` classes, reshuffled every epoch."""
    g = torch.Generator().manual_seed(seed)
    protos = class_prototypes(n_classes, g)
    data = [random_batch(batch_size, g, prototypes=protos, noise=noise) for _ in range(n_batches)]
    pose = torch.cat([b["pose"] for b in data])
    gesture = torch.cat([b["gesture"] for b in data])

    def batches(epoch: int):
        order = torch.randperm(len(pose), generator=torch.Generator().manual_seed(epoch))
        for chunk in order.split(batch_size):
            yield {"pose": pose[chunk], "gesture": gesture[chunk], "index": chunk}

    return batches


# ---------------------------------------------------------------------------------------- replay
def test_replay_reproduces_the_training_loop_clusters(synth_root, tmp_path, monkeypatch):
    from ccnce.data.dataset import load_speaker
    from ccnce.train import train

    recorded = []
    quality = ev.online_cluster_quality
    monkeypatch.setattr(ev, "online_cluster_quality", lambda ids, truth: recorded.append(ids) or quality(ids, truth))
    cfg = Config.from_profile("smoke", data_root=str(synth_root), results_dir=str(tmp_path), epochs=2,
                              warmup_epochs=1, max_train_windows=48, batch_size=16)
    assert cfg.bank_encoding == "momentum"  # candidates are sampled: the replay must draw as training does
    history = train(cfg, progress=False).history
    trained = recorded[-1]  # the last epoch's global cluster of every training window, batch by batch

    data = load_speaker(cfg, synth_root, progress=False)
    replayed = replay(cfg, epoch_batches(data.train, cfg), n_classes=2, clustering_epochs=1)
    assert len(replayed["cluster_ids"]) == len(trained) == 3
    for a, b in zip(replayed["cluster_ids"], trained):
        np.testing.assert_array_equal(a, b)
    assert replayed["nmi"] == pytest.approx(history["nmi"].iloc[-1], abs=1e-12)


def test_oracle_clusters_are_the_true_gestures():
    cfg = Config.from_profile("smoke", clusters="oracle", warmup_epochs=1, epochs=3)
    figures = replay(cfg, batches_of(6), n_classes=5)
    assert figures["nmi"] == pytest.approx(1.0) and figures["ari"] == pytest.approx(1.0)
    assert figures["positive_purity"] == 1.0 and figures["negative_same_class"] == 0.0
    assert figures["loss_floor"] < 1e-3 < figures["loss_collapse"]


def test_oracle_leaves_out_windows_without_a_dominant_gesture():
    cfg = Config.from_profile("smoke", clusters="oracle", warmup_epochs=0)
    clustering = build_clustering(cfg)
    batch = next(batches_of(1)(0))
    batch["gesture"][:4, :40] = -1  # 24 of 64 frames known: no dominant gesture
    y = batch["pose"]
    result = clustering.cluster(y, clustering.observe(y, 0), torch.zeros(16, 1), gesture=batch["gesture"])
    assert (result.rows[:4] == -1).all() and (result.slots[:4] == -1).all()
    assert (result.rows[4:] == dominant_gesture(batch["gesture"])[4:]).all()
    assert clustering.global_bank.filled.sum() == 12


def test_kmeans_finds_well_separated_classes():
    cfg = Config.from_profile("smoke", clusters="kmeans", kmeans_k=5, warmup_epochs=1, epochs=3)
    figures = replay(cfg, batches_of(6, noise=0.05), n_classes=5)
    assert figures["nmi"] > 0.9


def test_paper_replay_finds_planted_classes_and_settings_change_it():
    batches = batches_of(6, noise=0.3)
    paper = replay(Config.from_profile("smoke", warmup_epochs=1, similarity="cosine"), batches, n_classes=5)
    strict = replay(Config.from_profile("smoke", warmup_epochs=1, similarity="cosine", threshold_k=50.0), batches,
                    n_classes=5)
    assert paper["nmi"] > 0.8 and paper["positive_purity"] > 0.8
    assert strict["n_global_clusters"] > paper["n_global_clusters"]  # nothing passes the threshold: singletons


# ---------------------------------------------------------------------------------------- loss floor
def test_loss_floor_on_a_hand_computed_case():
    # one anchor; candidates: a same-class positive, one same-class and two other-class negatives
    positive = torch.tensor([[True, False, False, False]])
    negative = ~positive
    same = torch.tensor([[True, True, False, False]])
    tau, G = 0.5, 3
    by_a = loss_family(same, positive, negative, tau, floor_grid(G))
    # best at the simplex, a = -1/(G-1): log(1 + n_same + n_diff·e^{(a-1)/τ})
    assert loss_floor(by_a) == pytest.approx(math.log(2 + 2 * math.exp(-3)))
    assert by_a[-1] == pytest.approx(math.log(4))  # collapse: log(1 + |N|)
    # a positive of another class: collapse is best, log(1 + n_same·e^{(1-a)/τ} + n_diff) at a = 1
    same_wrong = torch.tensor([[False, True, False, False]])
    assert loss_floor(loss_family(same_wrong, positive, negative, tau, floor_grid(G))) == pytest.approx(math.log(4))


# ---------------------------------------------------------------------------------------- options
def test_shift_similarity_tolerates_time_shifts():
    g = torch.Generator().manual_seed(0)
    y = class_prototypes(3, g)  # (3, 64, 96) smooth trajectories
    shifted = torch.cat([y[:, 6:], y[:, -6:]], dim=1)  # the same gesture 6 frames earlier
    a, b = y.flatten(1), shifted.flatten(1)
    S = similarity(a, b, "shift", frame_dim=96)
    assert torch.allclose(S.diagonal(), torch.ones(3), atol=1e-5)
    assert (similarity(a, b, "cosine").diagonal() < S.diagonal() - 0.05).all()
    S_ab = similarity(a, a, "shift", frame_dim=96)
    assert torch.allclose(S_ab, S_ab.T, atol=1e-6)


def test_alg2_mean_is_average_linkage():
    g = torch.Generator().manual_seed(1)
    clustering = build_clustering(Config.from_profile("smoke", alg2="mean", warmup_epochs=0))
    y1, y2 = random_batch(16, g, n_classes=4)["pose"], random_batch(16, g, n_classes=4)["pose"]
    first = clustering.cluster(y1, clustering.observe(y1, 0), torch.zeros(16, 1))
    S2 = clustering.observe(y2, 0)
    batch_clusters = batch_clustering(S2, clustering.estimator.threshold, 0)
    S_global, _ = clustering._linkage(y2.flatten(1), S2, batch_clusters, torch.arange(batch_clusters.n), None)
    bank, row = clustering.global_bank, int(first.rows[0])
    stored = bank.y[row, : int(bank.filled[row])]
    members = y2.flatten(1)[batch_clusters.assignment == 0]
    assert S_global[0, row] == pytest.approx(float((members @ stored.T).mean()), rel=1e-4)


def test_decoupled_head_lets_gradient_reach_F_and_the_fusion():
    cfg = Config.from_profile("smoke", warmup_epochs=1, ccnce_head="window", bank_encoding="full")
    torch.manual_seed(0)
    G = build_generator(cfg, text=ToyText(cfg.d_model))
    term = build_contrastive(cfg, G)
    batches = list(batches_of(3, noise=0.3)(0))
    for b in batches:
        b.update({k: v for k, v in random_batch(16, torch.Generator().manual_seed(2)).items() if k not in b})
    for b in batches[:2]:
        term.term(b, G(b), epoch=1)
    loss, _ = term.term(batches[2], G(batches[2]), epoch=1)
    assert loss.item() > 0
    loss.backward()
    for module in (G.F, G.fusion, term.head):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert all(p.grad is None for p in G.decoder.parameters())


def test_term_gradient_norms():
    p = torch.ones(3, requires_grad=True)
    q = torch.ones(2, requires_grad=True)
    norms = term_gradient_norms({"a": (2 * p).sum(), "b": q.sum(), "c": torch.zeros(())}, [p])
    assert norms == {"grad_a": pytest.approx(2 * math.sqrt(3)), "grad_b": 0.0, "grad_c": 0.0}


def test_default_config_is_unchanged_by_the_study_options():
    cfg = Config.from_profile("cpu")
    assert {k: getattr(cfg, k) for k in HASH_NEUTRAL} == HASH_NEUTRAL
    # the hash of the config as it was before the study options existed
    before = {k: v for k, v in cfg.to_dict().items()
              if k not in HASH_NEUTRAL and k not in ("data_root", "results_dir", "device", "num_workers")}
    assert cfg.hash() == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:12]
    assert cfg.replace(clusters="oracle").hash() != cfg.hash()
    clustering = build_clustering(cfg)
    assert type(clustering) is OnlineClustering and clustering.alg2 == "one" and clustering.estimator.k == 1.0


def test_kmeans_needs_k():
    from ccnce.errors import ConfigError

    with pytest.raises(ConfigError, match="kmeans_k"):
        Config.from_profile("smoke", clusters="kmeans")
    with pytest.raises(ConfigError, match="batch size"):
        MiniBatchKMeans(20, torch.Generator()).update(torch.randn(4, 8))


@pytest.mark.parametrize("options", [{"clusters": "oracle"}, {"clusters": "kmeans", "kmeans_k": 4},
                                     {"similarity": "shift", "alg2": "max"}, {"alg2": "mean", "bank_reset": "never"},
                                     {"ccnce_head": "window"}])
def test_study_options_train(options):
    from ccnce.losses.objective import build_optimizers, train_step
    from ccnce.models.discriminator import build_discriminator

    cfg = Config.from_profile("smoke", warmup_epochs=1, grad_norm_every=2, **options)
    torch.manual_seed(0)
    G = build_generator(cfg, text=ToyText(cfg.d_model))
    D = build_discriminator(cfg)
    term = build_contrastive(cfg, G)
    opt_g, opt_d = build_optimizers(cfg, G, D, term)
    g = torch.Generator().manual_seed(0)
    protos = class_prototypes(4, g)
    batches = [random_batch(16, g, prototypes=protos, noise=0.3) for _ in range(3)]
    logs = [train_step(G, D, opt_g, opt_d, term, b, cfg, epoch=e, step=i)
            for i, (e, b) in enumerate(zip((0, 1, 1), batches))]
    assert "grad_rec" in logs[0] and "grad_rec" not in logs[1] and logs[2]["grad_contrastive"] > 0
    assert math.isfinite(logs[2]["contrastive"]) and logs[2]["contrastive"] > 0
    assert logs[2]["grad_rec"] > 0 and logs[0]["grad_contrastive"] == 0.0  # warm-up: no contrastive term


def test_logging_gradient_norms_leaves_training_unchanged():
    """The study's arms log per-term gradient norms; the extra backward passes must not move any weight, so
    the ``paper`` arm trains exactly as the default sweep's CC-NCE."""
    from ccnce.losses.objective import build_optimizers, train_step
    from ccnce.models.discriminator import build_discriminator

    def weights_after(grad_norm_every: int) -> dict[str, torch.Tensor]:
        cfg = Config.from_profile("smoke", warmup_epochs=1, grad_norm_every=grad_norm_every)
        torch.manual_seed(0)
        G = build_generator(cfg, text=ToyText(cfg.d_model))
        D = build_discriminator(cfg)
        term = build_contrastive(cfg, G)
        opt_g, opt_d = build_optimizers(cfg, G, D, term)
        g = torch.Generator().manual_seed(0)
        protos = class_prototypes(4, g)
        for i, epoch in enumerate((0, 1, 1)):
            train_step(G, D, opt_g, opt_d, term, random_batch(16, g, prototypes=protos, noise=0.3), cfg, epoch, step=i)
        return {k: v.clone() for k, v in G.state_dict().items()}

    logged, plain = weights_after(1), weights_after(0)
    assert logged.keys() == plain.keys()
    assert all(torch.equal(logged[k], plain[k]) for k in plain)
