"""Tables for the terminal and for bench/results.md (GitHub-flavoured Markdown either way)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Section:
    """One measurement: a title, what it shows, a table, and notes that keep the numbers honest."""

    title: str
    summary: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headlines: list[tuple[str, str, str]] = field(default_factory=list)
    """(measure, result, goal) rows for the summary at the top of the results."""
    seconds: float = 0.0
    """Wall time the measurement took."""

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.summary, "", table(self.header, self.rows)]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        lines += ["", f"_Measured in {self.seconds:.0f} s._", ""]
        return "\n".join(lines)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    widths = [max(3, w) for w in widths]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.1f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}"
