"""The embedding map in a real browser: WebGL scatter, hover thumbnail, a lasso opens the selection grid."""

import pytest
from playwright.sync_api import Page, expect

from curation.embeddings.models import EmbeddingMap
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.maps import EMBEDDING_MAP_JOB_KIND, MapParams
from jobs.services import job_create, job_execute
from tests.browser import log_in
from tests.curation.embeddings.conftest import embed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# The first point of the first trace: its sample id and its pixel position inside the plot area.
POINT_ON_SCREEN = """() => {
  const plot = document.getElementById('embedding-map');
  const trace = plot.data[0], layout = plot._fullLayout;
  return [trace.customdata[0], layout.xaxis.l2p(trace.x[0]), layout.yaxis.l2p(trace.y[0])];
}"""


def test_hover_shows_the_thumbnail_and_a_lasso_opens_the_selected_samples(
    page: Page, live_server, make_version, encoder_name, viewer
):
    version = make_version(6)
    embedding_set = embed(version, encoder_name)
    params = MapParams(embedding_set.pk).as_job_params()
    job_execute(job_create(kind=EMBEDDING_MAP_JOB_KIND, params=params, requested_by=None).pk)
    embedding_map = EmbeddingMap.objects.get()
    sample_ids = sorted(embedding_set_arrays(embedding_set).row_ids.tolist())
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, live_server.url, viewer.username, next_path=f"/embeddings/maps/{embedding_map.pk}/")

    page.wait_for_function("document.getElementById('embedding-map').data !== undefined")
    plotted = page.evaluate(
        "document.getElementById('embedding-map').data.flatMap(trace => trace.customdata).sort((a, b) => a - b)"
    )
    box = page.locator("#embedding-map .nsewdrag").bounding_box()
    hovered, x, y = page.evaluate(POINT_ON_SCREEN)
    page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    expect(page.locator("#map-hover-image")).to_have_attribute("src", f"/media/samples/{hovered}/thumbnail")
    page.wait_for_function("document.getElementById('map-hover-image').naturalWidth > 0")
    corners = [(0.01, 0.01), (0.99, 0.01), (0.99, 0.99), (0.01, 0.99), (0.01, 0.02)]
    page.mouse.move(box["x"] + box["width"] * 0.01, box["y"] + box["height"] * 0.01)
    page.mouse.down()
    for fx, fy in corners:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=8)
    page.mouse.up()
    page.wait_for_url(f"{live_server.url}/datasets/{version.dataset_id}/v/{version.number}/selection/")

    assert plotted == sample_ids
    shown = page.locator("#thumbs [data-sample-id]").evaluate_all("items => items.map(i => Number(i.dataset.sampleId))")
    assert shown == sample_ids
    expect(page.locator("#selection-summary")).to_contain_text("6 of the 6 requested samples are members of v1")
    assert errors == []
