"""The public data API: WindowSet items, collated batches, the seeded loader, full test intervals."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ccnce.config import Config
from ccnce.data.dataset import collate_windows, load_full_intervals, make_loader
from ccnce.errors import ConfigError
from pats_fixture import read_key

BATCH_KEYS = {"pose": torch.float32, "audio": torch.float32, "tokens": torch.int64, "durations": torch.int64,
              "n_tokens": torch.int64, "pose_cluster": torch.int64, "gesture": torch.int64,
              "phrase": torch.int64, "index": torch.int64, "start": torch.int64, "interval": torch.int64}


def test_batch_layout(pats_data):
    batch = next(iter(make_loader(pats_data.train, batch_size=8, shuffle=True, seed=0)))
    assert {k: v.dtype for k, v in batch.items()} == BATCH_KEYS
    assert batch["pose"].shape == (8, 64, 96) and batch["audio"].shape == (8, 64, 64)
    for key in ("pose_cluster", "gesture", "phrase"):
        assert batch[key].shape == (8, 64)
    n = batch["n_tokens"]
    width = batch["tokens"].shape[1]
    assert width == int(n.max())
    pad = torch.arange(width)[None, :] >= n[:, None]
    assert (batch["tokens"][pad] == 0).all() and (batch["durations"][pad] == 0).all()
    assert (batch["tokens"][~pad] > 0).all()
    assert (batch["durations"].sum(dim=1) == 64).all()


def test_loader_batches_equal_collated_items(pats_data):
    for batch in make_loader(pats_data.dev, batch_size=6, shuffle=True, seed=1):
        items = [pats_data.dev[int(i)] for i in batch["index"]]
        expected = collate_windows(items)
        assert expected.keys() == batch.keys()
        for key in batch:
            torch.testing.assert_close(batch[key], expected[key], rtol=0, atol=0)


def test_loader_is_deterministic_given_the_seed(pats_data):
    def order(seed, epochs=2):
        loader = make_loader(pats_data.train, batch_size=16, shuffle=True, seed=seed)
        return [torch.cat([b["index"] for b in loader]).tolist() for _ in range(epochs)]

    a, b, c = order(0), order(0), order(1)
    assert a == b and a != c and a[0] != a[1]  # same seed same epochs; epochs reshuffle
    assert sorted(a[0]) == list(range(len(pats_data.train)))
    plain = make_loader(pats_data.train, batch_size=32, shuffle=False, seed=0, drop_last=True)
    assert [len(b["index"]) for b in plain] == [32, 32]
    assert next(iter(plain))["index"].tolist() == list(range(32))


def test_item_holds_one_window_with_its_own_sub_words(pats_data):
    item = pats_data.test[-1]
    assert item["pose"].shape == (64, 96) and item["tokens"].shape == item["durations"].shape
    assert len(item["tokens"]) == int(item["n_tokens"]) and int(item["durations"].sum()) == 64
    assert int(item["index"]) == len(pats_data.test) - 1
    with pytest.raises(IndexError):
        pats_data.test[len(pats_data.test)]


def test_windows_know_their_interval_and_start(pats_root, pats_data):
    ws = pats_data.train
    assert ws.interval_ids[0] == pats_root.ids()[0] and ws.starts[:3].tolist() == [0, 5, 10]
    path = pats_root.path("lec_cosmic", ws.interval_ids[25])
    raw = read_key(path, "pose/normalize")
    start = ws.starts[25]
    np.testing.assert_allclose(ws.raw(25)["pose"][:, 0], raw[start:start + 64, 1], rtol=1e-6)


def test_full_intervals_are_non_overlapping_and_concatenable(pats_root, pats_data):
    cfg = Config()
    full = load_full_intervals(cfg, pats_root.root, "test", progress=False, cache_dir=pats_data.cache_dir.parents[2])
    (interval_id,) = pats_root.ids("lec_cosmic", "test")
    assert len(full) == 160 // 64 and full.starts.tolist() == [0, 64]
    groups = full.interval_windows()
    assert list(groups) == [interval_id]
    joined = np.concatenate([full.raw(int(i))["pose"] for i in groups[interval_id]])
    raw = read_key(pats_root.path("lec_cosmic", interval_id), "pose/normalize")
    np.testing.assert_allclose(joined[:, 0], raw[:128, 1], rtol=1e-6)
    np.testing.assert_array_equal(full[0]["pose_cluster"].numpy(), pats_data.clusterer.label(full[0]["pose"].numpy()))
    again = load_full_intervals(cfg, pats_root.root, "test", progress=False, data=pats_data)
    assert again.folder == full.folder
    with pytest.raises(ConfigError, match="other data settings"):
        load_full_intervals(cfg.replace(hop=7), pats_root.root, data=pats_data)


def test_window_set_pickles_without_its_arrays(pats_data):
    ws = pats_data.train
    blob = pickle.dumps(ws)
    assert len(blob) < 100_000  # the memory maps are reopened, not copied
    clone = pickle.loads(blob)
    torch.testing.assert_close(clone[5]["pose"], ws[5]["pose"])
