"""Training over 2 gloo processes on CPU (ccnce.distributed): one bank, one set of weights, global clusters."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ccnce import checkpoint, distributed, torchrun
from ccnce.bench.batches import class_prototypes, random_batch
from ccnce.config import Config
from ccnce.losses.contrastive import build_contrastive
from ccnce.losses.objective import build_optimizers, train_step
from ccnce.models.discriminator import build_discriminator
from ccnce.models.generator import build_generator
from ccnce.results import run_dir
from ccnce.train import CHECKPOINT
from test_losses import ToyText
from test_train import EXACT

WORLD = 2
GLOBAL_BATCH = 16
SCHEDULE = [0, 0, 1, 1, 1, 1]  # epochs of the steps: one warm-up epoch (threshold statistics), then clustering


def batches() -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    protos = class_prototypes(6, g)
    return [random_batch(GLOBAL_BATCH, g, prototypes=protos, noise=0.3) for _ in SCHEDULE]


def digest(*tensors: torch.Tensor | None) -> str:
    h = hashlib.sha256()
    for t in tensors:
        if t is not None:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def state_digest(contrastive: torch.nn.Module) -> str:
    """The term's whole state: bank tensors and counters (CC-NCE) or the queue (MoCo)."""
    bank = getattr(contrastive, "global_bank", None)
    if bank is not None:
        return digest(bank.y, bank.features, bank.count, bank.active, bank.last_update, bank.uid) + str(bank.step)
    return digest(*contrastive.buffers())


def run_steps(variant: str, part: slice, **overrides: object) -> list[dict[str, object]]:
    """Train a smoke-sized model on ``part`` of every global batch; what each step left behind."""
    cfg = Config.from_profile("smoke", variant=variant, warmup_epochs=1, **overrides)
    torch.manual_seed(0)
    G = build_generator(cfg, text=ToyText(cfg.d_model))
    D = build_discriminator(cfg)
    contrastive = build_contrastive(cfg, G)
    opt_g, opt_d = build_optimizers(cfg, G, D, contrastive)
    records = []
    for epoch, batch in zip(SCHEDULE, batches()):
        local = {k: v[part] for k, v in batch.items()}
        logs = train_step(G, D, opt_g, opt_d, contrastive, local, cfg, epoch)
        records.append({"state": state_digest(contrastive), "weights": digest(*G.parameters(), *D.parameters()),
                        "cluster_ids": torch.as_tensor(logs.get("cluster_ids", torch.empty(0))),
                        "rows": _rows(contrastive), "loss_g": logs["loss_g"]})
    return records


def _rows(contrastive: torch.nn.Module) -> torch.Tensor:
    bank = getattr(contrastive, "global_bank", None)
    return torch.empty(0) if bank is None or bank.y is None else bank.y.clone()


def _worker(rank: int, rendezvous: str, out: str, variant: str, overrides: dict) -> None:
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    torch.set_num_threads(1)
    try:
        b = GLOBAL_BATCH // WORLD
        own = slice(rank * b, (rank + 1) * b)
        first, second = run_steps(variant, own, **overrides), run_steps(variant, own, **overrides)
        torch.save({"first": first, "second": second, "describe": distributed.describe()}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def spawn(tmp_path: Path, variant: str, **overrides: object) -> list[dict]:
    mp.spawn(_worker, args=(str(tmp_path / "rendezvous"), str(tmp_path), variant, overrides), nprocs=WORLD, join=True)
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.fixture(scope="module")
def ccnce_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return spawn(tmp_path_factory.mktemp("ddp-ccnce"), "ccnce")


def test_bank_and_weights_are_identical_on_every_rank_after_every_step(ccnce_ranks):
    zero, one = ccnce_ranks
    assert zero["describe"] == {"world_size": 2, "backend": "gloo"}
    for step, (a, b) in enumerate(zip(zero["first"], one["first"])):
        assert a["state"] == b["state"], f"bank differs between ranks after step {step}"
        assert a["weights"] == b["weights"], f"weights differ between ranks after step {step}"
    assert zero["first"][-1]["rows"].numel() > 0  # the bank was filled


def test_two_half_batches_form_the_clusters_of_one_global_batch(ccnce_ranks):
    """Algorithms 1–2 see the gathered global batch: the same clusters and stored windows as one process."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the ranks: Sim's float sums must not depend on the thread count
    try:
        alone = run_steps("ccnce", slice(None))
    finally:
        torch.set_num_threads(threads)
    zero, one = ccnce_ranks
    clustered = 0
    for step, (ref, a, b) in enumerate(zip(alone, zero["first"], one["first"])):
        assert torch.equal(torch.cat([a["cluster_ids"], b["cluster_ids"]]), ref["cluster_ids"]), step
        assert torch.equal(a["rows"], ref["rows"]), f"stored windows differ at step {step}"
        clustered += ref["cluster_ids"].numel()
    assert clustered == GLOBAL_BATCH * SCHEDULE.count(1)


def test_oracle_clusters_see_every_ranks_true_gestures(tmp_path):
    """clusters=oracle (study option) groups the gathered global batch by its gathered true gestures."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = run_steps("ccnce", slice(None), clusters="oracle")
    finally:
        torch.set_num_threads(threads)
    zero, one = spawn(tmp_path, "ccnce", clusters="oracle")
    for step, (ref, a, b) in enumerate(zip(alone, zero["first"], one["first"])):
        assert torch.equal(torch.cat([a["cluster_ids"], b["cluster_ids"]]), ref["cluster_ids"]), step
        assert torch.equal(a["rows"], ref["rows"]), f"stored windows differ at step {step}"
        assert a["state"] == b["state"], f"oracle bank differs between ranks after step {step}"
    assert alone[-1]["cluster_ids"].numel() == GLOBAL_BATCH


def test_same_seed_and_world_size_give_the_same_run(ccnce_ranks):
    for rank in ccnce_ranks:
        assert [r["loss_g"] for r in rank["first"]] == [r["loss_g"] for r in rank["second"]]
        assert [r["weights"] for r in rank["first"]] == [r["weights"] for r in rank["second"]]


def test_moco_queue_receives_every_ranks_keys(tmp_path):
    zero, one = spawn(tmp_path, "moco")
    for step, (a, b) in enumerate(zip(zero["first"], one["first"])):
        assert a["state"] == b["state"], f"MoCo queue differs between ranks after step {step}"
        assert a["weights"] == b["weights"]


def test_alone_everything_is_a_no_op(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not distributed.active() and distributed.is_main() and distributed.world_size() == 1
    assert distributed.describe() == {"world_size": 1, "backend": None}
    x = torch.arange(6.0).reshape(3, 2)
    assert distributed.all_gather(x) is x
    assert distributed.local_slice(3) == slice(0, 3)
    assert distributed.backend_for("cuda:0") == "nccl" and distributed.backend_for("cpu") == "gloo"
    assert str(distributed.setup("cpu")) == "cpu" and not distributed.active()


# ------------------------------------------------------------------------------- torchrun, killed and resumed
def torchrun_smoke(results: Path, root: Path) -> Config:
    return Config.from_profile("smoke", data_root=str(root), results_dir=str(results), epochs=2, max_train_windows=64)


@pytest.mark.slow
def test_a_killed_torchrun_run_resumes_to_the_metrics_of_an_uninterrupted_one(synth_root, tmp_path):
    """Two 2-process torchrun runs at once: one uninterrupted, one killed (SIGTERM, which torchrun passes to
    its processes) as soon as rank 0's first checkpoint exists, then started again."""
    whole, killed = (torchrun_smoke(tmp_path / name, synth_root) for name in ("whole", "killed"))
    folder = run_dir(killed, "synthetic")
    with open(tmp_path / "killed.log", "w") as log:
        reference = subprocess.Popen(torchrun.command(whole, 2), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        victim = subprocess.Popen(torchrun.command(killed, 2), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not (folder / CHECKPOINT).exists():
            assert victim.poll() is None and time.monotonic() < deadline, (tmp_path / "killed.log").read_text()
            time.sleep(0.02)
        victim.send_signal(signal.SIGTERM)
        assert victim.wait(timeout=120) != 0 and reference.wait(timeout=300) == 0
    assert not (folder / "metrics.json").exists()  # killed before the end
    epoch = checkpoint.load(folder / CHECKPOINT)["epoch"]

    resumed = torchrun.train(killed, 2, progress=False)
    assert resumed.resumed_from_epoch == epoch + 1 and list(resumed.history["epoch"]) == [0, 1]
    expected = json.loads((run_dir(whole, "synthetic") / "metrics.json").read_text())
    assert {k: resumed.metrics[k] for k in EXACT} == {k: expected[k] for k in EXACT}
    provenance = json.loads((folder / "provenance.json").read_text())
    assert (provenance["world_size"], provenance["backend"], provenance["resumed_from_epoch"]) == (2, "gloo", epoch + 1)
