"""Fixtures of tiny named routing instances."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.model import BreakRule, Problem
from tests.unit.routing.instances import H, M, carer, make_problem, visit


@pytest.fixture
def morning() -> Problem:
    """Two carers, five visits on a small grid, one needing the « transferts » skill."""
    coords = [(0, 0), (2, 0), (4, 0), (0, 3), (0, 6), (5, 5)]
    carers = [carer("anne"), carer("beatrice", skills=frozenset({"transferts"}))]
    visits = [
        visit("v1", 1, 8 * H, 9 * H),
        visit("v2", 2, 9 * H, 10 * H),
        visit("v3", 3, 8 * H, 9 * H),
        visit("v4", 4, 9 * H, 11 * H),
        visit("v5", 5, 8 * H + 30 * M, 11 * H, skills=frozenset({"transferts"})),
    ]
    return make_problem(carers, visits, coords)


@pytest.fixture
def full_day() -> Problem:
    """One carer working 8:00-18:00 with BAD breaks and eight visits."""
    coords = [(0, 0), *[(i, (i * 3) % 5) for i in range(1, 9)]]
    c = carer("claire", 8 * H, 18 * H, breaks=BreakRule())
    visits = [
        visit(f"d{i}", i, (8 + i) * H, (8 + i) * H + 45 * M, dur=45 * M) for i in range(1, 9)
    ]
    return make_problem([c], visits, coords)


@pytest.fixture(scope="session")
def road_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a cache directory shared by the network tests of a session."""
    return tmp_path_factory.mktemp("roads")
