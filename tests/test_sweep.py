"""The sweep: planning and sharding, skipping complete runs, surviving a failed run."""

from __future__ import annotations

import pytest

from ccnce.config import Config
from ccnce.errors import ConfigError
from ccnce.sweep import parse_shard, plan, summary_table, sweep
from ccnce.train import train


def test_shards_partition_the_grid():
    full = plan(["bee", "maher"], ["none", "ccnce"], [0, 1, 2], "smoke")
    shards = [plan(["bee", "maher"], ["none", "ccnce"], [0, 1, 2], "smoke", shard=f"{i}/3") for i in range(3)]
    keys = lambda cs: [(c.speaker, c.variant, c.seed) for c in cs]  # noqa: E731
    assert len(full) == 12
    assert sorted(sum((keys(s) for s in shards), [])) == sorted(keys(full))
    assert not set(keys(shards[0])) & set(keys(shards[1]))


@pytest.mark.parametrize("bad", ["3", "3/3", "a/b", "-1/2"])
def test_bad_shard_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(bad)


@pytest.mark.slow
def test_sweep_skips_complete_runs_and_survives_a_failure(tmp_path, synth_root):
    common = dict(data_root=str(synth_root), results_dir=str(tmp_path / "results"), epochs=1, warmup_epochs=0,
                  max_train_windows=32, batch_size=16)
    done = Config.from_profile("smoke", variant="none", **common)
    train(done, progress=False)
    broken = Config.from_profile("smoke", speaker="nobody", variant="none", **common)
    outcomes = sweep([done, broken], "synthetic", progress=False)
    assert [(o.speaker, o.status) for o in outcomes] == [("lec_cosmic", "skipped"), ("nobody", "failed")]
    assert "unknown speaker 'nobody'" in outcomes[1].message
    assert "0 done, 1 already complete, 1 failed" in summary_table(outcomes)
