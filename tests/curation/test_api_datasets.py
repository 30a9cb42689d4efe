"""Contract of the read API for datasets, versions and samples: exact bodies for factory rows."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from curation.apis.pagination import sample_cursor_encode
from curation.models import DatasetVersion, SampleAlias, VersionOperation, VersionSample
from curation.selectors import version_stats
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory


def iso(moment: datetime) -> str:
    """A datetime as DRF renders it (UTC with a Z)."""
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def api(viewer) -> APIClient:
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def cats_and_dogs(db):
    """v1 imports 5 samples; v2 (a prune of v1) keeps 3 of them, relabels one and moves one to test."""
    dataset = DatasetFactory(name="pets", description="cats and dogs", classes=["cat", "dog"])
    v1 = DatasetVersionFactory(dataset=dataset, number=1, sample_count=5)
    samples = [SampleFactory(dataset=dataset) for _ in range(5)]
    for sample, label in zip(samples, ["cat", "cat", "dog", "dog", "cat"], strict=True):
        VersionSampleFactory(version=v1, sample=sample, label=label, split="train")
    v2 = DatasetVersionFactory(
        dataset=dataset,
        number=2,
        parent=v1,
        operation=VersionOperation.PRUNE,
        operation_params={"keep_fraction": 0.6},
        sample_count=3,
    )
    VersionSampleFactory(version=v2, sample=samples[0], label="cat", split="train")
    VersionSampleFactory(version=v2, sample=samples[2], label="cat", split="train", label_origin="consensus")
    VersionSampleFactory(version=v2, sample=samples[3], label="dog", split="test")
    return dataset, v1, v2, samples


def test_dataset_list_returns_every_dataset_newest_first_with_version_stats(api, cats_and_dogs, viewer):
    dataset, _, v2, _ = cats_and_dogs
    empty = DatasetFactory(name="empty", classes=[], owner=viewer)

    response = api.get("/api/datasets/")

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": empty.pk,
                "name": "empty",
                "description": "",
                "owner": viewer.username,
                "classes": [],
                "version_count": 0,
                "latest_version": None,
                "created_at": iso(empty.created_at),
            },
            {
                "id": dataset.pk,
                "name": "pets",
                "description": "cats and dogs",
                "owner": None,
                "classes": ["cat", "dog"],
                "version_count": 2,
                "latest_version": v2.pk,
                "created_at": iso(dataset.created_at),
            },
        ],
    }


def test_dataset_list_pages_cover_every_dataset_once(api, db):
    datasets = [DatasetFactory() for _ in range(5)]

    first = api.get("/api/datasets/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    ids = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert ids == sorted((d.pk for d in datasets), reverse=True)
    assert third["next"] is None


def test_dataset_detail_lists_classes_and_every_version(api, cats_and_dogs):
    dataset, v1, v2, _ = cats_and_dogs

    response = api.get(f"/api/datasets/{dataset.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": dataset.pk,
        "name": "pets",
        "description": "cats and dogs",
        "owner": None,
        "classes": ["cat", "dog"],
        "created_at": iso(dataset.created_at),
        "versions": [
            {
                "id": v2.pk,
                "number": 2,
                "parent": v1.pk,
                "operation": "prune",
                "sample_count": 3,
                "created_at": iso(v2.created_at),
            },
            {
                "id": v1.pk,
                "number": 1,
                "parent": None,
                "operation": "import",
                "sample_count": 5,
                "created_at": iso(v1.created_at),
            },
        ],
    }


def test_version_list_returns_only_that_datasets_versions(api, cats_and_dogs, curator):
    dataset, v1, v2, _ = cats_and_dogs
    DatasetVersionFactory(number=1)  # another dataset's version
    v2.created_by = curator
    v2.note = "pruned"
    v2.save()

    response = api.get(f"/api/datasets/{dataset.pk}/versions/")

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": v2.pk,
                "number": 2,
                "parent": v1.pk,
                "operation": "prune",
                "sample_count": 3,
                "created_at": iso(v2.created_at),
                "dataset": dataset.pk,
                "note": "pruned",
                "created_by": curator.username,
            },
            {
                "id": v1.pk,
                "number": 1,
                "parent": None,
                "operation": "import",
                "sample_count": 5,
                "created_at": iso(v1.created_at),
                "dataset": dataset.pk,
                "note": "",
                "created_by": None,
            },
        ],
    }


def test_version_detail_has_parent_operation_params_and_class_counts_per_split(api, cats_and_dogs):
    dataset, v1, v2, samples = cats_and_dogs
    VersionSampleFactory(version=v2, sample=samples[4], label="", split="val")

    response = api.get(f"/api/versions/{v2.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": v2.pk,
        "number": 2,
        "parent": v1.pk,
        "operation": "prune",
        "sample_count": 3,
        "created_at": iso(v2.created_at),
        "dataset": dataset.pk,
        "note": "",
        "created_by": None,
        "dataset_name": "pets",
        "operation_params": {"keep_fraction": 0.6},
        "job": None,
        "class_counts": {"test": {"dog": 1}, "train": {"cat": 2}, "val": {"": 1}},
    }


def test_sample_list_returns_members_with_this_versions_labels(api, cats_and_dogs):
    _, _, v2, samples = cats_and_dogs

    response = api.get(f"/api/versions/{v2.pk}/samples/")

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "results": [
            {
                "id": sample.pk,
                "original_name": sample.original_name,
                "width": 32,
                "height": 24,
                "source": "real",
                "split": split,
                "label": label,
                "labels": [{"label": label, "origin": origin}],
                "thumbnail_url": f"/media/samples/{sample.pk}/thumbnail",
                "sort_value": None,
            }
            for sample, split, label, origin in [
                (samples[0], "train", "cat", "import"),
                (samples[2], "train", "cat", "consensus"),
                (samples[3], "test", "dog", "import"),
            ]
        ],
    }


@pytest.mark.parametrize(
    ("query", "expected_indexes"),
    [
        ({"label": "cat"}, [0, 2]),
        ({"label": "dog"}, [3, 5]),
        ({"split": "test"}, [3, 5]),
        ({"split": "val"}, []),
        ({"source": "synthetic"}, [5]),
        ({"source": "real", "split": "train"}, [0, 2]),
        ({"label": "cat", "split": "train", "source": "real"}, [0, 2]),
        ({"label": "", "split": ""}, [0, 2, 3, 5]),
    ],
)
def test_sample_list_filters(api, cats_and_dogs, query, expected_indexes):
    dataset, _, v2, samples = cats_and_dogs
    samples.append(SampleFactory(dataset=dataset, source="synthetic"))
    VersionSampleFactory(version=v2, sample=samples[5], label="dog", split="test")

    response = api.get(f"/api/versions/{v2.pk}/samples/", query)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [samples[i].pk for i in expected_indexes]


def test_sample_pages_do_not_overlap_and_cover_the_filtered_set_exactly(api, db):
    version = DatasetVersionFactory()
    members = [VersionSampleFactory(version=version, label="cat" if i % 3 else "dog") for i in range(11)]
    expected = [m.sample_id for m in members if m.label == "cat"]

    pages, url = [], f"/api/versions/{version.pk}/samples/?label=cat&page_size=3"
    while url:
        body = api.get(url).json()
        pages.append([row["id"] for row in body["results"]])
        url = body["next"]

    assert pages == [expected[0:3], expected[3:6], expected[6:7]]
    assert "label=cat" in api.get(f"/api/versions/{version.pk}/samples/?label=cat&page_size=3").json()["next"]


def test_sample_next_url_carries_the_last_sample_id_of_the_page(api, db):
    version = DatasetVersionFactory()
    members = [VersionSampleFactory(version=version) for _ in range(3)]

    body = api.get(f"/api/versions/{version.pk}/samples/", {"page_size": 2}).json()

    assert body["next"] == (
        f"http://testserver/api/versions/{version.pk}/samples/"
        f"?cursor={sample_cursor_encode(members[1].sample_id)}&page_size=2"
    )


def test_sample_page_is_one_keyset_query_without_offset(api, db):
    version = DatasetVersionFactory()
    members = [VersionSampleFactory(version=version) for _ in range(4)]
    cursor = sample_cursor_encode(members[1].sample_id)

    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/versions/{version.pk}/samples/", {"cursor": cursor, "page_size": 1})

    member_queries = [q["sql"] for q in queries.captured_queries if '"curation_versionsample"' in q["sql"]]
    assert [row["id"] for row in response.json()["results"]] == [members[2].sample_id]
    assert len(member_queries) == 1
    assert f'"curation_versionsample"."sample_id" > {members[1].sample_id}' in member_queries[0]
    assert "OFFSET" not in member_queries[0]
    assert member_queries[0].endswith("LIMIT 2")


def test_sample_page_size_is_capped(api, db, monkeypatch):
    monkeypatch.setattr("curation.apis.pagination.SAMPLE_PAGE_SIZE_MAX", 2)
    version = DatasetVersionFactory()
    for _ in range(3):
        VersionSampleFactory(version=version)

    body = api.get(f"/api/versions/{version.pk}/samples/", {"page_size": 1000}).json()

    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_unknown_filter_value_is_a_structured_400_listing_allowed_values(api, cats_and_dogs):
    _, _, v2, _ = cats_and_dogs

    response = api.get(f"/api/versions/{v2.pk}/samples/", {"split": "bogus", "label": "horse", "source": "real"})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_filter",
            "message": "Invalid filter: unknown label 'horse' (allowed: cat, dog); "
            "unknown split 'bogus' (allowed: train, val, test, unassigned).",
            "details": {
                "label": {"value": "horse", "allowed": ["cat", "dog"]},
                "split": {"value": "bogus", "allowed": ["train", "val", "test", "unassigned"]},
            },
        }
    }


def test_unknown_source_is_rejected_and_any_label_is_accepted_without_a_taxonomy(api, db):
    version = DatasetVersionFactory(dataset=DatasetFactory(classes=[]))
    member = VersionSampleFactory(version=version, label="zebra")

    bad_source = api.get(f"/api/versions/{version.pk}/samples/", {"source": "fake"})
    any_label = api.get(f"/api/versions/{version.pk}/samples/", {"label": "zebra"})

    assert bad_source.status_code == 400
    assert bad_source.json()["error"]["details"] == {"source": {"value": "fake", "allowed": ["real", "synthetic"]}}
    assert [row["id"] for row in any_label.json()["results"]] == [member.sample_id]


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor", "The cursor is not valid; use the `next` URL of a page."),
        ({"page_size": "0"}, "invalid_page_size", "page_size must be a positive integer (at most 500)."),
        ({"page_size": "ten"}, "invalid_page_size", "page_size must be a positive integer (at most 500)."),
    ],
)
def test_malformed_paging_parameters_are_structured_400s(api, db, query, code, message):
    version = DatasetVersionFactory()

    response = api.get(f"/api/versions/{version.pk}/samples/", query)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"] == message


def test_sample_detail_has_metadata_provenance_aliases_memberships_and_media_urls(api, cats_and_dogs):
    _, v1, v2, samples = cats_and_dogs
    sample = samples[2]
    sample.provenance = {"original_path": "train/dog/a.png"}
    sample.caption = "a dog"
    sample.mask_key = "masks/ab/cd/x.png"
    sample.save()
    SampleAlias.objects.create(dataset=sample.dataset, sample=sample, original_name="copy_of_a.png")

    response = api.get(f"/api/samples/{sample.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": sample.pk,
        "dataset": sample.dataset_id,
        "sha256": sample.sha256,
        "original_name": sample.original_name,
        "width": 32,
        "height": 24,
        "format": "PNG",
        "mode": "RGB",
        "file_size": 100,
        "source": "real",
        "caption": "a dog",
        "provenance": {"original_path": "train/dog/a.png"},
        "aliases": ["copy_of_a.png"],
        "created_at": iso(sample.created_at),
        "image_url": f"/media/samples/{sample.pk}/image",
        "thumbnail_url": f"/media/samples/{sample.pk}/thumbnail",
        "mask_url": f"/media/samples/{sample.pk}/mask",
        "memberships": [
            {
                "version": v2.pk,
                "version_number": 2,
                "split": "train",
                "label": "cat",
                "label_origin": "consensus",
                "labels": [{"label": "cat", "origin": "consensus"}],
            },
            {
                "version": v1.pk,
                "version_number": 1,
                "split": "train",
                "label": "dog",
                "label_origin": "import",
                "labels": [{"label": "dog", "origin": "import"}],
            },
        ],
    }


def test_sample_without_mask_has_null_mask_url(api, db):
    sample = SampleFactory()

    response = api.get(f"/api/samples/{sample.pk}/")

    assert response.json()["mask_url"] is None
    assert response.json()["memberships"] == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/datasets/999999/", "Dataset 999999 does not exist."),
        ("/api/datasets/999999/versions/", "Dataset 999999 does not exist."),
        ("/api/versions/999999/", "Version 999999 does not exist."),
        ("/api/versions/999999/samples/", "Version 999999 does not exist."),
        ("/api/samples/999999/", "Sample 999999 does not exist."),
    ],
)
def test_unknown_id_is_a_structured_404(api, path, message):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": message, "details": None}}


def test_user_without_a_role_is_refused_with_a_structured_403(user_with_role, cats_and_dogs):
    client = APIClient()
    client.force_authenticate(user_with_role(None))

    response = client.get(f"/api/versions/{cats_and_dogs[2].pk}/samples/")

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Your role does not allow this operation.",
            "details": None,
        }
    }


def test_class_counts_of_a_complete_version_are_counted_once_then_cached(api, db):
    version = DatasetVersionFactory(sample_count=2)
    VersionSampleFactory(version=version, label="dog", split="val")
    VersionSampleFactory(version=version, label="cat", split="val")
    api.get(f"/api/versions/{version.pk}/")

    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/versions/{version.pk}/")

    assert response.json()["class_counts"] == {"val": {"cat": 1, "dog": 1}}
    assert [q["sql"] for q in queries.captured_queries if '"curation_versionsample"' in q["sql"]] == []


def test_version_detail_class_counts_are_the_grids_counts_computed_once_on_a_cold_cache(
    api, db, django_assert_num_queries
):
    # given a complete version with members over splits, labels (one unlabeled) and sources
    version = DatasetVersionFactory()
    rows = [("train", "cat", "real"), ("train", "cat", "synthetic"), ("train", "dog", "real"), ("val", "", "real"),
            ("test", "dog", "synthetic"), ("test", "dog", "real")]  # fmt: skip
    for split, label, source in rows:
        VersionSampleFactory(version=version, split=split, label=label, sample__source=source)
    DatasetVersion.objects.filter(pk=version.pk).update(sample_count=len(rows))
    version.refresh_from_db()
    expected: dict[str, dict[str, int]] = {}
    for split, label in VersionSample.objects.filter(version=version).values_list("split", "label"):
        expected.setdefault(split, {})[label] = expected.get(split, {}).get(label, 0) + 1
    # when the API is asked for the version on a cold cache, then again
    with CaptureQueriesContext(connection) as cold:
        first = api.get(f"/api/versions/{version.pk}/").json()["class_counts"]
    with CaptureQueriesContext(connection) as warm:
        second = api.get(f"/api/versions/{version.pk}/").json()["class_counts"]
    # then the counts per split and label are the members', counted by the grid's selector (its two GROUP BYs, one
    # over the longest image side) under its per-version lock, and cached: the grid then counts nothing
    assert first == second == expected and list(first) == sorted(expected)
    counted = [query["sql"] for query in cold.captured_queries if '"curation_versionsample"' in query["sql"]]
    assert len(counted) == 2 and sum("GREATEST" in sql for sql in counted) == 1
    assert [query for query in warm.captured_queries if '"curation_versionsample"' in query["sql"]] == []
    with django_assert_num_queries(0):
        assert version_stats(version=version).split_label_counts() == expected


def test_twenty_first_requests_for_a_version_at_once_count_its_members_once(transactional_db, viewer):
    # given a complete version nobody has asked for yet, and twenty clients that ask for it at the same moment
    version = DatasetVersionFactory()
    for split, label in [("train", "cat"), ("train", "dog"), ("val", "cat")]:
        VersionSampleFactory(version=version, split=split, label=label)
    DatasetVersion.objects.filter(pk=version.pk).update(sample_count=3)
    start, statements = threading.Barrier(20), []

    def member_statements(execute, sql, params, many, context):
        if '"curation_versionsample"' in sql:
            statements.append(sql)
            time.sleep(0.2)  # counting takes a while (seconds at 1M members): the others arrive meanwhile
        return execute(sql, params, many, context)

    def ask() -> dict:
        client = APIClient()
        client.force_authenticate(viewer)
        try:
            with connection.execute_wrapper(member_statements):
                start.wait()
                return client.get(f"/api/versions/{version.pk}/").json()["class_counts"]
        finally:
            connection.close()

    # when they all ask
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: ask(), range(20)))
    # then one of them counted (the grid's two GROUP BYs) while the others waited for its counts
    assert answers == [{"train": {"cat": 1, "dog": 1}, "val": {"cat": 1}}] * 20
    assert len(statements) == 2
