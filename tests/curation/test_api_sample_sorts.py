"""The sample-list API's `sort` + `sort_run` (orders by a run's per-sample values) and `prediction_run` filters:
exact pages followed through `next`, the values in `sort_value`, and 400s with their codes."""

import pytest
from rest_framework.test import APIClient

from curation.apis.pagination import sample_cursor_encode
from tests.curation.run_values import evaluation_predicted, proposal_run_scored, version_ids
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer) -> APIClient:
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def version():
    """Six members labelled cat, dog in turn."""
    dataset = DatasetFactory(classes=["cat", "dog"])
    version = DatasetVersionFactory(dataset=dataset, sample_count=6)
    for index in range(6):
        VersionSampleFactory(version=version, sample=SampleFactory(dataset=dataset), label=["cat", "dog"][index % 2])
    return version


def pages(api: APIClient, url: str, **params) -> list[list[tuple[int, float | None]]]:
    """Every page from `url`, following `next`: (id, sort_value) per member."""
    found, response = [], api.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        found.append([(row["id"], row["sort_value"]) for row in body["results"]])
        if body["next"] is None:
            return found
        response = api.get(body["next"])


def test_sort_by_issue_score_pages_through_next_with_ties_by_id(api, version):
    # given a proposal run that scored four of the six members, two of them alike
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.25, s[1]: 0.75, s[2]: 0.75, s[4]: 0.5})
    url = f"/api/versions/{version.pk}/samples/"

    # when the list is read two at a time, highest issue first, and lowest first among the dogs
    highest = pages(api, url, sort="-issue_score", sort_run=run.pk, page_size=2)
    dogs = pages(api, url, sort="issue_score", sort_run=run.pk, label="dog", page_size=1)

    # then the pages hold the scored members in order, each with its value
    assert highest == [[(s[2], 0.75), (s[1], 0.75)], [(s[4], 0.5), (s[0], 0.25)]]
    assert dogs == [[(s[1], 0.75)]]


def test_member_orders_page_through_next_too(api, version):
    s = version_ids(version)
    url = f"/api/versions/{version.pk}/samples/"

    newest = pages(api, url, sort="-id", page_size=4)
    by_label = pages(api, url, sort="label", page_size=4)

    assert newest == [[(i, None) for i in s[:1:-1]], [(s[1], None), (s[0], None)]]
    assert by_label == [[(i, None) for i in (s[0], s[2], s[4], s[1])], [(s[3], None), (s[5], None)]]


def test_confidence_sort_with_prediction_filters(api, version):
    # given an evaluation: predictions cat, cat, dog, dog, cat, cat (labels cat, dog in turn)
    s = version_ids(version)
    names, confidences = ["cat", "cat", "dog", "dog", "cat", "cat"], [0.9, 0.8, 0.7, 0.95, 0.6, 0.85]
    predicted = {i: (name, conf) for i, name, conf in zip(s, names, confidences, strict=True)}
    run = evaluation_predicted(version, predicted, ["cat", "dog"])
    url = f"/api/versions/{version.pk}/samples/"

    # when the model's errors are listed least confident first, and the predicted cats in id order
    errors = pages(api, url, sort="confidence", sort_run=run.pk, prediction_run=run.pk, model_error="true")
    cats = pages(api, url, prediction_run=run.pk, predicted="cat")

    # then the errors are s1 (0.8), s2 (0.7) and s5 (0.85), and the predicted cats s0, s1, s4, s5
    assert errors == [[(s[2], 0.7), (s[1], 0.8), (s[5], 0.85)]]
    assert cats == [[(s[0], None), (s[1], None), (s[4], None), (s[5], None)]]


def test_unknown_sorts_runs_and_filters_are_400_with_their_codes(api, version):
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.5})
    other = DatasetVersionFactory(dataset=version.dataset, number=2)
    foreign = proposal_run_scored(other, {s[0]: 0.5})
    evaluation = evaluation_predicted(version, {s[0]: ("cat", 0.9)}, ["cat", "dog"])
    url = f"/api/versions/{version.pk}/samples/"
    other_order = sample_cursor_encode(s[0], order="-issue_score", value=0.5)
    cases = {
        "unknown sort": {"sort": "popularity"},
        "no run": {"sort": "-issue_score"},
        "missing run": {"sort": "-issue_score", "sort_run": 999999},
        "run of another version": {"sort": "-issue_score", "sort_run": foreign.pk},
        "run id not a number": {"sort": "-issue_score", "sort_run": "x"},
        "cursor of another order": {"sort": "issue_score", "sort_run": run.pk, "cursor": other_order},
        "model_error without a run": {"model_error": "true"},
        "unknown predicted class": {"prediction_run": evaluation.pk, "predicted": "fish"},
        "missing evaluation": {"prediction_run": 999999, "model_error": "true"},
    }

    answers = {}
    for name, params in cases.items():
        response = api.get(url, params)
        answers[name] = (response.status_code, response.json()["error"]["code"])

    assert answers == {
        "unknown sort": (400, "invalid_sort"),
        "no run": (400, "invalid_sort_run"),
        "missing run": (400, "invalid_sort_run"),
        "run of another version": (400, "invalid_sort_run"),
        "run id not a number": (400, "invalid_sort_run"),
        "cursor of another order": (400, "invalid_cursor"),
        "model_error without a run": (400, "invalid_filter"),
        "unknown predicted class": (400, "invalid_filter"),
        "missing evaluation": (400, "invalid_filter"),
    }


def test_the_schema_documents_the_sorts_and_prediction_filters(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    parameters = {p["name"]: p for p in schema["paths"]["/api/versions/{version_id}/samples/"]["get"]["parameters"]}

    assert parameters["sort"]["schema"]["enum"] == [
        "-cluster_distance", "-confidence", "-duplicate_size", "-id", "-issue_score",
        "cluster_distance", "confidence", "duplicate_size", "id", "issue_score", "label",
    ]  # fmt: skip
    assert {"sort_run", "prediction_run", "predicted", "model_error"} <= set(parameters)
    assert "invalid_sort_run" in str(schema["paths"]["/api/versions/{version_id}/samples/"]["get"]["responses"]["400"])
