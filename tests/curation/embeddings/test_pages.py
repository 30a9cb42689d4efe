"""Pages: a version's embeddings (and the forms that start jobs), more like this, text search, a duplicate
run's groups, the embedding map and its zoom, the selection grid."""

import json
import re

import numpy as np
import pytest
from django.test import Client

from curation.embeddings.models import DuplicateRun, EmbeddingMap
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.duplicates import FIND_DUPLICATES_JOB_KIND, DuplicateParams
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings.conftest import embed


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_job(kind, params):
    job = job_execute(job_create(kind=kind, params=params.as_job_params(), requested_by=None).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def figure_json(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


@pytest.fixture
def embedded(make_version, encoder_name):
    version = make_version(6)
    return version, embed(version, encoder_name, chunk_size=4)


def test_the_version_page_lists_its_sets_and_an_admin_starts_an_embedding_job(
    embedded, curator, admin_user, encoder_name, tiny_clip, settings
):
    version, embedding_set = embedded
    url = f"/datasets/{version.dataset_id}/v/{version.number}/embeddings/"
    settings.WEIGHTS_ROOTS = [str(tiny_clip.local_dir)]  # a local folder: admins only, under the roots

    page = signed_in(curator).get(url)
    started = signed_in(admin_user).post(url, {"action": "embed", "encoder": encoder_name})
    refused = signed_in(admin_user).post(url, {"action": "embed", "encoder": "nosuch"})
    from_a_curator = signed_in(curator).post(url, {"action": "embed", "encoder": encoder_name})

    html = page.content.decode()
    assert page.status_code == 200
    assert f"<td>#{embedding_set.pk}</td>" in html and "6 / 6" in html
    assert f'action="/embeddings/sets/{embedding_set.pk}/search/"' in html
    job = Job.objects.get(kind="embed", requested_by=admin_user)
    assert (started.status_code, started["Location"]) == (302, f"/jobs/{job.pk}/")
    assert job.params["encoder"] == encoder_name and job.params["version_id"] == version.pk
    assert refused.status_code == 400
    assert "unknown encoder &#x27;nosuch&#x27;" in refused.content.decode()
    assert from_a_curator.status_code == 400
    assert "Only admins may load weights from a server path." in from_a_curator.content.decode()
    assert Job.objects.filter(kind="embed", requested_by__isnull=False).count() == 1  # the refused ones made none


def test_a_viewer_sees_the_version_page_but_cannot_start_jobs(embedded, viewer):
    version, embedding_set = embedded
    url = f"/datasets/{version.dataset_id}/v/{version.number}/embeddings/"

    page = signed_in(viewer).get(url)
    refused = signed_in(viewer).post(url, {"action": "map", "embedding_set": embedding_set.pk})

    assert page.status_code == 200 and 'id="embed-form"' not in page.content.decode()
    assert refused.status_code == 403
    assert Job.objects.filter(kind=EMBEDDING_MAP_JOB_KIND).count() == 0


def test_more_like_this_is_loaded_into_the_sample_page(embedded, viewer):
    version, embedding_set = embedded
    sample_id = int(embedding_set_arrays(embedding_set).row_ids[0])
    base = f"/datasets/{version.dataset_id}/v/{version.number}/samples/{sample_id}/"

    detail = signed_in(viewer).get(base)
    partial = signed_in(viewer).get(f"{base}similar/", HTTP_HX_REQUEST="true")

    assert f'hx-get="{base}similar/"' in detail.content.decode()
    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html
    shown = [int(i) for i in re.findall(r'data-sample-id="(\d+)"', html)]
    assert len(shown) == 5 and sample_id not in shown
    assert f"embedding set #{embedding_set.pk}" in html


def test_more_like_this_says_how_to_embed_a_version_without_a_set(make_version, viewer):
    version = make_version(1)
    sample_id = version.members.get().sample_id

    partial = signed_in(viewer).get(
        f"/datasets/{version.dataset_id}/v/{version.number}/samples/{sample_id}/similar/", HTTP_HX_REQUEST="true"
    )

    assert "No ready embedding set for v1." in partial.content.decode()


def test_text_search_shows_the_best_matching_thumbnails(embedded, viewer):
    _, embedding_set = embedded

    page = signed_in(viewer).get(f"/embeddings/sets/{embedding_set.pk}/search/", {"q": "a red square"})

    assert page.status_code == 200
    assert len(re.findall(r'data-sample-id="(\d+)"', page.content.decode())) == 6


def test_the_duplicates_page_shows_groups_side_by_side_with_pair_similarities(
    version_with_copies,
    encoder_name,
    viewer,
):
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)
    run_job(FIND_DUPLICATES_JOB_KIND, DuplicateParams(embedding_set_id=embedding_set.pk, calibration_images=2))
    run = DuplicateRun.objects.get()
    run.threshold = 0.9995  # the calibrated threshold of a random model says little: show the known copies
    run.save()

    page = signed_in(viewer).get(f"/embeddings/duplicates/{run.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert figure_json(html, "calibration-figure")["layout"]["shapes"][0]["x0"] == 0.9995
    assert 'id="group-1"' in html
    assert f"/selection/?run={run.pk}&amp;group=1" in html
    exact = run.groups.get(kind="exact")
    assert "Same bytes under: p2.png, again/p2.png" in html and f'id="group-{exact.number}"' in html


def test_duplicate_groups_page_in_keyset_pages(version_with_copies, encoder_name, viewer):
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)
    run_job(FIND_DUPLICATES_JOB_KIND, DuplicateParams(embedding_set_id=embedding_set.pk, threshold=0.9995))
    run = DuplicateRun.objects.get()

    more = signed_in(viewer).get(f"/embeddings/duplicates/{run.pk}/", {"after": 1}, HTTP_HX_REQUEST="true")

    html = more.content.decode()
    assert "<html" not in html
    assert re.findall(r'id="group-(\d+)"', html) == ["2", "3"]


def test_the_map_page_draws_a_webgl_scatter_and_zooming_sends_the_points_in_view(embedded, viewer, settings):
    _, embedding_set = embedded
    run_job(EMBEDDING_MAP_JOB_KIND, MapParams(embedding_set_id=embedding_set.pk))
    embedding_map = EmbeddingMap.objects.get()
    client = signed_in(viewer)

    page = client.get(f"/embeddings/maps/{embedding_map.pk}/")
    figure = figure_json(page.content.decode(), "map-figure")
    xs = np.concatenate([trace["x"] for trace in figure["data"]])
    middle = float(np.median(xs))
    zoomed = client.get(
        f"/embeddings/maps/{embedding_map.pk}/points/", {"x0": middle, "x1": 1e9, "y0": -1e9, "y1": 1e9}
    ).json()
    by_split = client.get(f"/embeddings/maps/{embedding_map.pk}/points/", {"color": "split"}).json()

    assert {trace["type"] for trace in figure["data"]} == {"scattergl"}
    assert sorted(i for trace in figure["data"] for i in trace["customdata"]) == sorted(
        embedding_set_arrays(embedding_set).row_ids.tolist()
    )
    assert figure["layout"]["dragmode"] == "lasso"
    assert figure["meta"] == {"shown": 6, "in_view": 6, "total": 6, "color_by": "label"}
    assert zoomed["meta"]["in_view"] == int((xs >= middle).sum())
    assert all(x >= middle for trace in zoomed["data"] for x in trace["x"])
    assert [trace["name"] for trace in by_split["data"]] == ["train (6)"]


def test_the_selection_grid_shows_posted_ids_and_duplicate_groups(embedded, viewer):
    version, embedding_set = embedded
    ids = embedding_set_arrays(embedding_set).row_ids.tolist()
    url = f"/datasets/{version.dataset_id}/v/{version.number}/selection/"

    posted = signed_in(viewer).post(url, {"ids": ",".join(map(str, [ids[0], ids[2], 10**9]))})
    linked = signed_in(viewer).get(url, {"ids": str(ids[1])})

    assert re.findall(r'data-sample-id="(\d+)"', posted.content.decode()) == [str(ids[0]), str(ids[2])]
    assert "2 of the 3 requested samples are members of v1" in posted.content.decode()
    assert re.findall(r'data-sample-id="(\d+)"', linked.content.decode()) == [str(ids[1])]


def test_a_lasso_selection_is_bulk_labeled_in_an_assigned_queue_with_the_map_origin(embedded, reviewer):
    from curation.review.models import ReviewVote
    from curation.review.services.queues import review_queue_create

    version, embedding_set = embedded
    ids = embedding_set_arrays(embedding_set).row_ids.tolist()
    label = version.members.get(sample_id=ids[0]).label
    queue = review_queue_create(version=version, name="bulk", filter={"classes": [label]}, reviewer_ids=[reviewer.pk])
    client = signed_in(reviewer)
    selection = f"/datasets/{version.dataset_id}/v/{version.number}/selection/"

    page = client.post(selection, {"ids": f"{ids[0]},{ids[1]}", "origin": "bulk_map"}).content.decode()
    # The page seeds the grid selection with its members and origin; selection.js posts them with the form.
    seed_ids = re.search(r'data-seed-ids="([^"]+)"', page).group(1)
    seed_origin = re.search(r'data-seed-origin="([^"]+)"', page).group(1)
    action = re.search(r'id="selection-label-form"\s+action="([^"]+)"', page).group(1)
    sent = client.post(
        action,
        {"mode": "ids", "ids": seed_ids, "query": "", "origin": seed_origin, "queue": queue.pk, "label": label,
         "vote": "yes"},
    )  # fmt: skip

    assert action == f"/datasets/{version.dataset_id}/v/{version.number}/selection/label/"
    assert f'<option value="{queue.pk}">bulk</option>' in page
    assert sent.status_code == 302
    votes = ReviewVote.objects.filter(item__queue=queue, reviewer=reviewer, is_current=True)
    assert sorted(v.item.sample_id for v in votes) == sorted([ids[0], ids[1]])
    assert {(v.label, v.value, v.origin) for v in votes} == {(label, "yes", "bulk_map")}


def test_viewers_see_no_bulk_label_form_on_a_selection(embedded, viewer):
    version, embedding_set = embedded
    ids = embedding_set_arrays(embedding_set).row_ids.tolist()
    url = f"/datasets/{version.dataset_id}/v/{version.number}/selection/"

    html = signed_in(viewer).get(url, {"ids": str(ids[0])}).content.decode()

    assert "selection-label-form" not in html
    assert "selection-version-form" not in html
