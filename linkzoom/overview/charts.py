"""Bar charts for the Overview as plain geometry, which a template draws as inline SVG.

No chart library and no script: the page is server-rendered, works without JavaScript, and
fits a phone because the SVG scales with its ``viewBox``. Every chart is also given as a table
(the template puts it beside the picture), so the figures reach screen readers and text
browsers as numbers, not as shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 320, 140  # viewBox units; the SVG is drawn at 100 % of its column
_LEFT, _RIGHT, _TOP, _BOTTOM = 30, 6, 10, 22  # room for the axis labels
_GAP = 0.25  # of a bar's slot left empty between bars


@dataclass(frozen=True, kw_only=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    day: date


@dataclass(frozen=True, kw_only=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, kw_only=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]  # day labels under the bars: first, middle and last
    top: int  # the value the top gridline stands for
    total: int
    plot_left: float = _LEFT
    plot_right: float = WIDTH - _RIGHT
    plot_top: float = _TOP
    plot_bottom: float = HEIGHT - _BOTTOM
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(points: Sequence[tuple[date, int]]) -> BarChart:
    """One bar per day, scaled to a round top value (1, 2, 5, 10, 20, 50, …)."""
    top = _round_top(max((value for _, value in points), default=0))
    plot_width = WIDTH - _LEFT - _RIGHT
    plot_height = HEIGHT - _TOP - _BOTTOM
    slot = plot_width / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        height = plot_height * value / top
        bars.append(
            Bar(
                x=round(_LEFT + index * slot + slot * _GAP / 2, 2),
                y=round(_TOP + plot_height - height, 2),
                width=round(slot * (1 - _GAP), 2),
                height=round(height, 2),
                value=value,
                day=day,
            )
        )
    shown = sorted({0, len(points) // 2, len(points) - 1}) if points else []
    ticks = [
        Tick(x=round(bars[i].x + bars[i].width / 2, 2), label=_short(points[i][0])) for i in shown
    ]
    return BarChart(bars=bars, ticks=ticks, top=top, total=sum(v for _, v in points))


def _round_top(largest: int) -> int:
    top = 1
    while top < largest:
        top = _next_round(top)
    return top


def _next_round(value: int) -> int:
    """1 → 2 → 5 → 10 → 20 → 50 → 100 …"""
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    lead = value // magnitude
    return (2 if lead < 2 else 5 if lead < 5 else 10) * magnitude


def _short(day: date) -> str:
    return f"{day.strftime('%b')} {day.day}"
