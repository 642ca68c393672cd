"""Per-term gradient norms on the generator's shared parameters: is a term drowned out, or does it dominate?

Every term of Eq. 6 reaches the encoder (audio, text projection, fusion) and ``F``; only the decoder is
reached by the pose terms alone. For each term ``L_i`` (as weighted in the loss) we log
``‖∇_θ L_i‖₂`` over those shared parameters ``θ``, every ``cfg.grad_norm_every`` batches (it costs one
extra backward pass per term).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def shared_parameters(generator: nn.Module) -> list[Tensor]:
    """The trainable generator parameters every term reaches: all but the mixture decoder's."""
    return [p for name, p in generator.named_parameters() if p.requires_grad and not name.startswith("decoder.")]


def term_gradient_norms(terms: dict[str, Tensor], params: list[Tensor]) -> dict[str, float]:
    """``{"grad_<term>": ‖∇_params term‖₂}``; 0 for a term that does not depend on ``params``."""
    norms = {}
    for name, term in terms.items():
        grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True) if term.requires_grad else []
        squares = [g.float().pow(2).sum() for g in grads if g is not None]
        norms[f"grad_{name}"] = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
    return norms
