"""The backbone generator (the Multimodal Multi-Scale Transformer of the paper's ref. [1]; class
"JointLateClusterSoftTransformer" in the authors' code; METHOD.md): speech → 64 poses.

    text ─► TextEncoder ─┐
                         Fusion (alignment-masked Transformer decoder + concat + conv) ─► h
    audio ─► AudioEncoder┘                                                              │
    h ─► F (U-Net 1-D) ─► z = normalize(F(h)) over channels ─► MixtureDecoder ─► pose, cluster_logits

``z`` is the gesture-aware language embedding that CC-NCE shapes (METHOD.md, Section 4 notation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F_nn
from torch import Tensor, nn

from ccnce.config import Config
from ccnce.models.audio import AudioEncoder
from ccnce.models.decoder import MixtureDecoder
from ccnce.models.fusion import Fusion
from ccnce.models.text import TextEncoder
from ccnce.models.unet import UNet1d


@dataclass
class GeneratorOutput:
    pose: Tensor  # (B, T, 96) generated poses
    cluster_logits: Tensor  # (B, T, K) frame-wise pose-cluster logits
    h: Tensor  # (B, E, T) fused encoder features (input of F)
    z: Tensor  # (B, E, T) normalize(F(h)): the language embedding
    unet_levels: list[Tensor]  # F's encoder features per level, finest first (PatchNCE)


def normalize_channels(x: Tensor) -> Tensor:
    """L2-normalise every frame's channel vector of ``x`` (B, E, T)."""
    return F_nn.normalize(x, dim=1)


class Generator(nn.Module):
    def __init__(self, cfg: Config, text: nn.Module) -> None:
        super().__init__()
        self.text = text
        self.audio = AudioEncoder(cfg.d_model, cfg.audio_blocks, window=cfg.window)
        self.fusion = Fusion(cfg.d_model, cfg.fusion_layers, cfg.fusion_heads, cfg.ff_mult, window=cfg.window)
        self.F = UNet1d(cfg.d_model, cfg.unet_depth)
        self.decoder = MixtureDecoder(cfg.d_model, cfg.n_mixture)

    def encode(self, batch: dict[str, Tensor]) -> Tensor:
        """Fused features ``h`` (B, E, T) from a batch's audio, tokens and durations."""
        text, _ = self.text(batch["tokens"], batch["n_tokens"])
        return self.fusion(self.audio(batch["audio"]), text, batch["durations"])

    def embed(self, h: Tensor) -> Tensor:
        """``z = normalize(F(h))``: how CC-NCE (re-)encodes stored features."""
        return normalize_channels(self.F(h))

    def parameter_groups(self, cfg: Config, extra: nn.Module | None = None) -> list[dict]:
        """Optimiser groups: everything trainable at ``lr``, a fine-tuned text transformer at ``text_lr``.

        ``extra``: a module trained with the generator (the contrastive term's own weights, if any).
        """
        transformer = getattr(self.text, "bert", None)
        bert = [p for p in transformer.parameters() if p.requires_grad] if transformer is not None else []
        bert_ids = {id(p) for p in bert}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in bert_ids]
        if extra is not None:
            rest += [p for p in extra.parameters() if p.requires_grad]
        groups = [{"params": rest, "lr": cfg.lr}]
        if bert:
            groups.append({"params": bert, "lr": cfg.text_lr})
        return groups

    def forward(self, batch: dict[str, Tensor]) -> GeneratorOutput:
        h = self.encode(batch)
        levels = self.F.encode(h)
        z = normalize_channels(self.F.decode(levels))
        pose, logits = self.decoder(z)
        return GeneratorOutput(pose=pose, cluster_logits=logits, h=h, z=z, unet_levels=levels)


def build_generator(cfg: Config, text: nn.Module | None = None) -> Generator:
    """The generator of ``cfg``; ``text`` replaces the pretrained text encoder (e.g. a shared instance)."""
    if text is None:
        text = TextEncoder(cfg.text_encoder, cfg.d_model, freeze=cfg.freeze_text)
    return Generator(cfg, text)
