"""The report's section list and the ``Section`` record: shared by ``report`` (which builds the page and imports
torch), ``report_cli`` (whose ``--help`` must not import torch) and the section builders (``report_labels``), so
that none of them imports another for these names and the report modules form no import cycle."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SECTIONS", "Section"]

# The report's sections in page order.
SECTIONS = ("samples", "training", "metrics", "walk", "sefa", "arithmetic", "rotation", "labels", "filters", "forget",
            "forget-boxes",
            "dtn")


@dataclass
class Section:
    key: str
    title: str
    caption: str                                   # HTML: what the reader sees and which paper figure
    figures: list = field(default_factory=list)    # [(heading, go.Figure)]
    numbers: str = ""                              # HTML: the measured numbers behind the figure
    error: str | None = None
    seconds: float = 0.0
    data: dict = field(default_factory=dict)       # the measured numbers as JSON (result["numbers"][key])
