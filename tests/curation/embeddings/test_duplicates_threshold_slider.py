"""The duplicates page's similarity slider re-forms groups from the run's stored pairs, without a job."""

import re

import numpy as np
import pytest
from django.test import Client

from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.embeddings.selectors.duplicates import duplicate_group_page
from jobs.models import Job
from tests.curation.pruning.factories import embedding_set_create, member_ids, version_with_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_with_pairs():
    """Near group 1: a-b 0.99, b-c 0.93, c-d 0.985 (a chain); near group 2: e-f 0.95; threshold 0.9."""
    version = version_with_samples(6, labels=["cat"])
    a, b, c, d, e, f = (int(i) for i in member_ids(version))
    embedding_set = embedding_set_create(version=version, vectors=np.eye(6, 8, dtype=np.float32))
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.9, threshold_source="given", near_group_count=2
    )
    DuplicateGroup.objects.create(
        run=run, number=1, kind="near", size=4, sample_ids=[a, b, c, d], max_similarity=0.99,
        pairs=[[a, b, 0.99, 0.8], [b, c, 0.93, 0.7], [c, d, 0.985, 0.9]],
    )  # fmt: skip
    DuplicateGroup.objects.create(
        run=run, number=2, kind="near", size=2, sample_ids=[e, f], max_similarity=0.95, pairs=[[e, f, 0.95, 0.6]]
    )
    return run, (a, b, c, d, e, f)


def headings(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h3>\s*(Group [^<]*?) ·", html)]


def test_a_higher_similarity_splits_the_chain_and_drops_the_weaker_group(run_with_pairs):
    run, (a, b, c, d, _e, _f) = run_with_pairs

    page = duplicate_group_page(run=run, min_similarity=0.96)

    assert [(v.group.number, v.part, [m.sample_id for m in v.members], v.size) for v in page.groups] == [
        (1, 1, [a, b], 2),
        (1, 2, [c, d], 2),
    ]
    assert [v.pairs for v in page.groups] == [[(a, b, 0.99, 0.8)], [(c, d, 0.985, 0.9)]]
    assert Job.objects.count() == 0


def test_a_similarity_below_every_pair_keeps_the_groups_as_stored(run_with_pairs):
    run, _ids = run_with_pairs

    page = duplicate_group_page(run=run, min_similarity=0.92)

    assert [(v.group.number, v.part, v.size) for v in page.groups] == [(1, None, 4), (2, None, 2)]


def test_the_slider_request_returns_the_regrouped_partial(viewer, run_with_pairs):
    run, _ids = run_with_pairs
    client = Client()
    client.force_login(viewer)

    full = client.get(f"/embeddings/duplicates/{run.pk}/").content.decode()
    partial = client.get(
        f"/embeddings/duplicates/{run.pk}/", {"min_similarity": "0.94"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    below_floor = client.get(f"/embeddings/duplicates/{run.pk}/", {"min_similarity": "0.5"}).content.decode()

    # the slider runs from the run's threshold (no pair below it was stored) to 1
    assert re.search(r'type="range"\s+id="min-similarity"\s+name="min_similarity"\s+min="0.9000"\s+max="1"', full)
    assert headings(full) == ["Group 1", "Group 2"]
    # at 0.94 the b-c link (0.93) breaks: a-b and c-d are two parts; e-f (0.95) stays whole
    assert headings(partial) == ["Group 1, part 1", "Group 1, part 2", "Group 2"]
    assert "<html" not in partial
    assert headings(below_floor) == ["Group 1", "Group 2"]
