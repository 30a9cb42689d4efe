import pytest

from tests.jobs import job_kinds_for_tests  # noqa: F401  (registers the test job kinds here too)
from tests.worker import broker_client, broker_flush, celery_worker  # noqa: F401


@pytest.fixture
def worker_job_modules() -> str:
    return "tests.jobs.job_kinds_for_tests"


@pytest.fixture
def broker(db):
    """The test's real Redis broker, emptied before and after the test."""
    broker_flush()
    yield broker_client()
    broker_flush()
