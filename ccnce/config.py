"""One run's configuration: a plain dataclass, named profiles, validated overrides (ARCHITECTURE.md).

``Config.from_profile("cpu", speaker="bee", epochs=3)`` resolves a profile and applies overrides.
Every field can be overridden from papermill parameters or the CLI; an unknown field or a value of
the wrong kind raises :class:`~ccnce.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ccnce.errors import ConfigError

SPEAKERS: tuple[str, ...] = ("maher", "bee", "lec_cosmic", "oliver", "colbert")
VARIANTS: tuple[str, ...] = ("none", "ccnce", "moco", "patchnce")
PROFILES: tuple[str, ...] = ("smoke", "cpu", "paper")

_CHOICES: dict[str, tuple[Any, ...]] = {
    "variant": VARIANTS,
    "profile": PROFILES,
    "pose_key": ("pose/normalize", "pose/data"),
    "audio_key": ("audio/log_mel_400", "audio/log_mel_512"),
    "audio_alignment": ("time", "reference"),
    "similarity": ("dot", "cosine", "shift"),
    "threshold": ("paper", "original"),
    "loss_form": ("infonce", "original"),
    "bank_encoding": ("full", "sampled", "momentum", "memory"),
    "bank_reset": ("epoch", "never"),
    "clusters": ("paper", "oracle", "kmeans"),
    "alg2": ("one", "mean", "max"),
    "ccnce_head": ("z", "window"),
    "alternation": ("both", "random"),
    "early_stopping": ("dev_l1", "none"),
}


@dataclass
class Config:
    """Everything that determines one run. Field groups follow the data flow."""

    # --- run identity
    speaker: str = "lec_cosmic"
    variant: str = "ccnce"
    seed: int = 0
    profile: str = "cpu"
    data_root: str | None = None  # None: the embedded synthetic dataset
    results_dir: str = "results"

    # --- data (PATS.md)
    window: int = 64
    hop: int = 5
    pose_key: str = "pose/normalize"
    audio_key: str = "audio/log_mel_400"
    audio_alignment: str = "time"
    n_pose_clusters: int = 8
    strict: bool = False
    max_train_windows: int | None = None  # subsample the training windows (None: all)

    # --- model (METHOD.md, backbone)
    text_encoder: str = "minilm"  # "minilm" (packaged default), a local folder, or a hub name
    freeze_text: bool = True
    d_model: int = 64  # E
    audio_blocks: int = 8
    fusion_layers: int = 2
    fusion_heads: int = 8
    ff_mult: int = 4
    unet_depth: int = 5
    n_mixture: int = 8

    # --- contrastive term (METHOD.md, CC-NCE and baselines)
    tau: float = 0.1
    similarity: str = "dot"
    threshold: str = "paper"
    threshold_momentum: float = 0.99
    loss_form: str = "infonce"
    bank_encoding: str = "momentum"  # measured default (ccnce/bench/bank_encoding.py); the paper: "full"
    bank_momentum: float = 0.99  # momentum of F's copy that encodes bank keys (bank_encoding="momentum")
    bank_max_clusters: int = 128
    bank_slots: int = 20
    bank_sample_negatives: int = 4
    bank_reset: str = "epoch"
    warmup_epochs: int = 2
    moco_momentum: float = 0.99
    moco_queue: int = 4096
    moco_tau: float = 0.1
    moco_noise: float = 0.1
    patchnce_tau: float = 0.07
    patchnce_size: int = 8
    patchnce_hop: int = 5
    contrastive_weight: float = 1.0
    # --- CC-NCE study options (ccnce/study.py; defaults = the paper, and left out of the config hash)
    clusters: str = "paper"  # "paper" (Algorithms 1-2) | "oracle" (true dominant gesture) | "kmeans"
    threshold_k: float = 1.0  # similar iff Sim >= mu_hat + k * sigma_hat
    alg2: str = "one"  # Algorithm 2 compares one random member per cluster | cluster "mean" | "max" over members
    kmeans_k: int = 0  # clusters="kmeans": number of clusters (e.g. the number of true gesture classes)
    ccnce_head: str = "z"  # Eq. 7 on the per-frame "z" (paper) | a "window"-level projection of it
    grad_norm_every: int = 0  # log per-term gradient norms on the shared parameters every N batches (0: off)

    # --- training (METHOD.md, training)
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    text_lr: float = 1e-4
    weight_decay: float = 0.01
    lr_decay: float = 0.99
    grad_clip: float = 1.0
    adv_weight_start: float = 1.0
    adv_weight_end: float = 2.0
    alternation: str = "both"
    early_stopping: str = "dev_l1"
    patience: int = 5
    device: str = "cpu"
    amp: bool = False
    num_workers: int = 0

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_profile(cls, profile: str = "cpu", **overrides: Any) -> "Config":
        """Resolve a named profile, then apply ``overrides`` (field name → value)."""
        if profile not in PROFILES:
            raise ConfigError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        values = {**PROFILE_VALUES[profile], "profile": profile}
        names = {f.name for f in dataclasses.fields(cls)}
        for key, value in overrides.items():
            if key not in names:
                raise ConfigError(f"unknown config field {key!r}; valid fields: {', '.join(sorted(names))}")
            if value is not None or key in ("data_root", "max_train_windows"):
                values[key] = value
        return cls(**values)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Rebuild a config written by :meth:`to_dict` (e.g. a run folder's ``config.json``)."""
        d = dict(d)
        return cls.from_profile(d.pop("profile", "cpu"), **d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ identity
    def hash(self, data_fingerprint: str | None = None,
             exclude: tuple[str, ...] = ("data_root", "results_dir", "device", "num_workers")) -> str:
        """A short stable hash of the experiment: the fields that change results and, when given, the
        data's fingerprint (``DataSource.fingerprint``), but not where files live (``data_root``,
        ``results_dir``): the same experiment on the same data in another folder has the same hash.
        Fields added after runs were recorded are left out while at their neutral value
        (:data:`HASH_NEUTRAL`), so that those runs keep their hash and stay complete."""
        d = {k: v for k, v in self.to_dict().items()
             if k not in exclude and not (k in HASH_NEUTRAL and v == HASH_NEUTRAL[k])}
        if data_fingerprint is not None:
            d["data_fingerprint"] = data_fingerprint
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def data_hash(self) -> str:
        """Hash of the fields that change the window cache of a speaker."""
        keys = ("window", "hop", "pose_key", "audio_key", "audio_alignment", "n_pose_clusters", "strict")
        d = {k: getattr(self, k) for k in keys}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_type(f, value)
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} is not valid; expected one of {', '.join(map(str, choices))}"
                )
        positive = ("window", "hop", "n_pose_clusters", "d_model", "epochs", "batch_size", "bank_slots",
                    "bank_max_clusters", "fusion_heads", "unet_depth", "n_mixture", "moco_queue")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.d_model % self.fusion_heads:
            raise ConfigError(f"d_model={self.d_model} must be divisible by fusion_heads={self.fusion_heads}")
        if self.window % (2 ** (self.unet_depth - 1)):
            raise ConfigError(f"window={self.window} must be divisible by 2**(unet_depth-1)={2 ** (self.unet_depth - 1)}")
        if not all(0 <= getattr(self, m) < 1 for m in ("threshold_momentum", "moco_momentum", "bank_momentum")):
            raise ConfigError("threshold_momentum, moco_momentum and bank_momentum must be in [0, 1)")
        if self.audio_blocks < 3:
            raise ConfigError(f"audio_blocks must be >= 3 (the audio encoder downsamples three times), got {self.audio_blocks}")
        if self.clusters == "kmeans" and self.variant == "ccnce" and self.kmeans_k <= 0:
            raise ConfigError("clusters='kmeans' needs kmeans_k > 0 (e.g. the number of gesture classes)")
        if self.threshold_k < 0 or self.grad_norm_every < 0 or self.kmeans_k < 0:
            raise ConfigError("threshold_k, grad_norm_every and kmeans_k must be >= 0")
        if self.bank_sample_negatives < 0:
            raise ConfigError(f"bank_sample_negatives must be >= 0, got {self.bank_sample_negatives}")
        if self.tau <= 0 or self.moco_tau <= 0 or self.patchnce_tau <= 0:
            raise ConfigError("temperatures (tau, moco_tau, patchnce_tau) must be positive")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ConfigError(f"warmup_epochs must be in [0, epochs={self.epochs}), got {self.warmup_epochs}: "
                              "the best epoch is chosen after the warm-up")


def _check_type(f: dataclasses.Field, value: Any) -> None:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "str | None": value is None or isinstance(value, str),
        "int | None": value is None or (isinstance(value, int) and not isinstance(value, bool)),
    }.get(t, True)
    if not ok:
        raise ConfigError(f"{f.name}={value!r} has the wrong type; expected {t}")


#: Study options (ccnce/study.py) and their neutral values, which leave training as it was before they existed.
HASH_NEUTRAL: dict[str, Any] = {"clusters": "paper", "threshold_k": 1.0, "alg2": "one", "kmeans_k": 0,
                                "ccnce_head": "z", "grad_norm_every": 0}


PROFILE_VALUES: dict[str, dict[str, Any]] = {
    # seconds on a laptop CPU: tests and nbval
    "smoke": dict(d_model=32, audio_blocks=4, fusion_layers=1, fusion_heads=4, unet_depth=3, epochs=3,
                  warmup_epochs=1, batch_size=16, lr=1e-3, max_train_windows=256, bank_max_clusters=32,
                  bank_slots=8, moco_queue=256, patience=3),
    # a full run of one speaker/variant/seed in a couple of minutes on 2 CPU cores
    # λ 0.1 → 0.2 instead of the paper's 1 → 2: at 1 → 2 the discriminator wins within two epochs, its
    # saturated gradient outweighs L_rec and dev L1 rises after epoch 1 (chosen on dev data; the
    # Analysis page's regime study shows the curves)
    "cpu": dict(d_model=64, audio_blocks=8, fusion_layers=2, fusion_heads=8, unet_depth=5, epochs=8,
                warmup_epochs=2, batch_size=32, lr=5e-4, moco_queue=1024, adv_weight_start=0.1,
                adv_weight_end=0.2),
    # the paper's configuration (METHOD.md): E=256, fine-tuned bert-base-uncased, batch 32, 20 epochs
    "paper": dict(d_model=256, audio_blocks=8, fusion_layers=2, fusion_heads=8, unet_depth=5, epochs=20,
                  warmup_epochs=2, batch_size=32, lr=1e-4, text_encoder="bert-base-uncased",
                  freeze_text=False, bank_encoding="full", device="cuda", amp=True),
}
