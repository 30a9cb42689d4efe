"""A lasso on the embedding map feeds the same selection as the sample grid, in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from curation.embeddings.models import EmbeddingMap
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams
from curation.models import DatasetVersion, VersionSample
from jobs.services import job_create, job_execute
from tests.browser import log_in
from tests.curation.embeddings.conftest import embed, encoder_name, make_version, tiny_clip  # noqa: F401
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_lasso_selection_is_the_grid_selection_and_makes_a_version(
    page: Page,
    live_server,
    make_version,  # noqa: F811  (the fixtures imported above)
    encoder_name,  # noqa: F811
    curator,
):
    version = make_version(6)
    embedding_set = embed(version, encoder_name)
    params = MapParams(embedding_set.pk).as_job_params()
    job_execute(job_create(kind=EMBEDDING_MAP_JOB_KIND, params=params, requested_by=None).pk)
    embedding_map = EmbeddingMap.objects.get()
    sample_ids = sorted(embedding_set_arrays(embedding_set).row_ids.tolist())
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/embeddings/maps/{embedding_map.pk}/")
    page.wait_for_function("document.getElementById('embedding-map').data !== undefined")

    # when a lasso goes round every point
    box = page.locator("#embedding-map .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.01, box["y"] + box["height"] * 0.01)
    page.mouse.down()
    for fx, fy in [(0.99, 0.01), (0.99, 0.99), (0.01, 0.99), (0.01, 0.02)]:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=8)
    page.mouse.up()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/{version.number}/selection/")

    # then the six are the selection; unticking one leaves five, and the grid shows the same five
    expect(page.locator("#selection-count")).to_have_text("6 selected")
    page.locator(".thumb-select").first.click()
    expect(page.locator("#selection-count")).to_have_text("5 selected")
    page.get_by_role("link", name="Open the selection in the sample grid").click()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/{version.number}/samples/")
    expect(page.locator("#selection-count")).to_have_text("5 selected")
    ticked = page.locator(".thumb.is-selected").evaluate_all("els => els.map(e => Number(e.dataset.sampleId))")
    assert ticked == sample_ids[1:]

    # the grid's "Open on the map" rings the same five on the map
    page.get_by_role("link", name="Open on the map").click()
    page.wait_for_url(f"**/embeddings/maps/{embedding_map.pk}/")
    page.wait_for_function("document.getElementById('embedding-map').data !== undefined")
    ringed = page.evaluate(
        "document.getElementById('embedding-map').data.filter(t => t.name === 'selection (5)')"
        ".flatMap(t => t.customdata).sort((a, b) => a - b)"
    )
    assert ringed == sample_ids[1:]
    page.go_back()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/{version.number}/samples/")

    # and a new version made from it holds those five
    page.get_by_role("button", name="New version from selection").click()
    page.wait_for_url(f"**/datasets/{version.dataset_id}/v/2/samples/")
    child = DatasetVersion.objects.get(dataset_id=version.dataset_id, number=2)
    members = VersionSample.objects.filter(version=child).order_by("sample_id")
    assert list(members.values_list("sample_id", flat=True)) == sample_ids[1:]
    assert errors == []
