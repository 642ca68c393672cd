"""Eq. 7 (CC-NCE), the MoCo and PatchNCE baselines, the shared interface and the objective (Eq. 6)."""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F_nn
from torch import nn

from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.config import VARIANTS, Config
from ccnce.losses.ccnce import candidate_masks, info_nce, original_bce, select_candidates, window_scores
from ccnce.losses.contrastive import build_contrastive, momentum_update
from ccnce.losses.moco import frame_info_nce
from ccnce.losses.objective import adversarial_weight, build_optimizers, train_step
from ccnce.losses.patchnce import patch_levels, patch_nce, temporal_patches
from ccnce.models.discriminator import build_discriminator
from ccnce.models.generator import build_generator, normalize_channels


class ToyText(nn.Module):
    """A text encoder without the pretrained transformer: these tests are about the losses."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(30522, d_model)

    def forward(self, tokens, n_tokens):
        mask = torch.arange(tokens.shape[1])[None, :] >= n_tokens[:, None]
        return self.embedding(tokens), mask


def smoke(**overrides) -> Config:
    return Config.from_profile("smoke", **({"warmup_epochs": 1} | overrides))


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    protos = class_prototypes(6, g)
    return [random_batch(16, g, prototypes=protos, noise=0.3) for _ in range(4)]


def make(cfg: Config):
    torch.manual_seed(0)
    generator = build_generator(cfg, text=ToyText(cfg.d_model))
    return generator, build_contrastive(cfg, generator)


# ---------------------------------------------------------------------------------------- Eq. 7
def test_info_nce_matches_hand_computation():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 3.0]])
    positive = torch.tensor([[True, True, False, False, False]])
    negative = torch.tensor([[False, False, True, True, False]])  # the last candidate is the anchor itself
    neg = math.exp(0.5) + math.exp(-1.0)
    expected = -0.5 * (math.log(math.exp(2.0) / (math.exp(2.0) + neg)) + math.log(math.exp(1.0) / (math.exp(1.0) + neg)))
    assert info_nce(logits, positive, negative).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_skips_anchors_without_positives_and_is_zero_without_negatives():
    logits = torch.tensor([[1.0, 0.0], [0.3, 0.2]])
    positive = torch.tensor([[True, False], [False, False]])
    negative = torch.tensor([[False, True], [True, True]])
    only_first = info_nce(logits[:1], positive[:1], negative[:1])
    assert info_nce(logits, positive, negative).item() == pytest.approx(only_first.item())
    no_negatives = info_nce(logits, positive, torch.zeros_like(negative))
    assert no_negatives.item() == pytest.approx(0.0, abs=1e-6)
    assert info_nce(logits, torch.zeros_like(positive), negative).item() == 0.0


def test_window_scores_are_mean_framewise_cosines():
    g = torch.Generator().manual_seed(0)
    a = normalize_channels(torch.randn(2, 4, 5, generator=g))
    k = normalize_channels(torch.randn(3, 4, 5, generator=g))
    expected = torch.einsum("bet,net->bnt", a, k).mean(dim=2)
    assert torch.allclose(window_scores(a, k), expected, atol=1e-6)
    assert torch.allclose(window_scores(a, a).diagonal(), torch.ones(2))


def test_loss_falls_when_anchors_move_toward_their_positives():
    g = torch.Generator().manual_seed(1)
    keys = normalize_channels(torch.randn(6, 8, 4, generator=g))
    positive = torch.tensor([[True, True, False, False, False, False]] * 2)
    negative = ~positive
    z = torch.randn(2, 8, 4, generator=g, requires_grad=True)
    losses = []
    optimizer = torch.optim.SGD([z], lr=0.5)
    for _ in range(10):
        loss = info_nce(window_scores(normalize_channels(z), keys) / 0.1, positive, negative)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(b < a for a, b in zip(losses, losses[1:]))
    # moving straight toward the positives' mean lowers it too
    toward = normalize_channels(z.detach() + 3 * keys[:2].mean(0))
    assert info_nce(window_scores(toward, keys) / 0.1, positive, negative) < losses[-1]


def test_original_bce_is_near_zero_when_positives_are_the_channelwise_maxima():
    anchors = torch.ones(1, 2, 3)
    keys = torch.stack([torch.ones(2, 3), -torch.ones(2, 3), torch.zeros(2, 3)])
    positive = torch.tensor([[True, False, False]])
    negative = torch.tensor([[False, True, False]])  # the third candidate is neither: ignored
    assert original_bce(anchors, keys, positive, negative).item() < 1e-4
    swapped = original_bce(anchors, keys, negative, positive)
    assert swapped.item() > 10


def test_candidates_and_masks():
    member_mask = torch.tensor([[True, True, True, False], [True, True, True, True], [False] * 4])
    joined = torch.tensor([True, False, False])
    g = torch.Generator().manual_seed(0)
    flat = select_candidates(member_mask, joined, 2, g)
    rows = flat // 4
    assert (rows == 0).sum() == 3 and (rows == 1).sum() == 2 and (rows == 2).sum() == 0
    assert select_candidates(member_mask, joined, 0, g).tolist() == member_mask.flatten().nonzero().squeeze(1).tolist()
    positive, negative = candidate_masks(torch.tensor([0, 1]), torch.tensor([1, -1]), flat, 4)
    assert positive[0].tolist() == [r == 0 and f != 1 for r, f in zip(rows.tolist(), flat.tolist())]
    assert negative[1].tolist() == (rows != 1).tolist()


# ---------------------------------------------------------------------------------------- CC-NCE term
@pytest.mark.parametrize("encoding", ["full", "sampled", "momentum", "memory"])
def test_ccnce_gradient_reaches_anchors_not_stored_members(data, encoding):
    cfg = smoke(bank_encoding=encoding)
    generator, loss_fn = make(cfg)
    for batch in data[:2]:
        loss_fn.term(batch, generator(batch), epoch=1)
    out = generator(data[2])
    out.z.retain_grad()
    loss, diag = loss_fn.term(data[2], out, epoch=1)
    assert loss.item() > 0 and diag["n_candidates"] > 0
    bank = loss_fn.global_bank
    assert not bank.features.requires_grad
    candidates = bank.member_mask().flatten().nonzero().squeeze(1)
    assert not loss_fn._keys(candidates).requires_grad
    loss.backward()
    assert out.z.grad is not None and out.z.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss_fn.parameters())  # the momentum copy is never trained


def test_memory_bank_stores_the_batch_z_and_has_no_momentum_encoder(data):
    generator, loss_fn = make(smoke(bank_encoding="memory", bank_sample_negatives=0))
    assert loss_fn.F_momentum is None
    out = generator(data[0])
    loss_fn.term(data[0], out, epoch=1)
    result_slots = loss_fn.global_bank.member_mask().flatten().nonzero().squeeze(1)
    stored = loss_fn._keys(result_slots)
    # every stored key is one of this batch's z, exactly (no re-encoding, no momentum copy)
    z = out.z.detach().flatten(1)
    assert torch.equal((stored.flatten(1)[:, None] == z[None]).all(dim=2).any(dim=1), torch.ones(len(stored), dtype=torch.bool))
    with torch.no_grad():  # without the forward's z, the bank encodes h with the current F
        assert torch.equal(loss_fn.encode_for_bank(out.h), generator.embed(out.h))


def test_ccnce_warmup_is_zero_but_gathers_threshold_statistics(data):
    generator, loss_fn = make(smoke(warmup_epochs=2))
    loss, _ = loss_fn.term(data[0], generator(data[0]), epoch=0)
    assert loss.item() == 0.0 and loss_fn.clustering.estimator.count == 16 * 15
    assert loss_fn.global_bank.n_clusters == 0
    _, diag = loss_fn.term(data[1], generator(data[1]), epoch=1)
    assert "mu_hat" in diag and loss_fn.global_bank.n_clusters == 0
    loss, diag = loss_fn.term(data[2], generator(data[2]), epoch=2)
    assert loss.item() > 0 and diag["n_global_clusters"] > 0
    assert diag["threshold"] == pytest.approx(diag["mu_hat"] + diag["sigma_hat"])


@pytest.mark.parametrize("reset, expect_empty", [("epoch", True), ("never", False)])
def test_bank_reset(data, reset, expect_empty):
    generator, loss_fn = make(smoke(bank_reset=reset))
    loss_fn.term(data[0], generator(data[0]), epoch=1)
    loss_fn.on_epoch_start(2)
    assert (loss_fn.global_bank.n_clusters == 0) == expect_empty


def test_ccnce_groups_windows_of_a_class(data):
    generator, loss_fn = make(smoke(similarity="cosine"))
    for batch in data:
        _, diag = loss_fn.term(batch, generator(batch), epoch=1)
    # windows of one gesture class end up in one global cluster (prototypes are well separated)
    gesture = data[-1]["gesture"][:, 0]
    ids = diag["cluster_ids"]
    for c in gesture.unique():
        assert len(set(ids[gesture == c].tolist())) == 1


def test_original_loss_form_runs_and_ignores_tau(data):
    values = []
    for tau in (0.1, 1.0):
        generator, loss_fn = make(smoke(loss_form="original", tau=tau))
        loss_fn.term(data[0], generator(data[0]), epoch=1)
        values.append(loss_fn.term(data[1], generator(data[1]), epoch=1)[0].item())
    assert values[0] == pytest.approx(values[1]) and values[0] > 0


# ---------------------------------------------------------------------------------------- MoCo
def test_momentum_update_formula():
    target, source = nn.Linear(3, 2), nn.Linear(3, 2)
    before = target.weight.detach().clone()
    momentum_update(target, source, 0.9)
    assert torch.allclose(target.weight, 0.9 * before + 0.1 * source.weight.detach())


def test_moco_queue_is_fifo_and_keys_carry_no_gradient(data):
    cfg = smoke(variant="moco", moco_queue=40)
    generator, loss_fn = make(cfg)
    initial = loss_fn.queue.clone()
    out = generator(data[0])
    loss, diag = loss_fn.term(data[0], out, epoch=0)
    assert diag["queue_ptr"] == 32 and not loss_fn.queue.requires_grad
    assert torch.equal(loss_fn.queue[32:], initial[32:])
    assert torch.allclose(loss_fn.queue[:32].norm(dim=1), torch.ones(32))
    new = loss_fn.queue[:32].clone()
    loss_fn.term(data[1], generator(data[1]), epoch=0)
    assert int(loss_fn.queue_ptr) == (64 % 40)
    assert torch.equal(loss_fn.queue[24:32], new[24:32])  # not yet overwritten
    assert not torch.equal(loss_fn.queue[:24], new[:24])  # the wrap-around overwrote the oldest
    loss.backward()
    assert all(p.grad is None for p in loss_fn.F_momentum.parameters())
    assert any(p.grad is not None for p in generator.F.parameters())


def test_moco_key_encoder_follows_online_encoder(data):
    cfg = smoke(variant="moco", moco_momentum=0.5)
    generator, loss_fn = make(cfg)
    with torch.no_grad():
        for p in generator.F.parameters():
            p.add_(1.0)
    before = [p.clone() for p in loss_fn.F_momentum.parameters()]
    loss_fn.term(data[0], generator(data[0]), epoch=0)
    for b, k, q in zip(before, loss_fn.F_momentum.parameters(), generator.F.parameters()):
        assert torch.allclose(k, 0.5 * b + 0.5 * q.detach())


def test_frame_info_nce_positive_is_same_frame():
    g = torch.Generator().manual_seed(0)
    q = normalize_channels(torch.randn(2, 8, 5, generator=g))
    queue = F_nn.normalize(torch.randn(30, 8, generator=g), dim=1)
    aligned = frame_info_nce(q, q, queue, 0.1)
    shifted = frame_info_nce(q, q.roll(1, dims=2), queue, 0.1)
    assert aligned < shifted


# ---------------------------------------------------------------------------------------- PatchNCE
def test_patches_and_levels():
    x = torch.arange(16.0).reshape(1, 1, 16)
    patches = temporal_patches(x, 8, 5)
    assert patches.shape == (1, 2, 1) and patches.flatten().tolist() == [3.5, 8.5]
    assert patch_levels(64, 5) == [0, 1, 2] and patch_levels(64, 3) == [0, 1, 2] and patch_levels(32, 5) == [0, 1]


def test_patch_nce_positive_is_same_patch():
    g = torch.Generator().manual_seed(0)
    k = F_nn.normalize(torch.randn(3, 6, 16, generator=g), dim=-1)
    assert patch_nce(k, k, 0.07) < patch_nce(k, k.roll(1, dims=1), 0.07)
    assert patch_nce(k, k, 0.07) < 0.5


def test_patchnce_term_trains_pose_encoder_and_generator(data):
    generator, loss_fn = make(smoke(variant="patchnce"))
    out = generator(data[0])
    loss, _ = loss_fn.term(data[0], out, epoch=0)
    loss.backward()
    assert all(p.grad is not None for p in loss_fn.pose_encoder.parameters())
    assert generator.decoder.heads.weight.grad is not None  # through the generated poses


# ---------------------------------------------------------------------------------------- interface
@pytest.mark.parametrize("variant", VARIANTS)
def test_interface_and_resumable_state(data, variant):
    cfg = smoke(variant=variant)
    generator, loss_fn = make(cfg)
    for epoch, batch in enumerate(data[:2]):
        loss_fn.on_epoch_start(epoch)
        loss, diag = loss_fn.term(batch, generator(batch), epoch)
        loss_fn.on_epoch_end(epoch)
        assert loss.dim() == 0 and isinstance(diag, dict)
    buffer = io.BytesIO()
    torch.save(loss_fn.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # a checkpoint file, as the trainer writes and reads it
    fresh = build_contrastive(cfg, generator)
    fresh.load_state_dict(state)
    out = generator(data[2])
    a, _ = loss_fn.term(data[2], out, 1)
    b, _ = fresh.term(data[2], out, 1)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    if variant == "none":
        assert a.item() == 0.0


# ---------------------------------------------------------------------------------------- Eq. 6 step
def test_adversarial_weight_ramps_from_one_to_two():
    cfg = smoke(epochs=5)
    assert [adversarial_weight(cfg, e) for e in range(5)] == [1.0, 1.25, 1.5, 1.75, 2.0]


@pytest.mark.parametrize("alternation", ["both", "random"])
def test_train_step_updates_models(data, alternation):
    cfg = smoke(variant="ccnce", alternation=alternation)
    generator, loss_fn = make(cfg)
    discriminator = build_discriminator(cfg)
    opt_g, opt_d = build_optimizers(cfg, generator, discriminator, loss_fn)
    g0 = [p.clone() for p in generator.parameters()]
    d0 = [p.clone() for p in discriminator.parameters()]
    rng = torch.Generator().manual_seed(0)
    seen = set()
    for batch in data:
        logs = train_step(generator, discriminator, opt_g, opt_d, loss_fn, batch, cfg, epoch=1, rng=rng)
        assert all(math.isfinite(v) for k, v in logs.items() if k != "cluster_ids")
        seen |= {"d" if "loss_d" in logs else "", "g" if "loss_g" in logs else ""}
        if alternation == "both":
            assert {"loss_d", "loss_g", "rec", "mix", "adv_g", "contrastive", "n_global_clusters"} <= logs.keys()
            assert logs["cluster_ids"].shape == (16,)
    assert {"d", "g"} <= seen
    assert any(not torch.equal(a, b) for a, b in zip(g0, generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, discriminator.parameters()))


def test_train_step_refuses_untrained_contrastive_weights(data):
    cfg = smoke(variant="patchnce")
    generator, loss_fn = make(cfg)
    discriminator = build_discriminator(cfg)
    opt_g = torch.optim.AdamW(generator.parameter_groups(cfg))  # the PatchNCE heads are missing
    opt_d = torch.optim.AdamW(discriminator.parameters())
    with pytest.raises(ValueError, match="parameter_groups"):
        train_step(generator, discriminator, opt_g, opt_d, loss_fn, data[0], cfg, epoch=0)
    opt_g = torch.optim.AdamW(generator.parameter_groups(cfg, loss_fn))
    train_step(generator, discriminator, opt_g, opt_d, loss_fn, data[0], cfg, epoch=0)
