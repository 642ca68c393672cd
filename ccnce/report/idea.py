"""The idea of CC-NCE, drawn: the schematic on the introduction page."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ccnce.report.figures import BODY_COLOR, LEFT_COLOR, RIGHT_COLOR


def idea_figure() -> Figure:
    """A schematic of CC-NCE for the introduction: phrases with unrelated meanings that share a gesture
    are pulled together in embedding space; which phrases share a gesture comes from clustering the
    ground-truth gestures online, not from labels."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    fig = Figure(figsize=(9.6, 3.6))
    ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
    ax.set_xlim(0, 10.4), ax.set_ylim(0, 4.2), ax.set_axis_off()
    groups = ((RIGHT_COLOR, 3.0, ("“someone gave me a gift”", "“my heart is beating so fast”"), "pointing at oneself"),
              (LEFT_COLOR, 1.25, ("“the entire bottom row”", "“molecules expand and decay”"), "spreading both hands"))
    headers = ((1.65, "speech + transcript"), (4.75, "ground-truth gestures y"), (8.55, "language embeddings z"))
    for x, text in headers:
        ax.text(x, 4.0, text, ha="center", fontsize=9, weight="bold")
    for color, y, phrases, gesture in groups:
        for dy, phrase in zip((0.33, -0.33), phrases):
            ax.add_patch(FancyBboxPatch((0.2, y + dy - 0.2), 2.9, 0.4, boxstyle="round,pad=0.03",
                                        facecolor="white", edgecolor=color, linewidth=1.1))
            ax.text(1.65, y + dy, phrase, ha="center", va="center", fontsize=8)
            ax.add_patch(FancyArrowPatch((3.15, y + dy), (4.05, y), arrowstyle="-|>", mutation_scale=8,
                                         color=color, linewidth=0.8))
        _glyph(ax, 4.75, y + 0.2, 0.75, spread=color == LEFT_COLOR)
        ax.text(4.75, y - 0.6, gesture, ha="center", fontsize=7.5, color=color)
    ax.text(4.75, 2.12, "clustered online (Alg. 1–2):\nsimilar iff Sim(y, y′) ≥ μ̂ + σ̂", ha="center",
            va="center", fontsize=7, color="#444444")
    ax.add_patch(FancyArrowPatch((5.7, 2.12), (6.45, 2.12), arrowstyle="-|>", mutation_scale=10, color="#444444"))
    rng = np.random.default_rng(3)
    for x0, label, tight in ((7.55, "without: meaning decides", False), (9.55, "CC-NCE: gesture decides", True)):
        ax.add_patch(Rectangle((x0 - 0.8, 0.55), 1.6, 3.1, facecolor="#f7f7f7", edgecolor="#dddddd"))
        ax.text(x0, 0.3, label, ha="center", fontsize=7.5)
        for color, cy in ((RIGHT_COLOR, 2.75), (LEFT_COLOR, 1.45)):
            pts = (rng.normal(0, 0.1, size=(5, 2)) + (x0, cy) if tight
                   else rng.uniform((x0 - 0.65, 0.75), (x0 + 0.65, 3.45), size=(5, 2)))
            ax.scatter(pts[:, 0], pts[:, 1], s=20, color=color, alpha=0.9, zorder=3)
    ax.text(9.55, 3.5, "pull: same cluster\npush: other clusters", ha="center", va="top", fontsize=6.5,
            color="#444444")
    return fig


def _glyph(ax, x: float, y: float, size: float, spread: bool) -> None:
    """A stick figure facing the viewer (its right arm on our left): pointing at itself or spreading."""
    from matplotlib.patches import Circle

    s = size
    right = [(-0.22, 0), (-0.5, -0.05), (-0.72, 0.02)] if spread else [(-0.22, 0), (-0.3, -0.32), (-0.04, -0.15)]
    left = [(0.22, 0), (0.5, -0.05), (0.72, 0.02)] if spread else [(0.22, 0), (0.26, -0.32), (0.25, -0.58)]
    for pts, color in ((right, RIGHT_COLOR), (left, LEFT_COLOR)):
        xy = np.array([(0, 0), *pts]) * s + (x, y)
        ax.plot(xy[:, 0], xy[:, 1], color=color, linewidth=1.6, solid_capstyle="round")
    ax.plot([x, x], [y, y - 0.6 * s], color=BODY_COLOR, linewidth=1.6)
    ax.add_patch(Circle((x, y + 0.16 * s), 0.1 * s, facecolor="white", edgecolor=BODY_COLOR, linewidth=1.2))
