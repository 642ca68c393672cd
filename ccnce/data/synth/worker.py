"""The per-speaker work unit of ``ccnce synth``, run in a fresh process forked from a forkserver.

The forkserver preloads this module (numpy, h5py, pandas, librosa and the generator) once, so a worker
starts in milliseconds; eSpeak itself is only loaded inside the worker, so each speaker's utterances start
from eSpeak's initial state (what makes the waveforms reproducible, see :mod:`.speech`).
"""

from __future__ import annotations

import traceback
from pathlib import Path

import librosa.core.audio  # noqa: F401 - imported here so that the forkserver pays for it once
import librosa.feature.spectral  # noqa: F401

from ccnce.data.pats import interval_path, write_interval
from ccnce.data.synth.interval import make_interval
from ccnce.data.synth.speakers import speaker_style
from ccnce.data.synth.speech import Synthesizer
from ccnce.errors import CcnceError


def run_speaker(root: str, plan, vocab: dict[str, list[int]], messages) -> None:
    """Generate and write one speaker's intervals (a :class:`~ccnce.data.synth.SpeakerPlan`).

    Reports ``("progress", speaker, 1)`` per interval, then ``("done", speaker, [(index, seconds,
    frames), ...])``, or ``("error" | "bug", speaker, message)``.
    """
    try:
        style = speaker_style(plan.speaker)
        synth = Synthesizer()
        results = []
        for ip in plan.intervals:
            interval = make_interval(ip, style, synth, vocab)
            write_interval(interval_path(Path(root), plan.speaker, ip.interval_id), interval.arrays, interval.meta)
            results.append((ip.index, interval.seconds, interval.n_frames))
            messages.put(("progress", plan.speaker, 1))
        messages.put(("done", plan.speaker, results))
    except CcnceError as e:
        messages.put(("error", plan.speaker, f"{type(e).__name__}: {e}"))
    except BaseException:  # the parent re-raises it as a bug, with this traceback
        messages.put(("bug", plan.speaker, traceback.format_exc()))
