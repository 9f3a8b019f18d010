"""The Overview's bar-chart geometry: round tops, bars inside the plot, labelled days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linkzoom.overview import charts

DAYS = [date(2026, 11, 23) + timedelta(days=n) for n in range(14)]


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (5, 5), (6, 10), (11, 20), (99, 100), (101, 200)],
)
def test_the_top_is_the_next_round_value(largest: int, top: int) -> None:
    assert charts.bar_chart([(DAYS[0], largest)]).top == top


def test_bars_fill_the_plot_in_day_order_and_scale_to_the_top() -> None:
    chart = charts.bar_chart([(day, n) for n, day in enumerate(DAYS)])
    assert chart.top == 20 and chart.total == sum(range(14))
    assert [bar.day for bar in chart.bars] == DAYS
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and xs[0] >= chart.plot_left
    last = chart.bars[-1]
    assert last.x + last.width <= chart.plot_right
    for bar in chart.bars:  # every bar stands on the axis, none pokes above the plot
        assert bar.y + bar.height == pytest.approx(chart.plot_bottom, abs=0.02)
        assert bar.y >= chart.plot_top
    full = chart.plot_bottom - chart.plot_top
    assert last.height == pytest.approx(full * 13 / 20, abs=0.02)
    assert chart.bars[0].height == 0
    assert [tick.label for tick in chart.ticks] == ["Nov 23", "Nov 30", "Dec 6"]


def test_a_quiet_fortnight_is_a_flat_chart_not_a_division_by_zero() -> None:
    chart = charts.bar_chart([(day, 0) for day in DAYS])
    assert chart.top == 1 and chart.total == 0
    assert {bar.height for bar in chart.bars} == {0}
