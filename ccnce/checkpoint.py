"""Training checkpoints that load without running code: ``torch.load(weights_only=True)`` only.

A checkpoint (``checkpoints/last.pt`` of a run folder) holds the state dicts of the generator ``G``, the
discriminator ``D``, their optimisers and schedulers and the contrastive term, the run's history, its
best epoch, and the RNG states, all as tensors and plain dicts, lists, str and numbers: what
``weights_only`` unpickling admits, so a crafted file cannot execute anything when it is loaded. The
RNG states of Python and numpy (tuples and numpy arrays) are stored as lists and tensors and rebuilt
exactly, so a resumed run ends with the same metrics as an uninterrupted one.

:data:`FORMAT` 2 is this layout. Checkpoints of format 1 (written before; they pickled numpy objects and
needed ``weights_only=False``) are refused with how to re-run. Every problem (unreadable, crafted,
malformed, not matching the model) raises :class:`CheckpointError`, one line naming the file.
"""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccnce.errors import CcnceError

FORMAT = 2
MODULES: tuple[str, ...] = ("G", "D", "opt_G", "opt_D", "sched_G", "sched_D", "contrastive")
_RECORD: dict[str, type | tuple[type, ...]] = {"format": int, "config_hash": str, "epoch": int, "history": list,
                                              "best": dict, "rng": dict}
_BEST_KEYS = ("dev_l1", "epoch", "G", "bad_epochs")
RERUN = "re-run the training to replace it (ccnce train ... --force, or delete the file)"


class CheckpointError(CcnceError):
    """A checkpoint cannot be used (unreadable, refused, malformed, or another model's)."""


# ------------------------------------------------------------------------------------------ RNG states
def rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's global RNG states in types ``weights_only`` loads."""
    version, internal, gauss = random.getstate()
    key, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": {"version": version, "internal": list(internal), "gauss": gauss},
            "numpy": {"key": key, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (exactly: the uint32 keys survive int64 unchanged)."""
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    np.random.set_state((npy["key"], npy["keys"].cpu().numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())


# ------------------------------------------------------------------------------------------ save
def _plain(x: Any) -> Any:
    """``x`` with numpy scalars as Python numbers (history rows and ``best`` may hold np.float64)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def save(path: Path, states: dict[str, Any], config_hash: str, epoch: int, history: list[dict[str, Any]],
         best: dict[str, Any]) -> None:
    """Write a checkpoint atomically: ``states`` (one state dict per name in :data:`MODULES`) and the record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: _plain(states[name]) for name in MODULES}
    state.update(format=FORMAT, config_hash=config_hash, epoch=int(epoch), history=_plain(history),
                 best=_plain(best), rng=rng_state())
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


# ------------------------------------------------------------------------------------------ load
def _one_line(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _unsafe_globals(path: Path, error: BaseException) -> list[str]:
    """The globals ``weights_only`` refused, read from the file without running it (or from the error)."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001 - a listing that fails is no reason to hide the refusal itself
        return re.findall(r"Unsupported global: GLOBAL (\S+)", str(error))[:1]


def load(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint of :data:`FORMAT`; tensors are mapped to ``device``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = _unsafe_globals(path, e)
        if unsafe and all(name.startswith("numpy.") for name in unsafe):
            raise CheckpointError(f"{path}: checkpoint written by an earlier version of ccnce (format 1, which "
                                  f"needs unsafe unpickling); {RERUN}") from None
        what = ", ".join(unsafe[:3]) if unsafe else "unknown"
        raise CheckpointError(f"{path}: refused a pickled object of type {what}; not a ccnce checkpoint") from None
    except (RuntimeError, OSError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            MemoryError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {_one_line(e)})") from None
    _check(path, state)
    return state


def _check(path: Path, state: Any) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: malformed checkpoint (a {type(state).__name__}, not a dict)")
    if "format" not in state:
        raise CheckpointError(f"{path}: checkpoint written by an earlier version of ccnce (no format); {RERUN}")
    missing = [k for k in (*_RECORD, *MODULES) if k not in state]
    if missing:
        raise CheckpointError(f"{path}: malformed checkpoint (missing {', '.join(missing)})")
    if state["format"] != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {state['format']!r}, this ccnce reads format {FORMAT}; {RERUN}")
    wrong = [k for k, t in _RECORD.items() if not isinstance(state[k], t)]
    wrong += [k for k in MODULES if not isinstance(state[k], dict)]
    if not wrong and any(k not in state["best"] for k in _BEST_KEYS):
        wrong.append("best")
    if wrong:
        raise CheckpointError(f"{path}: malformed checkpoint (wrong type or content: {', '.join(wrong)})")


def restore(path: Path, state: dict[str, Any], stateful: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Load ``state`` into the objects of ``stateful`` (by :data:`MODULES` name) and the global RNGs.

    Returns (history, best, first epoch to run).
    """
    for name, obj in stateful.items():
        try:
            # G's checkpoint lacks the frozen pretrained weights (they come from their package).
            obj.load_state_dict(state[name], **({"strict": False} if name == "G" else {}))
        except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
            raise CheckpointError(f"{path}: {name} does not fit this run ({_one_line(e)}); {RERUN}") from None
    try:
        set_rng_state(state["rng"])
    except (KeyError, ValueError, TypeError, AttributeError, RuntimeError) as e:
        raise CheckpointError(f"{path}: malformed RNG state ({_one_line(e)})") from None
    return state["history"], state["best"], state["epoch"] + 1


def load_generator(path: Path, state: dict[str, Any], G: torch.nn.Module) -> None:
    """Load the best epoch's generator (the last one's if no epoch was selected) into ``G``."""
    weights = state["best"]["G"] if state["best"]["G"] is not None else state["G"]
    try:
        G.load_state_dict(weights, strict=False)
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise CheckpointError(f"{path}: the generator does not fit config.json ({_one_line(e)}); {RERUN}") from None
