"""The migration that adds per-sample issue scores fills them in for the proposal runs made before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from curation.review.models import ProposalIssue, ProposalRun
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory

BEFORE = ("review", "0002_assignment_item_holding")
AFTER = ("review", "0003_proposal_issues")


@pytest.fixture
def executor():
    """A migration executor; the schema is migrated back to the latest state afterwards, whatever happens."""
    found = MigrationExecutor(connection)
    yield found
    found.loader.build_graph()
    found.migrate(found.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_runs_get_each_samples_highest_issue_score(executor):
    # given the review app before the migration, and a run with proposals: two for one sample, none scored for another
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    version = DatasetVersionFactory()
    a, b, c = (VersionSampleFactory(version=version, sample=SampleFactory(dataset=version.dataset)) for _ in range(3))
    run = old.get_model("review", "ProposalRun").objects.create(
        version_id=version.pk, source="confident_learning", proposal_count=4
    )
    proposals = old.get_model("review", "LabelProposal")
    for member, label, issue in ((a, "dog", 0.4), (a, "bird", 0.7), (b, "cat", 0.2), (c, "cat", None)):
        proposals.objects.create(
            run=run, version_id=version.pk, sample_id=member.sample_id, label=label, source="confident_learning",
            score=0.5, issue_score=issue,
        )  # fmt: skip

    # when the migration runs
    executor.loader.build_graph()
    executor.migrate([AFTER])

    # then the run has one issue row per scored sample, with the highest score, and their count
    rows = ProposalIssue.objects.filter(run_id=run.pk).order_by("sample_id")
    assert [(row.sample_id, row.issue_score) for row in rows] == [(a.sample_id, 0.7), (b.sample_id, 0.2)]
    assert ProposalRun.objects.get(pk=run.pk).issue_count == 2
