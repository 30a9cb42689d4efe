"""The embeddings REST API: sets, starting a job, neighbours, text search; structured errors."""

import pytest
from rest_framework.test import APIClient

from curation.embeddings.models import EmbeddingSet
from curation.embeddings.selectors import embedding_set_arrays
from jobs.models import Job, JobStatus
from tests.curation.embeddings.conftest import embed


@pytest.fixture
def api(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def curator_api(curator):
    client = APIClient()
    client.force_authenticate(curator)
    return client


def test_sets_are_listed_by_version_and_shown_with_their_encoder(api, make_version, encoder_name):
    embedding_set = embed(make_version(2), encoder_name)
    other = embed(make_version(1, seed_offset=50), encoder_name)

    listed = api.get("/api/embedding-sets/", {"version": embedding_set.version_id})
    detail = api.get(f"/api/embedding-sets/{embedding_set.pk}/")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [embedding_set.pk]
    assert other.pk != embedding_set.pk
    body = detail.json()
    assert (body["status"], body["rows"], body["dim"], body["dtype"]) == ("ready", 2, 16, "float16")
    assert (body["encoder_name"], body["index_kind"]) == (encoder_name, "flat")
    assert body["checksum"] == embedding_set.checksum
    assert body["encoder_spec"]["has_text_tower"] is True


def test_an_admin_starts_an_embedding_job_from_weights_under_the_roots(
    admin_user, make_version, encoder_name, tiny_clip, settings, django_capture_on_commit_callbacks
):
    version = make_version(2)
    settings.WEIGHTS_ROOTS = [str(tiny_clip.local_dir)]  # a local folder: admins only, under the roots
    admin_api = APIClient()
    admin_api.force_authenticate(admin_user)

    response = admin_api.post(
        f"/api/versions/{version.pk}/embeddings/", {"encoder": encoder_name, "chunk_size": 1}, format="json"
    )

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert response.json() == {"job": job.pk, "status": "queued", "url": f"/api/jobs/{job.pk}/"}
    assert (job.kind, job.params["encoder"], job.params["chunk_size"], job.params["dispatch"]) == (
        "embed",
        encoder_name,
        1,
        True,
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [({"encoder": "nosuch"}, "unknown_encoder"), ({"chunk_size": 0}, "validation_error")],
)
def test_starting_a_job_with_bad_input_is_refused_with_a_structured_error(curator_api, make_version, payload, code):
    version = make_version(1)

    response = curator_api.post(f"/api/versions/{version.pk}/embeddings/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Job.objects.count() == 0


def test_starting_a_job_on_a_version_without_images_is_refused(curator_api, db, encoder_name):
    from tests.factories import DatasetVersionFactory

    version = DatasetVersionFactory(number=1)

    response = curator_api.post(f"/api/versions/{version.pk}/embeddings/", {"encoder": encoder_name}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_version"


def test_neighbours_and_text_search_answer_with_sample_ids_and_scores(api, make_version, encoder_name):
    embedding_set = embed(make_version(5), encoder_name)
    sample_id = int(embedding_set_arrays(embedding_set).row_ids[0])

    neighbours = api.get(f"/api/embedding-sets/{embedding_set.pk}/neighbours/", {"sample_id": sample_id, "k": 3})
    searched = api.get(f"/api/embedding-sets/{embedding_set.pk}/text-search/", {"q": "a cat", "k": 2})

    assert neighbours.status_code == 200
    results = neighbours.json()["results"]
    assert len(results) == 3 and sample_id not in [row["sample_id"] for row in results]
    assert neighbours.json()["embedding_set"] == embedding_set.pk
    assert searched.status_code == 200
    assert len(searched.json()["results"]) == 2
    assert set(searched.json()["results"][0]) == {"sample_id", "score"}


def test_neighbours_across_encoders_and_unknown_sets_are_structured_errors(
    api, make_version, encoder_name, other_encoder_name
):
    version = make_version(2)
    mine, theirs = embed(version, encoder_name), embed(version, other_encoder_name)
    sample_id = int(embedding_set_arrays(mine).row_ids[0])

    mismatch = api.get(f"/api/embedding-sets/{theirs.pk}/neighbours/", {"sample_id": sample_id, "query_set": mine.pk})
    unknown = api.get("/api/embedding-sets/999999/neighbours/", {"sample_id": sample_id})

    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (400, "encoder_mismatch")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert EmbeddingSet.objects.count() == 2 and Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 2
