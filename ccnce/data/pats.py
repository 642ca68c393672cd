"""The PATS dataset layout: the interval table, the missing list, interval files (PATS.md).

``PatsRoot(root)`` reads ``cmu_intervals_df.csv`` (ids as strings) and ``missing_intervals.h5`` and
maps (speaker, split) to interval ids and file paths. :func:`read_interval` reads one interval file and
validates it into an :class:`Interval` that is safe to cut into windows: the lengths of all modalities
agree (small mismatches are trimmed to the common duration, large ones rejected), values are finite,
``text/meta`` is consistent (decoded by :mod:`ccnce.data.fixed_frame`, which refuses any pickled object
but words: a crafted file runs no code), and pose frames that explode (the ``pose/normalize`` shoulder collapse) are
flagged. Anything unusable raises :class:`IntervalError` (a :class:`~ccnce.errors.DataError`) whose
message names the file and, where there is one, the key; the caller decides to skip or to fail.

The writers (:func:`write_index`, :func:`write_interval`) produce the same layout; the test fixture and
the cache benchmark use them, so what we write is checked by what we read.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ccnce.data import align
from ccnce.data.fixed_frame import FrameError, RefusedPickle, read_frame
from ccnce.data.skeleton import to_kept
from ccnce.errors import DataError

log = logging.getLogger(__name__)

CSV_NAME = "cmu_intervals_df.csv"
MISSING_NAME = "missing_intervals.h5"
PROCESSED_DIR = "processed"
CSV_COLUMNS: tuple[str, ...] = (
    "dataset", "delta_time", "end_time", "interval_id", "speaker", "start_time", "video_fn", "video_link",
)
SPLITS: tuple[str, ...] = ("train", "dev", "test")
LISTED_MISSING = "listed in missing_intervals.h5"

POSE_WIDTH = 104
META_COLUMNS: tuple[str, ...] = ("Word", "start_frame", "end_frame")
GROUND_TRUTH_KEYS: dict[str, str] = {"synth/gesture": "gesture", "synth/phrase": "phrase"}

#: Modalities whose lengths (in pose frames) differ by at most this many frames are trimmed to the
#: shortest; beyond it the interval is rejected. 8 frames ≈ 0.53 s: more than the audio lost to
#: ``center=False`` framing (< 0.05 s), less than a word or two, so a trimmed interval stays aligned.
LENGTH_TOLERANCE_FRAMES = 8

#: A pose frame "explodes" when one of its 96 kept values exceeds this many times the interval's median
#: absolute value (robust to the explosion itself). Joints sit within a few shoulder widths of the
#: neck, so 20x the median is far outside any real pose, while the shoulder collapse gives 100x+.
EXPLODE_FACTOR = 20.0

# Exceptions h5py/PyTables/pandas raise on unreadable, truncated or malformed files (PyTables' errors
# derive from RuntimeError or LookupError).
_READ_ERRORS = (OSError, LookupError, ValueError, TypeError, RuntimeError)


class IntervalError(DataError):
    """One interval file cannot be used; ``category`` groups the reasons for the summary counts."""

    def __init__(self, message: str, category: str) -> None:
        super().__init__(message)
        self.category = category


# ------------------------------------------------------------------------------------------ the root
def read_intervals_csv(root: str | Path) -> pd.DataFrame:
    """``cmu_intervals_df.csv`` as strings (ids keep leading zeros; times stay exact)."""
    path = Path(root) / CSV_NAME
    if not path.is_file():
        raise DataError(f"{path}: not found; is {root} a PATS-layout root (it needs {CSV_NAME})?")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the interval table ({_one_line(e)})") from e
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(CSV_COLUMNS)}")
    return df


def read_missing_intervals(root: str | Path) -> set[str]:
    """Interval ids listed in ``missing_intervals.h5`` (entries may be bytes or str, ids or file paths)."""
    path = Path(root) / MISSING_NAME
    if not path.exists():
        log.warning("%s: not found; assuming no interval is declared missing", path)
        return set()
    try:
        with h5py.File(path, "r") as f:
            if "intervals" not in f:
                raise DataError(f"{path}: missing key 'intervals'")
            values = f["intervals"][()]
    except _READ_ERRORS as e:
        raise DataError(f"{path}: not a readable HDF5 file (corrupt, truncated or another format: {_one_line(e)})") from e
    ids = set()
    for v in np.atleast_1d(values):
        s = v.decode("utf-8") if isinstance(v, bytes) else str(v)
        s = s.strip()
        if s:
            ids.add(Path(s).stem if s.endswith(".h5") else Path(s).name)
    return ids


def interval_path(root: str | Path, speaker: str, interval_id: str) -> Path:
    return Path(root) / PROCESSED_DIR / speaker / f"{interval_id}.h5"


class PatsRoot:
    """A PATS-layout root: which intervals each speaker has in each official split."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"{self.root}: no such directory")
        self.table = read_intervals_csv(self.root)
        self.missing = read_missing_intervals(self.root)
        bad = sorted(set(self.table["dataset"]) - set(SPLITS))
        if bad:
            log.warning("%s: rows with dataset not in %s are ignored: %s", self.csv_path, SPLITS, bad)

    @property
    def csv_path(self) -> Path:
        return self.root / CSV_NAME

    @property
    def speakers(self) -> list[str]:
        return sorted(set(self.table["speaker"]))

    def check_speaker(self, speaker: str) -> None:
        if speaker not in set(self.table["speaker"]):
            raise DataError(f"{self.csv_path}: unknown speaker {speaker!r}; "
                            f"this root has {', '.join(self.speakers) or 'no speakers'}")

    def intervals(self, speaker: str, split: str) -> list[str]:
        """Interval ids of ``speaker`` in ``split``, in table order, without duplicates."""
        self.check_speaker(speaker)
        rows = self.table[(self.table["speaker"] == speaker) & (self.table["dataset"] == split)]
        return list(dict.fromkeys(rows["interval_id"].str.strip()))

    def path(self, speaker: str, interval_id: str) -> Path:
        return interval_path(self.root, speaker, interval_id)

    def read(self, speaker: str, interval_id: str, pose_key: str, audio_key: str) -> "Interval":
        """:func:`read_interval` of one interval; one listed in ``missing_intervals.h5`` is not opened."""
        path = self.path(speaker, interval_id)
        if interval_id in self.missing:
            raise IntervalError(f"{path}: {LISTED_MISSING}", LISTED_MISSING)
        return read_interval(path, pose_key, audio_key)


# ------------------------------------------------------------------------------------------ one file
@dataclass
class Interval:
    """One validated interval, trimmed to ``n_frames`` common pose frames.

    ``audio`` keeps its own rate (``audio_rate`` Hz, the true rate) and may be a little longer than the
    pose; ``bad_frames`` marks pose frames that are non-finite or exploded; ``word_starts`` are the
    frames where a word of ``text/meta`` starts (zero-length words have none).
    """

    path: Path
    n_frames: int
    pose: np.ndarray  # (T, 96) float64, kept joints
    audio: np.ndarray  # (Ta, n_mels) float64
    audio_rate: float
    tokens: np.ndarray  # (T,) int64
    word_starts: np.ndarray  # (n,) int64 in [0, T)
    n_words: int
    n_zero_length_words: int
    bad_frames: np.ndarray  # (T,) bool
    ground_truth: dict[str, np.ndarray] = field(default_factory=dict)  # "gesture"/"phrase" -> (T,) int64
    lengths: dict[str, int] = field(default_factory=dict)  # modality -> length in pose frames, as read
    notes: list[str] = field(default_factory=list)  # what was done to the data (trim, bad frames)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _meta(path: Path, group: h5py.HLObject, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``text/meta`` decoded by :mod:`ccnce.data.fixed_frame` (no pickle is executed)."""
    try:
        return read_frame(group, columns)
    except RefusedPickle as e:
        raise IntervalError(f"{path}: text/meta: {e}", "refused pickle") from e
    except FrameError as e:
        raise IntervalError(f"{path}: key 'text/meta': {e}", "bad text/meta") from e


def read_meta(path: str | Path) -> pd.DataFrame:
    """``text/meta`` with columns Word, start_frame, end_frame (a pickled object other than words is refused)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if "text/meta" not in f:
                raise IntervalError(f"{path}: missing key 'text/meta'", "missing key")
            return _meta(path, f["text/meta"], META_COLUMNS)
    except IntervalError:
        raise
    except _READ_ERRORS as e:
        raise IntervalError(f"{path}: cannot read key 'text/meta' ({_one_line(e)})", "unreadable") from e


def read_interval(path: str | Path, pose_key: str, audio_key: str) -> Interval:
    """Read and validate one interval file for ``pose_key`` and ``audio_key``.

    Raises :class:`IntervalError` (category: ``absent``, ``unreadable``, ``missing key``, ``bad shape``,
    ``non-finite``, ``length mismatch``, ``bad text/meta``, ``refused pickle``) with a message naming the file and key.
    """
    path = Path(path)
    if not path.is_file():
        raise IntervalError(f"{path}: no such file", "absent")
    arrays: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            for key in (pose_key, audio_key, "text/tokens", "text/meta"):
                if key not in f:
                    raise IntervalError(f"{path}: missing key {key!r}", "missing key")
            for key in (pose_key, audio_key, "text/tokens", *GROUND_TRUTH_KEYS):
                if key in f:
                    if not isinstance(f[key], h5py.Dataset):
                        raise IntervalError(f"{path}: key {key!r} is not a dataset", "bad shape")
                    try:
                        arrays[key] = f[key][()]
                    except _READ_ERRORS as e:
                        raise IntervalError(f"{path}: cannot read key {key!r} ({_one_line(e)})",
                                            "unreadable") from e
            # The frame numbers only: the pickled Word block is not even decoded.
            meta = _meta(path, f["text/meta"], ("start_frame", "end_frame"))
    except IntervalError:
        raise
    except _READ_ERRORS as e:
        raise IntervalError(f"{path}: not a readable HDF5 file (corrupt, truncated or another format: "
                            f"{_one_line(e)})", "unreadable") from e
    frames = (pd.to_numeric(meta["start_frame"], errors="coerce").to_numpy(dtype=np.float64),
              pd.to_numeric(meta["end_frame"], errors="coerce").to_numpy(dtype=np.float64))
    return validate_interval(path, arrays, frames, pose_key, audio_key)


def _check_array(path: Path, key: str, a: np.ndarray, ndim: int, width: int | None, integer: bool) -> None:
    shape_ok = a.ndim == ndim and (width is None or a.shape[-1] == width)
    kind_ok = np.issubdtype(a.dtype, np.integer) if integer else np.issubdtype(a.dtype, np.number)
    if not shape_ok or not kind_ok:
        want = f"({'T' if ndim == 1 else f'T, {width}'})" + (" integer" if integer else " numeric")
        raise IntervalError(f"{path}: key {key!r} has shape {a.shape} dtype {a.dtype}; expected {want}",
                            "bad shape")


def validate_interval(path: Path, arrays: Mapping[str, np.ndarray], frames: tuple[np.ndarray, np.ndarray],
                      pose_key: str, audio_key: str) -> Interval:
    """Checks and trimming of :func:`read_interval`, on arrays (and ``text/meta`` start/end frames) in memory."""
    pose, audio, tokens = arrays[pose_key], arrays[audio_key], arrays["text/tokens"]
    _check_array(path, pose_key, pose, 2, POSE_WIDTH, integer=False)
    _check_array(path, audio_key, audio, 2, align.N_MELS[audio_key], integer=False)
    _check_array(path, "text/tokens", tokens, 1, None, integer=True)
    ground_truth = {}
    for key, name in GROUND_TRUTH_KEYS.items():
        if key in arrays:
            _check_array(path, key, arrays[key], 1, None, integer=True)
            ground_truth[name] = arrays[key].astype(np.int64)
    n_bad_audio = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
    if n_bad_audio:
        raise IntervalError(f"{path}: key {audio_key!r} has {n_bad_audio} non-finite values", "non-finite")

    # Lengths in pose frames; audio counts the pose frames whose start time it covers.
    rate = align.true_audio_rate(audio_key, len(audio), len(pose))
    lengths = {pose_key: len(pose), audio_key: align.audio_covered_frames(len(audio), rate),
               "text/tokens": len(tokens)}
    lengths.update({key: len(arrays[key]) for key in GROUND_TRUTH_KEYS if key in arrays})
    n = min(lengths.values())
    spread = max(lengths.values()) - n
    described = ", ".join(f"{k} {v}" for k, v in lengths.items())
    if spread > LENGTH_TOLERANCE_FRAMES:
        raise IntervalError(f"{path}: modality lengths differ by {spread} frames "
                            f"(> {LENGTH_TOLERANCE_FRAMES}): {described}", "length mismatch")
    notes = []
    if spread:
        notes.append(f"trimmed to {n} frames ({described})")
        log.info("%s: trimmed to the common %d frames (%s)", path, n, described)

    word_starts, n_words, n_zero = _word_starts(path, *frames, n)
    pose96 = to_kept(np.asarray(pose[:n], dtype=np.float64))
    bad = exploded_frames(pose96)
    if bad.any():
        notes.append(f"{int(bad.sum())} of {n} pose frames non-finite or exploded (windows over them dropped)")
    return Interval(path=path, n_frames=n, pose=pose96, audio=np.asarray(audio, dtype=np.float64),
                    audio_rate=rate, tokens=tokens[:n].astype(np.int64), word_starts=word_starts,
                    n_words=n_words, n_zero_length_words=n_zero, bad_frames=bad,
                    ground_truth={k: v[:n] for k, v in ground_truth.items()}, lengths=lengths, notes=notes)


def _word_starts(path: Path, start: np.ndarray, end: np.ndarray, n_frames: int) -> tuple[np.ndarray, int, int]:
    """Frames where words start (inside [0, n_frames)), the word count, and the zero-length word count."""
    if not (np.isfinite(start).all() and np.isfinite(end).all()):
        raise IntervalError(f"{path}: key 'text/meta' has non-numeric or non-finite frames", "bad text/meta")
    if (end < start).any() or (start < 0).any() or (np.diff(start) < 0).any():
        raise IntervalError(f"{path}: key 'text/meta' words are not ordered (start <= end, increasing)",
                            "bad text/meta")
    start_i, end_i = np.rint(start).astype(np.int64), np.rint(end).astype(np.int64)
    zero = start_i == end_i
    starts = np.unique(start_i[~zero & (start_i < n_frames)])
    return starts, len(start), int(zero.sum())


def exploded_frames(pose96: np.ndarray) -> np.ndarray:
    """(T,) bool: frames with a non-finite value or a value beyond :data:`EXPLODE_FACTOR` x the median |value|.

    The median of all values of the interval is unmoved by explosions as long as they hit fewer than half
    of the frames (in PATS they are rare frames where the shoulder detection collapses).
    """
    finite = np.isfinite(pose96)
    bad = ~finite.all(axis=-1)
    magnitude = np.abs(np.where(finite, pose96, 0.0))
    if finite.any():
        scale = float(np.median(magnitude[finite]))
        if scale > 0:
            bad |= magnitude.max(axis=-1) > EXPLODE_FACTOR * scale
    return bad


# ------------------------------------------------------------------------------------------ writers
def write_index(root: str | Path, rows: pd.DataFrame | Iterable[Mapping[str, object]],
                missing: Sequence[str] = ()) -> None:
    """Write ``cmu_intervals_df.csv`` (the 8 columns) and ``missing_intervals.h5`` under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=list(CSV_COLUMNS))
    df[list(CSV_COLUMNS)].to_csv(root / CSV_NAME, index=False)
    with h5py.File(root / MISSING_NAME, "w") as f:
        f.create_dataset("intervals", data=list(missing), dtype=h5py.string_dtype())


def write_interval(path: str | Path, datasets: Mapping[str, np.ndarray], meta: pd.DataFrame) -> None:
    """Write one interval file: plain (unchunked) datasets, then ``text/meta`` via pandas fixed format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f.create_dataset(key, data=value)
    with warnings.catch_warnings():
        # PyTables warns that an object column is pickled: that is how PATS stores Word.
        warnings.simplefilter("ignore")
        meta[list(META_COLUMNS)].to_hdf(path, key="text/meta", format="fixed", mode="a")
