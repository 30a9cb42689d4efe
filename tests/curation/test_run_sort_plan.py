"""A page of a run's order on PostgreSQL walks the run's (run, value, sample) index from the cursor: no sort of the
run's rows, no scan of the members, a few hundred rows read for a deep page, with and without a label filter."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from curation.review.models import ProposalRun, ProposalSource
from curation.sample_sorts import sample_order_parse
from curation.selectors import sample_page
from tests.factories import DatasetVersionFactory
from tests.frontend.test_sample_grid import INSERT_MEMBERS, INSERT_SAMPLES

pytestmark = pytest.mark.django_db

# Every member gets an issue score from 1000 values (ties of about 100 members each), in a proposal run.
INSERT_ISSUES = """
    INSERT INTO review_proposalissue (run_id, sample_id, issue_score)
    SELECT %(run)s, sample_id, (sample_id * 7919 %% 1000) / 1000.0
    FROM curation_versionsample WHERE version_id = %(version)s
"""


def page_plans(**pages) -> dict[str, str]:
    """EXPLAIN ANALYZE of the SQL each `sample_page(...)` call ran (keyed by name)."""
    plans = {}
    for name, call in pages.items():
        with CaptureQueriesContext(connection) as queries:
            call()
        page_sql = next(q["sql"] for q in queries if "review_proposalissue" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN ANALYZE {page_sql}")
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


@pytest.mark.slow
def test_issue_score_pages_walk_the_runs_index_on_100k_members():
    # given 100k members of a version and a proposal run that scored all of them, with fresh statistics
    version = DatasetVersionFactory(number=1, sample_count=100_000)
    run = ProposalRun.objects.create(version=version, source=ProposalSource.CONFIDENT_LEARNING, issue_count=100_000)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SAMPLES, {"dataset": version.dataset_id, "count": 100_000})
        cursor.execute(INSERT_MEMBERS, {"version": version.pk, "dataset": version.dataset_id, "step": 1})
        cursor.execute(INSERT_ISSUES, {"run": run.pk, "version": version.pk})
        cursor.execute("ANALYZE curation_versionsample")
        cursor.execute("ANALYZE review_proposalissue")
    _order, run_sort = sample_order_parse("-issue_score", str(run.pk), version=version)
    first = sample_page(version=version, run_sort=run_sort, size=60)
    deep = {"after_sample_id": first.next_after, "after_value": 0.5}

    # when the first page, a deep page (from the middle of the scores) and a label-filtered deep page are explained
    plans = page_plans(
        first=lambda: sample_page(version=version, run_sort=run_sort, size=60),
        deep=lambda: sample_page(version=version, run_sort=run_sort, size=60, **deep),
        label=lambda: sample_page(version=version, run_sort=run_sort, size=60, label="bird", **deep),
    )

    # then none scans a table or sorts more than the page, and none reads more than a few hundred rows
    for name, text in plans.items():
        print(f"--- {name}\n{text}")
    assert {name: "Seq Scan" in text for name, text in plans.items()} == dict.fromkeys(plans, False)
    rows_read = {name: max(map(int, re.findall(r"actual time=\S+ rows=(\d+)", text))) for name, text in plans.items()}
    assert max(rows_read.values()) <= 1_000, rows_read
    # and the first page is the highest scores, ties by id highest first
    scores = [m.sort_value for m in first.members]
    assert scores == sorted(scores, reverse=True) and scores[0] == 0.999
