"""The backbone generator, its text encoder (offline MiniLM) and the discriminator, at every profile."""

from __future__ import annotations

import pytest
import torch

from ccnce.bench.batches import random_batch
from ccnce.config import PROFILES, Config
from ccnce.errors import ConfigError
from ccnce.models.audio import downsampling_blocks
from ccnce.models.discriminator import build_discriminator
from ccnce.models.fusion import alignment_mask
from ccnce.models.generator import build_generator
from ccnce.models.text import TextEncoder, load_text_model


@pytest.fixture(scope="module")
def frozen_text():
    return TextEncoder("minilm", 32, freeze=True)


def test_text_encoder_loads_offline_and_masks_padding(frozen_text):
    tokens = torch.tensor([[7592, 2088, 2003, 0, 0, 0]])
    short = frozen_text._run_bert(tokens[:, :3], torch.tensor([3]))
    padded = frozen_text._run_bert(tokens, torch.tensor([3]))
    assert frozen_text.hidden == 384
    assert torch.allclose(short, padded[:, :3], atol=1e-5)  # padding never leaks into real tokens
    unmasked = frozen_text.bert(input_ids=tokens).last_hidden_state[:, :3]
    assert not torch.allclose(unmasked, padded[:, :3], atol=1e-3)  # the mask matters


def test_frozen_text_cache_skips_transformer_and_matches_it(frozen_text):
    calls = []
    handle = frozen_text.bert.register_forward_hook(lambda *args: calls.append(1))
    try:
        tokens = torch.tensor([[2023, 2003, 1037, 3231], [2178, 3332, 0, 0]])
        n = torch.tensor([4, 2])
        first, mask = frozen_text(tokens, n)
        second, _ = frozen_text(tokens[[1, 0]], n[[1, 0]])
        assert len(calls) == 1  # the second batch is served from the cache
        assert torch.allclose(first[[1, 0]][~mask[[1, 0]]], second[~mask[[1, 0]]])
        direct = frozen_text.proj(frozen_text._run_bert(tokens, n)) + frozen_text.positions[:4]
        assert torch.allclose(first[~mask], direct[~mask], atol=1e-5)
        assert mask.tolist() == [[False] * 4, [False, False, True, True]]
    finally:
        handle.remove()
    frozen_text.train()
    assert not frozen_text.bert.training and not any(p.requires_grad for p in frozen_text.bert.parameters())


def test_precompute_fills_cache(frozen_text):
    tokens = torch.tensor([[1996, 2307, 2154]])
    before = frozen_text.cache_len
    assert frozen_text.precompute([(tokens, torch.tensor([3]))]) == before + 1


def test_alignment_mask_lets_frame_attend_to_spoken_subword():
    durations = torch.tensor([[2, 0, 3, 0], [4, 0, 0, 0], [0, 0, 0, 0]])
    blocked = alignment_mask(durations, 5)
    allowed = ~blocked
    assert allowed[0].int().tolist() == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0]]
    # a frame that no sub-word spans attends to every real sub-word; an empty window to position 0
    assert allowed[1, 4].tolist() == [True, False, False, False] and allowed[1, :4, 0].all()
    assert allowed[2].int().tolist() == [[1, 0, 0, 0]] * 5


def test_audio_downsampling_schedule():
    assert downsampling_blocks(8) == (0, 2, 5) and downsampling_blocks(4) == (0, 1, 2)
    with pytest.raises(ConfigError, match="audio_blocks"):
        Config.from_profile("smoke", audio_blocks=2)


@pytest.mark.parametrize("profile", PROFILES)
def test_generator_and_discriminator_forward_backward_at_profile(profile):
    # bert-base-uncased (the paper's) is not available offline: the paper shapes run with MiniLM
    cfg = Config.from_profile(profile, text_encoder="minilm", device="cpu", amp=False)
    generator, discriminator = build_generator(cfg), build_discriminator(cfg)
    batch_size = 2 if profile == "paper" else 4
    batch = random_batch(batch_size, torch.Generator().manual_seed(0))
    out = generator(batch)
    E, K = cfg.d_model, cfg.n_mixture
    assert out.pose.shape == (batch_size, 64, 96) and out.cluster_logits.shape == (batch_size, 64, K)
    assert out.h.shape == out.z.shape == (batch_size, E, 64)
    assert torch.allclose(out.z.norm(dim=1), torch.ones(batch_size, 64), atol=1e-5)
    assert [level.shape[-1] for level in out.unet_levels] == [64 // 2 ** i for i in range(cfg.unet_depth)]
    scores = discriminator(out.pose)
    assert scores.shape == (batch_size, 15)
    (out.pose.abs().mean() + scores.mean() + out.cluster_logits.mean()).backward()
    trainable = [(n, p) for n, p in generator.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"
    bert_trained = any(n.startswith("text.bert.") for n, _ in trainable)
    assert bert_trained == (not cfg.freeze_text)
    groups = generator.parameter_groups(cfg)
    assert [g["lr"] for g in groups] == ([cfg.lr] if cfg.freeze_text else [cfg.lr, cfg.text_lr])
    assert sum(len(g["params"]) for g in groups) == len(trainable)
    assert all(p.grad is not None for p in discriminator.parameters())


def test_paper_text_encoder_is_not_downloaded():
    try:
        load_text_model("bert-base-uncased")
    except ConfigError as e:
        assert "not available offline" in str(e)
    else:
        pytest.skip("bert-base-uncased is available locally here; nothing to check")
