"""plotly.js (4.8 MB) is fetched once per plotly version: a versioned URL that browsers may cache for a year."""

import plotly
import pytest
from django.urls import reverse

from tests.frontend.test_dataset_pages import two_versions  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PLOTLY_URL = f"/static/plotly/{plotly.__version__}/plotly.min.js"


def test_chart_page_loads_plotly_from_a_versioned_url_cached_for_a_year(viewer_client, two_versions):  # noqa: F811
    # given a dataset page with charts
    dataset, _first, _second = two_versions
    page = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk])).content.decode()

    # when its plotly.js is requested
    response = viewer_client.get(PLOTLY_URL)

    # then the page names the versioned URL, and the file comes with a year-long immutable cache header
    assert f'<script src="{PLOTLY_URL}" defer></script>' in page
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"


def test_other_static_files_keep_the_short_cache(viewer_client):
    # when a static file whose name carries no version is requested
    response = viewer_client.get("/static/frontend/charts.js")

    # then it may be cached only briefly (a changed file is seen within a minute)
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=60, public"
