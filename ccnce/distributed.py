"""Data-parallel training under ``torchrun``: one run over N processes (ARCHITECTURE.md, "Scale").

``torchrun --standalone --nproc_per_node N -m ccnce train …`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous address in their environment; :func:`setup` joins them
into one process group (gloo on CPU, nccl on CUDA). Without those variables (a plain ``ccnce train``)
nothing here does anything and a run is exactly the one-process run.

How a run is split:

- **Data**: the global batch stays ``cfg.batch_size`` (so the config hash, and the result, mean the
  same thing whatever N is); each rank reads ``batch_size / N`` windows of it through a
  :class:`~torch.utils.data.DistributedSampler` seeded by the run and re-shuffled per epoch.
- **Gradients**: every parameter an optimiser updates has its gradient averaged over the ranks
  (``all_reduce``) right before the step, in :func:`average_gradients`. This is DDP's arithmetic for a
  step whose modules do not fit DDP's wrapper: the GAN step runs D twice per batch (once with frozen
  weights, for G's loss), the contrastive terms call the generator's submodules outside its forward, and
  PatchNCE's own weights sit in G's optimiser. Averaging exactly the optimised tensors covers all of them
  and keeps every rank's weights identical after every step.
- **Random state**: every rank is seeded alike, so the models start identical and CC-NCE's clustering
  choices (drawn from its own seeded generator, on the *global* batch) are the same on every rank.
- **Writes**: rank 0 alone writes results and checkpoints (:func:`is_main`); every rank resumes from
  rank 0's checkpoint.

CC-NCE's global view (Algorithms 1–2 on the global batch, one bank) uses :func:`all_gather`; see
:mod:`ccnce.losses.ccnce`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from ccnce.errors import ConfigError

log = logging.getLogger(__name__)


def launched() -> bool:
    """True when this process was started by ``torchrun`` (or another launcher that sets ``WORLD_SIZE``)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def active() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """The rank that writes results, checkpoints and logs (rank 0; the only one without torchrun)."""
    return rank() == 0


def backend_for(device: str) -> str:
    """nccl for CUDA devices, gloo for CPU."""
    return "nccl" if device.startswith("cuda") else "gloo"


def setup(device: str) -> torch.device:
    """Join the process group when launched by torchrun (once per process); return this rank's device.

    On CUDA each rank takes the GPU of its ``LOCAL_RANK``.
    """
    if launched() and int(os.environ["WORLD_SIZE"]) > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend_for(device))
        log.info("rank %d of %d joined (%s)", dist.get_rank(), dist.get_world_size(), dist.get_backend())
    if device.startswith("cuda") and active():
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device(device)


def describe() -> dict[str, Any]:
    """What provenance records: the number of processes and the collective backend (None alone)."""
    return {"world_size": world_size(), "backend": dist.get_backend() if active() else None}


def local_batch_size(batch_size: int) -> int:
    """The windows each rank reads per step of a global batch of ``batch_size``."""
    n = world_size()
    if batch_size % n:
        raise ConfigError(f"batch_size={batch_size} must be divisible by the number of processes ({n})")
    return batch_size // n


def train_sampler(windows: Any, seed: int, epoch: int) -> torch.utils.data.DistributedSampler:
    """This rank's windows of an epoch: a shuffled ``DistributedSampler`` (seed fixed per run, order per
    epoch; the same number of windows on every rank)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(windows, num_replicas=world_size(), rank=rank(), shuffle=True, seed=seed,
                                 drop_last=True)
    sampler.set_epoch(epoch)
    return sampler


# ---------------------------------------------------------------------------------------- collectives
def all_gather(x: Tensor) -> Tensor:
    """Concatenate ``x`` (b, …) of every rank along dim 0, rank by rank → (N·b, …); ``x`` alone without
    a process group. No gradient flows through the result (callers keep their own slice for that)."""
    if not active():
        return x
    parts = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(parts, x.detach().contiguous())
    return torch.cat(parts)


def local_slice(n_local: int) -> slice:
    """The rows of a gathered tensor that came from this rank."""
    return slice(rank() * n_local, (rank() + 1) * n_local)


def average_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Average the gradients of ``optimizer``'s parameters over the ranks (a no-op alone).

    A parameter that has a gradient on some rank but not on this one takes part with zeros, so every rank
    issues the same collective; one without a gradient anywhere keeps none (the optimiser skips it, as it
    would in one process).
    """
    if not active():
        return
    params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
    if not params:
        return
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.int32, device=params[0].device)
    dist.all_reduce(present, op=dist.ReduceOp.MAX)
    params = [p for p, has in zip(params, present.tolist()) if has]
    if not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset: offset + g.numel()].view_as(g).clone()
        offset += g.numel()


def mean_over_ranks(sums: dict[str, float]) -> dict[str, float]:
    """Average per-rank running sums (same keys on every rank) over the ranks."""
    if not active() or not sums:
        return sums
    keys = sorted(sums)
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None  # nccl: GPU tensors
    values = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=on)
    dist.all_reduce(values)
    return dict(zip(keys, (values / world_size()).tolist()))


def barrier() -> None:
    if active():
        dist.barrier()


def teardown() -> None:
    """Leave the process group (end of a torchrun process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
