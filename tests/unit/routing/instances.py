"""Build tiny named routing instances for the routing tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from routing.model import Carer, Problem, TimeWindow, Visit

H = 3600
M = 60
ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parent / "data"


def grid_matrix(coords: list[tuple[int, int]], seconds_per_unit: int = 60) -> np.ndarray:
    """Return Manhattan travel times between grid points (a metric, like real roads)."""
    xy = np.asarray(coords, dtype=np.int64)
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    return (d * seconds_per_unit).astype(np.int64)


def make_problem(
    carers: list[Carer], visits: list[Visit], coords: list[tuple[int, int]], **kw: object
) -> Problem:
    """Build a problem on a grid with drive, bike and walk matrices (metres = 100 × units)."""
    t = grid_matrix(coords)
    return Problem(
        carers=tuple(carers),
        visits=tuple(visits),
        travel={"drive": t, "bike": t * 2, "walk": t * 5},
        distance={"drive": t * 10, "bike": t * 10, "walk": t * 10},
        **kw,  # type: ignore[arg-type]
    )


def carer(cid: str, start: int = 8 * H, end: int = 12 * H, **kw: object) -> Carer:
    """Return a carer living at place 0."""
    return Carer(
        id=cid, shift=TimeWindow(start, end), start_place=0, end_place=0, **kw  # type: ignore[arg-type]
    )


def visit(vid: str, place: int, lo: int, hi: int, dur: int = 30 * M, **kw: object) -> Visit:
    """Return a visit."""
    return Visit(id=vid, place=place, window=TimeWindow(lo, hi), duration_s=dur, **kw)  # type: ignore[arg-type]


