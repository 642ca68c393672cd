import pytest

from ccnce.config import PROFILES, Config
from ccnce.errors import ConfigError


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_resolve_and_validate(profile):
    cfg = Config.from_profile(profile)
    assert cfg.profile == profile
    assert cfg.window % 2 ** (cfg.unet_depth - 1) == 0


def test_overrides_apply_and_round_trip():
    cfg = Config.from_profile("smoke", speaker="bee", epochs=2, data_root="/x")
    assert (cfg.speaker, cfg.epochs, cfg.d_model, cfg.data_root) == ("bee", 2, 32, "/x")
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_hash_changes_with_results_relevant_fields_only():
    a = Config.from_profile("cpu")
    assert a.hash() == Config.from_profile("cpu", results_dir="elsewhere").hash()
    assert a.hash() != Config.from_profile("cpu", seed=1).hash()
    assert a.data_hash() == Config.from_profile("cpu", seed=1).data_hash()
    assert a.data_hash() != Config.from_profile("cpu", hop=10).data_hash()


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (dict(variant="simclr"), "variant='simclr' is not valid; expected one of none, ccnce, moco, patchnce"),
        (dict(epochs=0), "epochs must be positive"),
        (dict(epochs="3"), "epochs='3' has the wrong type"),
        (dict(d_model=30, fusion_heads=8), "divisible by fusion_heads"),
        (dict(learning_rate=1e-3), "unknown config field 'learning_rate'"),
    ],
)
def test_bad_values_name_the_field(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Config.from_profile("cpu", **overrides)


def test_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile 'gpu'"):
        Config.from_profile("gpu")
