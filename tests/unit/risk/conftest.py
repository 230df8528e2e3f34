"""Shared small synthetic cohorts and a small trained model for the risk tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

from risk.cohort import Cohort, generate_cohort
from risk.models import RiskModel, train_risk_model


@pytest.fixture(scope="session")
def small_cohort() -> Cohort:
    """Return 300 synthetic persons over 400 days."""
    return generate_cohort(300, n_days=400, seed=11)


@pytest.fixture(scope="session")
def other_cohort() -> Cohort:
    """Return 300 other synthetic persons (another seed) over 400 days."""
    return generate_cohort(300, n_days=400, seed=12)


@pytest.fixture(scope="session")
def small_model(small_cohort: Cohort) -> RiskModel:
    """Return a model trained on the small cohort."""
    return train_risk_model(
        small_cohort.persons, small_cohort.observations, small_cohort.outcomes, synthetic=True
    )


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """Run the risk tests on one OpenMP/BLAS thread.

    On shared 2-core machines thread contention made gradient boosting several times slower.
    """
    with threadpool_limits(limits=1):
        yield
