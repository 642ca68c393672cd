"""A pandas fixed-format frame (``DataFrame.to_hdf(format="fixed")``) decoded with h5py, nothing executed.

PATS's ``text/meta`` is such a frame (PATS.md). PyTables stores it as a group with ``axis0`` (column
names), ``axis1`` (the index) and, per dtype block ``i``, ``block<i>_items`` (the block's column names,
fixed-length bytes) and ``block<i>_values``: a plain array for a numeric block, and for an object block
(the ``Word`` column) a variable-length row holding the *pickled* numpy object array. ``pd.read_hdf``
unpickles that row with :func:`pickle.loads`, so a crafted interval file runs code when it is read.

Here the row goes through :class:`SafeUnpickler`, which admits only what a pickled numpy array needs
(``numpy.ndarray`` as the class to rebuild, ``numpy.dtype``, numpy's ``_reconstruct`` and ``scalar``
reconstructors under their numpy 1 and numpy 2 module names, and ``_codecs.encode`` of latin-1 text,
which is how pickle protocol 2 writes bytes); the decoded cells must then be
str, bytes, numbers or None. Anything else raises :class:`RefusedPickle` before it can be called.
Blocks of columns the caller does not ask for are not decoded at all (the reader asks for the frame
numbers only, so ``Word`` is never unpickled while building the cache).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence

import h5py
import numpy as np
import pandas as pd

from ccnce.errors import DataError

#: numpy's array and scalar reconstructors, found from numpy itself (``numpy._core.multiarray`` in
#: numpy 2, ``numpy.core.multiarray`` before), so admitting them imports nothing.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
#: Cell types a decoded object column may hold (PATS words are str; NaN is a float).
_CELL_TYPES = (str, bytes, int, float, bool, type(None), np.number, np.bool_)
#: Kinds of a plain (non-pickled) block: bool, integers, floats.
_PLAIN_KINDS = "biuf"


class FrameError(DataError):
    """The group is not a pandas fixed-format frame we can decode (message without the file name)."""


class RefusedPickle(FrameError):
    """A pickled value names something other than what a numpy array of words needs."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"refused a pickled object of type {type_name}")
        self.type_name = type_name


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` in a pickle: usable only as the class ``_reconstruct`` rebuilds."""


_NDARRAY = _NdarrayClass()


def _reconstruct(cls: object, shape: object, dtype: object) -> np.ndarray:
    if cls is not _NDARRAY:
        raise RefusedPickle(_type_name(cls))
    return _RECONSTRUCT(np.ndarray, shape, dtype)


def _dtype(spec: object, align: object = False, copy: object = False) -> np.dtype:
    if not isinstance(spec, str):
        raise RefusedPickle(f"numpy.dtype of {_type_name(spec)}")
    return np.dtype(spec, bool(align), bool(copy))


def _scalar(dtype: object, data: object) -> np.generic:
    if not isinstance(dtype, np.dtype) or dtype.kind not in _PLAIN_KINDS + "c" or not isinstance(data, bytes):
        raise RefusedPickle(f"numpy scalar of {_type_name(dtype)}")
    return _SCALAR(dtype, data)


def _latin1(text: object, encoding: object = "latin1") -> bytes:
    """Protocol 2 pickles bytes as ``_codecs.encode(text, "latin1")`` (numpy's dtype code among them)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise RefusedPickle("_codecs.encode of anything but latin-1 text")
    return text.encode("latin1")


_ADMITTED = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _latin1,
             **{(m, "_reconstruct"): _reconstruct for m in _NUMPY_MODULES},
             **{(m, "scalar"): _scalar for m in _NUMPY_MODULES}}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of a pickled numpy array (:data:`_ADMITTED`)."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ADMITTED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"{module}.{name}") from None

    def persistent_load(self, pid: object) -> object:
        raise RefusedPickle("persistent id")


def safe_loads(data: bytes) -> np.ndarray:
    """Unpickle a numpy array of str, bytes, numbers or None from ``data`` with :class:`SafeUnpickler`.

    Raises :class:`RefusedPickle` for any other object, :class:`FrameError` for a corrupt pickle.
    """
    try:
        value = SafeUnpickler(io.BytesIO(data)).load()
    except RefusedPickle:
        raise
    # A malformed pickle can fail in any of the unpickler's opcodes, each with its own exception
    # (EOFError, UnpicklingError, ValueError, TypeError, IndexError, MemoryError, ...): all mean "corrupt".
    except Exception as e:  # noqa: BLE001
        raise FrameError(f"corrupt pickled block ({type(e).__name__}: {' '.join(str(e).split())[:200]})") from e
    if type(value) is not np.ndarray:
        raise RefusedPickle(_type_name(value))
    if value.dtype == object:
        for cell in value.flat:
            if not isinstance(cell, _CELL_TYPES):
                raise RefusedPickle(_type_name(cell))
    return value


def _type_name(x: object) -> str:
    t = type(x)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _text(x: object) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _attr(node: h5py.HLObject, name: str) -> str | None:
    value = node.attrs.get(name)
    return None if value is None else _text(value)


def _names(group: h5py.Group, key: str) -> list[str]:
    node = group[key]
    if not isinstance(node, h5py.Dataset) or node.dtype.kind != "S" or node.ndim != 1:
        raise FrameError(f"{key} is not a list of names")
    return [_text(x) for x in node[()]]


def _unpickle_block(node: h5py.Dataset, key: str) -> np.ndarray:
    """The object array pickled in the single row of a PyTables VLArray with an object atom."""
    if _attr(node, "PSEUDOATOM") != "object" or h5py.check_vlen_dtype(node.dtype) != np.uint8 or node.shape != (1,):
        raise FrameError(f"{key} is a variable-length array but not one pickled object")
    return safe_loads(node[0].tobytes())


def _block_values(group: h5py.Group, i: int) -> np.ndarray:
    """``block<i>_values`` as stored (PyTables' ``transposed`` attribute still to apply)."""
    key = f"block{i}_values"
    node = group[key]
    if not isinstance(node, h5py.Dataset):
        raise FrameError(f"{key} is not a dataset")
    if _attr(node, "CLASS") == "VLARRAY":
        return _unpickle_block(node, key)
    if "shape" in node.attrs:  # an empty block: pandas stores a placeholder and the real (empty) shape
        shape = tuple(int(n) for n in np.atleast_1d(node.attrs["shape"]))
        dtype = np.dtype(_attr(node, "value_type") or "float64")
        if np.prod(shape) != 0 or dtype.kind not in _PLAIN_KINDS + "O":
            raise FrameError(f"{key} has an unsupported empty layout")
        return np.empty(shape, dtype=dtype)
    if node.dtype.kind not in _PLAIN_KINDS:
        raise FrameError(f"{key} has unsupported dtype {node.dtype}")
    return node[()]


def read_frame(group: h5py.Group, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The frame stored in ``group`` by ``to_hdf(format="fixed")``, or only its ``columns``.

    Returns the columns in stored order (or in the order of ``columns``) with a default integer index
    (the stored index is not read: PATS words are positional).
    Raises :class:`RefusedPickle` for a pickled value other than a numpy array of str, bytes, numbers
    or None, and :class:`FrameError` for any other layout.
    """
    try:
        if not isinstance(group, h5py.Group) or _attr(group, "pandas_type") != "frame":
            raise FrameError("not a pandas frame in fixed format")
        names = _names(group, "axis0")
        wanted = list(names if columns is None else columns)
        absent = [c for c in wanted if c not in names]
        if absent:
            raise FrameError(f"lacks column(s) {', '.join(absent)}")
        decoded: dict[str, np.ndarray] = {}
        n_rows = None
        for i in range(int(group.attrs["nblocks"])):
            items = _names(group, f"block{i}_items")
            if not set(items) & set(wanted):
                continue
            values = _block_values(group, i)
            node = group[f"block{i}_values"]
            if values.ndim == 1 and len(items) == 1:  # pandas >= 3 stores a string column as one 1-D array
                values = values[:, None]
            elif values.ndim != 2:
                raise FrameError(f"block{i}_values has {values.ndim} dimensions, expected 2")
            elif not int(node.attrs.get("transposed", 0)):  # stored (columns, rows)
                values = values.T
            if values.shape[1] != len(items) or (n_rows is not None and values.shape[0] != n_rows):
                raise FrameError(f"block{i}_values has shape {values.shape} for {len(items)} column(s)")
            n_rows = values.shape[0]
            value_type = _attr(node, "value_type") if "shape" not in node.attrs else None
            if value_type not in (None, "str", "string"):
                raise FrameError(f"block{i}_values has unsupported value type {value_type}")
            for j, item in enumerate(items):
                if item in wanted:
                    decoded[item] = values[:, j] if value_type is None else pd.array(values[:, j], dtype=value_type)
    except (KeyError, ValueError, TypeError, OverflowError, OSError, RuntimeError) as e:
        raise FrameError(f"not a readable pandas frame ({type(e).__name__}: {' '.join(str(e).split())[:200]})") from e
    absent = [c for c in wanted if c not in decoded]
    if absent:
        raise FrameError(f"no block holds column(s) {', '.join(absent)}")
    return pd.DataFrame({c: decoded[c] for c in wanted})
