"""The synthetic root in PATS layout: the rows of ``cmu_intervals_df.csv`` (videos, offsets, splits).

Files are written by the shared PATS writers (:func:`ccnce.data.pats.write_interval`: plain unchunked
h5py datasets, then ``text/meta`` by pandas ``to_hdf`` in fixed format; :func:`ccnce.data.pats.write_index`:
the 8-column table and ``missing_intervals.h5``), so what the generator writes is what the reader reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccnce.data.pats import write_index

_DUMMY_DATE = "2019-09-26"


def _timestamp(seconds: float) -> str:
    """PATS's offset-into-the-video format: ``2019-09-26 00:00:30.866666555`` (nanoseconds)."""
    ns = int(round(seconds * 1e9))
    s, frac = divmod(ns, 10 ** 9)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{_DUMMY_DATE} {h:02d}:{m:02d}:{sec:02d}.{frac:09d}"


@dataclass(frozen=True)
class IntervalRow:
    speaker: str
    interval_id: str
    split: str
    video: int
    start: float  # seconds into the video
    duration: float

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.split,
            "delta_time": self.duration,
            "end_time": _timestamp(self.start + self.duration),
            "interval_id": self.interval_id,
            "speaker": self.speaker,
            "start_time": _timestamp(self.start),
            "video_fn": f"{self.speaker}_synthetic_{self.video:03d}.mp4",
            "video_link": f"synthetic://{self.speaker}/{self.video:03d}",
        }


def write_table(root: Path, rows: list[IntervalRow]) -> None:
    """``cmu_intervals_df.csv`` (one row per interval) and an empty ``missing_intervals.h5``."""
    write_index(root, [r.as_dict() for r in rows], missing=[])

