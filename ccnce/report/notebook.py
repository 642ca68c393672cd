"""Notebook glue: show a figure, table or sentence, and turn :class:`~ccnce.report.runs.MissingResults`
into a sentence instead of a traceback."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.runs import MISSING, MissingResults
from ccnce.report.tables import to_html


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show(obj: Any, csv: str | None = None, csv_table: pd.DataFrame | None = None) -> None:
    """Display in a notebook: a Figure as PNG (closing it if pyplot made it), a table of this module as
    HTML with its caption and bold best, another DataFrame as HTML (CSS classes from
    ``attrs["html_classes"]``), a string as Markdown. ``csv``: also write the table (or ``csv_table``,
    e.g. its numeric form) as ``<csv>.csv`` and show a download link (:func:`~ccnce.report.trust.csv_download`)."""
    import sys

    from IPython.display import HTML, Image, Markdown, display

    if csv is not None:
        from ccnce.report.trust import csv_download

        show(obj)
        display(HTML(csv_download(csv_table if csv_table is not None else obj, csv)))
        return

    if isinstance(obj, Figure):
        display(Image(data=figure_png(obj)))
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(obj)
    elif isinstance(obj, pd.DataFrame):
        classes = f"ccnce-table {obj.attrs.get('html_classes', '')}".strip()
        display(HTML(to_html(obj) if "best" in obj.attrs else obj.to_html(border=0, classes=classes, na_rep=MISSING)))
    else:
        display(Markdown(str(obj)))


def show_figure(make: Callable[..., Figure | pd.DataFrame], *args: Any, **kwargs: Any) -> None:
    """``show(make(*args, **kwargs))`` (a figure or a table), or a sentence saying what is missing
    (:class:`MissingResults`)."""
    try:
        shown = make(*args, **kwargs)
    except MissingResults as e:
        what = "Table" if getattr(make, "__name__", "").endswith("_table") else "Figure"
        show(f"*{what} not available: {e}. It appears once the runs exist (see the coverage statement).*")
        return
    show(shown)
