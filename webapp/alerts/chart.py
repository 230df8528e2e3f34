"""A risk trend as plain SVG geometry: no script, no inline style (the CSP forbids both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 36


@dataclass(frozen=True)
class Point:
    """One plotted score."""

    x: float
    y: float
    value: float
    at: datetime


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw the trend."""

    width: int
    height: int
    fall: list[Point]
    decline: list[Point]
    grid: list[tuple[float, str]]  # (y, label)
    first: datetime | None
    last: datetime | None
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM

    @staticmethod
    def polyline(points: Sequence[Point]) -> str:
        """Return the ``points`` attribute of an SVG polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)


def trend_chart(scores: Sequence[tuple[datetime, float, float]], *, top: float | None = None
                ) -> Chart:
    """Lay out (time, fall risk, decline risk) triples on a chart scaled to the data.

    The vertical axis runs from 0 to ``top`` (the next 10 % above the largest risk, at least
    30 %) so that small changes stay visible without exaggerating them.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max([max(f, d) for _, f, d in scores], default=0.0)
    top = top or min(1.0, max(0.3, (int(peak * 10) + 1) / 10))
    times = [t for t, _, _ in scores]
    first, last = (min(times), max(times)) if times else (None, None)
    span = (last - first).total_seconds() if first and last else 0.0

    def x_of(when: datetime) -> float:
        if not span or first is None:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (when - first).total_seconds() / span

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - min(value, top) / top)

    fall = [Point(x_of(t), y_of(f), f, t) for t, f, _ in scores]
    decline = [Point(x_of(t), y_of(d), d, t) for t, _, d in scores]
    steps = 5
    grid = [(y_of(top * i / steps), f"{round(100 * top * i / steps)} %") for i in range(steps + 1)]
    return Chart(WIDTH, HEIGHT, fall, decline, grid, first, last)
