"""How the metrics respond to motion that is right in shape and timing but too small.

    python scripts/shrinkage_check.py [SPEAKER ...]

Scores the true test windows scaled towards the mean pose (× 1.0, 0.8, 0.6, 0.4) with the metric code of
the runs (ccnce.evaluate.motion_metrics). A generator that regresses to the mean moves less than the
speaker (expressiveness < 1); this tells how much of its FID, FGD and gesture accuracy that alone explains.
"""

import sys

import numpy as np

from ccnce.config import Config
from ccnce.data.dataset import load_full_intervals, load_speaker
from ccnce.data.source import resolve_data
from ccnce.evaluate import motion_metrics

source = resolve_data(None, progress=False)
for speaker in sys.argv[1:] or ["lec_cosmic", "maher"]:
    cfg = Config.from_profile("cpu", speaker=speaker, variant="none")
    data = load_speaker(cfg, source.root, progress=False)
    test = load_full_intervals(cfg, source.root, "test", progress=False, data=data)
    true = test.batch(np.arange(len(test)))["pose"].numpy()
    for scale in (1.0, 0.8, 0.6, 0.4):
        m = motion_metrics(scale * true, true, data, test)
        print(speaker, f"× {scale}:", ", ".join(f"{k} {m[k]:.3f}" for k in ("l1", "fid", "gesture_acc", "fgd")))
