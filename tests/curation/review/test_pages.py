"""Review pages through the Django test client: lists, the new-queue form, the queue page, the review page."""

import numpy as np
import pytest
from django.test import Client
from django.urls import resolve
from django.utils.html import escape
from rest_framework.test import APIClient

from core.roles import Role
from curation.embeddings.apis.views import EmbeddingSetCreateApi
from curation.models import DatasetVersion, VersionSample
from curation.review.models import ProposalRun, ReviewQueue, ReviewVote
from curation.review.services.votes import review_item_submit, review_vote_cast
from jobs.models import Job
from tests.curation.pruning.factories import embedding_set_create
from tests.curation.review.conftest import CLASSES, embedding_set_with_index, proposals_add
from tests.factories import DatasetVersionFactory, UserFactory, VersionSampleFactory


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def picture_version(db):
    """A version of 3 samples with real image files, each with one proposal."""
    version = DatasetVersionFactory(dataset__classes=CLASSES)
    members = [VersionSampleFactory(version=version, label=label) for label in ("cat", "dog", "bird")]
    proposals_add(version, [(m.sample_id, "dog" if m.label != "dog" else "cat", 0.7, 0.6) for m in members])
    return version


def test_a_curator_creates_a_queue_with_the_form(picture_version, reviewers):
    client = signed_in(UserFactory(role=Role.CURATOR))

    form = client.get(f"/review/new/?version={picture_version.pk}")
    response = client.post(
        "/review/new/",
        {
            "version": picture_version.pk, "name": "cats first", "kind": "relabel", "sources": ["confident_learning"],
            "min_issue_score": "0.5", "reviewers_per_item": "2", "aggregation": "majority",
            "reviewers": [reviewers[0].pk, reviewers[1].pk],
        },
    )  # fmt: skip

    assert form.status_code == 200
    assert b'id="proposal-runs"' in form.content
    queue = ReviewQueue.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/review/queues/{queue.pk}/"
    assert (queue.name, queue.item_count, queue.reviewers_per_item, queue.quorum, queue.aggregation) == (
        "cats first", 3, 2, 2, "majority",
    )  # fmt: skip
    assert queue.filter == {"sources": ["confident_learning"], "min_issue_score": 0.5, "limit": 500}


def test_the_form_shows_why_a_queue_was_refused_and_writes_nothing(picture_version):
    client = signed_in(UserFactory(role=Role.CURATOR))

    response = client.post("/review/new/", {"version": picture_version.pk, "name": "none", "min_issue_score": "0.99"})

    assert response.status_code == 400
    assert b"The filter selects no sample of this version" in response.content
    assert ReviewQueue.objects.count() == 0


def test_starting_proposals_from_the_page_queues_a_job(picture_version):
    client = signed_in(UserFactory(role=Role.CURATOR))

    bad = client.post("/review/proposals/", {"version": picture_version.pk, "source": "confident_learning"})
    good = client.post(
        "/review/proposals/", {"version": picture_version.pk, "source": "model_topk", "trained_model_id": ""}
    )

    assert bad.status_code == 302 and bad["Location"] == f"/review/new/?version={picture_version.pk}"
    assert good.status_code == 302
    assert Job.objects.count() == 0  # both refused before a job: no embedding set, no trained model


def test_a_version_without_embeddings_links_to_where_it_is_embedded(picture_version):
    client = signed_in(UserFactory(role=Role.CURATOR))
    embeddings_page = f"/datasets/{picture_version.dataset_id}/v/{picture_version.number}/embeddings/"

    without = client.get(f"/review/new/?version={picture_version.pk}")
    embedding_set_create(version=picture_version, vectors=np.eye(3, 8, dtype=np.float32))
    ready = client.get(f"/review/new/?version={picture_version.pk}")

    assert b'id="proposal-needs-embeddings"' in without.content
    assert f'href="{embeddings_page}#start-title"'.encode() in without.content
    assert b'id="proposal-needs-embeddings"' not in ready.content


def test_proposals_on_a_pruned_version_without_embeddings_link_to_embedding_it(picture_version):
    # given v2 pruned from v1: v1 has an embedding set, v2 none yet
    embedding_set_create(version=picture_version, vectors=np.eye(3, 8, dtype=np.float32))
    pruned = DatasetVersionFactory(dataset=picture_version.dataset, number=2, parent=picture_version, operation="prune")
    for member in picture_version.members.all()[:2]:
        VersionSampleFactory(version=pruned, sample=member.sample, label=member.label)
    client = signed_in(UserFactory(role=Role.CURATOR))
    api = APIClient()
    api.force_authenticate(UserFactory(role=Role.CURATOR))

    # when a curator asks for confident-learning proposals on v2, from the page and through the API
    page = client.post("/review/proposals/", {"version": pruned.pk, "source": "confident_learning"}, follow=True)
    answer = api.post("/api/proposal-runs/", {"version": pruned.pk, "source": "confident_learning"}, format="json")

    # then the page's message links to v2's embed form, and the API's error names the endpoint that embeds v2
    embed_form = f"/datasets/{pruned.dataset_id}/v/2/embeddings/#start-title"
    assert page.redirect_chain == [(f"/review/new/?version={pruned.pk}", 302)]
    message = next(iter(page.context["messages"]))
    lead = f"Version {pruned.pk} (v2 of {pruned.dataset.name!r}) has no ready embedding set: embed it first"
    assert str(message) == f'{escape(lead)}. <a href="{embed_form}" id="embed-version-link">Embed v2</a>'
    assert f'<li class="msg-error">{message}</li>' in page.content.decode()
    assert answer.status_code == 400
    embed_url = f"/api/versions/{pruned.pk}/embeddings/"
    assert answer.json()["error"] == {
        "code": "embeddings_required",
        "message": f"{lead} (manage.py embed {pruned.pk}, or POST {embed_url}).",
        "details": {"version_id": pruned.pk, "embed_url": embed_url},
    }
    assert resolve(embed_url).func.view_class is EmbeddingSetCreateApi
    assert Job.objects.count() == 0


def make_queue(version, reviewers, **kwargs) -> ReviewQueue:
    from curation.review.services.queues import review_queue_create

    return review_queue_create(version=version, name="q", reviewer_ids=[r.pk for r in reviewers], **kwargs)


def test_the_review_page_shows_the_item_with_candidates_keys_and_labels(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:1])
    client = signed_in(reviewers[0])

    work = client.get(f"/review/queues/{queue.pk}/work/")
    item = queue.items.get(position=1)
    page = client.get(f"/review/items/{item.pk}/")
    partial = client.get(f"/review/items/{item.pk}/?partial=1")

    assert work.status_code == 302 and work["Location"] == f"/review/items/{item.pk}/"
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="review-root"' in html and "frontend/review.js" in html
    assert 'data-label="cat" data-key="1"' in " ".join(html.split())
    assert "confident_learning" in html and "0.70" in html
    assert "No ready embedding set for this version" in html
    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<div class="review-item"')


def test_the_review_page_lists_nearest_neighbours_with_their_labels(picture_version, reviewers, tmp_path):
    vectors = np.eye(3, 4, dtype=np.float32) + np.array([[0, 0, 0, 1]], dtype=np.float32)
    embedding_set_with_index(picture_version, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), tmp_path)
    queue = make_queue(picture_version, reviewers[:1])
    item = queue.items.get(position=1)

    html = signed_in(reviewers[0]).get(f"/review/items/{item.pk}/").content.decode()

    others = (
        VersionSample.objects.filter(version=picture_version).exclude(sample_id=item.sample_id).order_by("sample_id")
    )
    assert 'id="neighbours"' in html
    for member in others:
        assert f"Sample {member.sample_id}: {member.label}" in html


def test_the_review_page_is_only_for_assigned_reviewers(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:1])
    outsider = signed_in(reviewers[1])

    assert outsider.get(f"/review/items/{queue.items.first().pk}/").status_code == 403
    assert outsider.get(f"/review/queues/{queue.pk}/work/").status_code == 403


def test_work_says_when_nothing_is_left(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:1])
    for item in queue.items.all():
        review_item_submit(item_id=item.pk, reviewer=reviewers[0])

    response = signed_in(reviewers[0]).get(f"/review/queues/{queue.pk}/work/")

    assert response.status_code == 200
    assert b"Nothing left for you" in response.content


def test_the_queue_page_shows_progress_agreement_votes_and_applies(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:2], reviewers_per_item=2)
    for item in queue.items.all():
        for reviewer in reviewers[:2]:
            review_vote_cast(item_id=item.pk, reviewer=reviewer, label=item.candidates[1]["label"], value="yes")
            review_item_submit(item_id=item.pk, reviewer=reviewer)
    curator = signed_in(UserFactory(role=Role.CURATOR))

    page = curator.get(f"/review/queues/{queue.pk}/")
    applied = curator.post(f"/review/queues/{queue.pk}/apply/", {"base_version": picture_version.pk})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="reviewer-table"' in html and "rev0 · rev1: κ =" in html
    assert 'id="vote-table"' in html
    assert applied.status_code == 302
    version = DatasetVersion.objects.get(dataset=picture_version.dataset, number=picture_version.number + 1)
    assert sorted(VersionSample.objects.filter(version=version).values_list("label", flat=True)) == [
        "cat",
        "dog",
        "dog",
    ]


def test_bulk_labeling_from_the_queue_page_records_votes_with_their_origin(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:1], kind="labeling", filter={"classes": ["cat"]})
    ids = list(
        VersionSample.objects.filter(version=picture_version).order_by("sample_id").values_list("sample_id", flat=True)
    )

    response = signed_in(reviewers[0]).post(
        f"/review/queues/{queue.pk}/bulk/", {"sample_ids": f"{ids[0]}, {ids[1]}", "label": "bird", "origin": "bulk_map"}
    )

    assert response.status_code == 302
    assert sorted(queue.items.values_list("sample_id", "consensus_labels")) == [(ids[0], ["bird"]), (ids[1], ["bird"])]
    assert set(ReviewVote.objects.filter(item__queue=queue, label="bird").values_list("origin", flat=True)) == {
        "bulk_map"
    }


def test_curators_change_the_taxonomy_on_its_page_and_viewers_read_it(picture_version):
    dataset = picture_version.dataset
    curator = signed_in(UserFactory(role=Role.CURATOR))

    curator.post(f"/review/taxonomy/{dataset.pk}/", {"action": "add", "name": "fox"})
    curator.post(f"/review/taxonomy/{dataset.pk}/", {"action": "merge", "names": ["dog", "fox"], "into": "canid"})
    page = signed_in(UserFactory(role=Role.VIEWER)).get(f"/review/taxonomy/{dataset.pk}/")
    refused = signed_in(UserFactory(role=Role.REVIEWER)).post(
        f"/review/taxonomy/{dataset.pk}/", {"action": "add", "name": "x"}
    )

    dataset.refresh_from_db()
    assert dataset.classes == ["cat", "canid", "bird"]
    assert "merged dog, fox into canid" in page.content.decode()
    assert refused.status_code == 403


def test_the_review_page_warns_when_a_later_version_dropped_the_sample(picture_version, reviewers):
    queue = make_queue(picture_version, reviewers[:1])
    item = queue.items.get(position=1)
    later = DatasetVersion.objects.create(
        dataset=picture_version.dataset, number=picture_version.number + 1, operation="prune"
    )
    for member in VersionSample.objects.filter(version=picture_version).exclude(sample_id=item.sample_id):
        VersionSample.objects.create(
            version=later, sample_id=member.sample_id, label=member.label, labels=member.labels
        )

    html = signed_in(reviewers[0]).get(f"/review/items/{item.pk}/").content.decode()

    assert 'id="not-in-latest"' in html
    assert f"latest version (v{later.number})" in html


def test_the_proposal_form_passes_the_ticked_splits_and_the_runs_show_label_issues_apart_from_shift(noisy_version):
    client = signed_in(UserFactory(role=Role.CURATOR))
    version = noisy_version.version
    ProposalRun.objects.create(
        version=version, source="confident_learning", proposal_count=12, summary={"label_issues": 7, "shift_flags": 3}
    )

    started = client.post(
        "/review/proposals/", {"version": version.pk, "source": "confident_learning", "splits": ["train", "val"]}
    )
    refused = client.post(
        "/review/proposals/", {"version": version.pk, "source": "confident_learning", "splits": ["holdout"]}
    )
    page = client.get(f"/review/new/?version={version.pk}").content.decode()

    assert started.status_code == refused.status_code == 302
    assert Job.objects.get().params["splits"] == ["train", "val"]  # the refused one made no job
    assert "<td>7</td>" in page and "<td>3</td>" in page and "Shift flags" in page
    assert 'name="splits" value="test"' in page
