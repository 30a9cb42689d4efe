"""Media endpoints: the stored bytes with their content type and long private caching; mask overlays."""

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from core.storage import blob_read
from curation.services.ingest import mask_encode, sample_ingest
from frontend.pages.media import OVERLAY_EDGE_ALPHA, OVERLAY_FILL_ALPHA, OVERLAY_RGB
from tests.factories import DatasetFactory, SampleFactory, mask_png, png_bytes

pytestmark = pytest.mark.django_db

YEAR_PRIVATE = "private, max-age=31536000, immutable"


@pytest.fixture
def ingested_sample():
    """A 40 × 30 PNG stored through ingest: a JPEG thumbnail and a mask whose object is x 10–29, y 5–24."""
    data = png_bytes((200, 120, 40), size=(40, 30))
    mask = mask_encode(mask_png((40, 30), (10, 5, 30, 25)), size=(40, 30))
    return sample_ingest(dataset=DatasetFactory(), data=data, original_name="fruit/orange.png", mask_png=mask).sample


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    ("endpoint", "key_field", "content_type"),
    [
        ("frontend:sample_image", "image_key", "image/png"),
        ("frontend:sample_thumbnail", "thumbnail_key", "image/jpeg"),
        ("frontend:sample_mask", "mask_key", "image/png"),
    ],
)
def test_media_endpoints_stream_the_stored_bytes_with_type_and_cache_headers(
    viewer_client, ingested_sample, endpoint, key_field, content_type
):
    # when a viewer asks for one of the sample's files
    response = viewer_client.get(reverse(endpoint, args=[ingested_sample.pk]))

    # then the exact stored bytes come back with their content type, cacheable for a year privately
    assert response.status_code == 200
    assert body(response) == blob_read(getattr(ingested_sample, key_field))
    assert response["Content-Type"] == content_type
    assert response["Cache-Control"] == YEAR_PRIVATE
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_known_etag_gets_304_without_a_body(viewer_client, ingested_sample):
    url = reverse("frontend:sample_image", args=[ingested_sample.pk])
    etag = viewer_client.get(url)["ETag"]

    response = viewer_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert etag == f'"{ingested_sample.sha256}-image"'
    assert (response.status_code, response.content, response["Cache-Control"]) == (304, b"", YEAR_PRIVATE)


def test_download_sends_the_original_as_an_attachment_under_its_name(viewer_client, ingested_sample):
    response = viewer_client.get(reverse("frontend:sample_image", args=[ingested_sample.pk]), {"download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="orange.png"'
    assert body(response) == blob_read(ingested_sample.image_key)


def test_mask_overlay_colours_the_object_translucently_and_its_outline_opaquely(viewer_client, ingested_sample):
    # when the overlay of a mask with the object at x 10–29, y 5–24 is requested
    response = viewer_client.get(reverse("frontend:sample_mask_overlay", args=[ingested_sample.pk]))

    # then it is an RGBA PNG of the image's size: clear outside, translucent inside, opaque on the border
    overlay = Image.open(io.BytesIO(response.content))
    alpha = np.asarray(overlay.getchannel("A"))
    expected = np.zeros((30, 40), dtype=np.uint8)
    expected[5:25, 10:30] = OVERLAY_EDGE_ALPHA
    expected[6:24, 11:29] = OVERLAY_FILL_ALPHA
    assert (response["Content-Type"], response["Cache-Control"]) == ("image/png", YEAR_PRIVATE)
    assert (overlay.mode, overlay.size) == ("RGBA", (40, 30))
    np.testing.assert_array_equal(alpha, expected)
    assert overlay.getpixel((15, 15)) == (*OVERLAY_RGB, OVERLAY_FILL_ALPHA)


def test_mask_overlay_takes_the_class_colour_and_ignores_a_malformed_one(viewer_client, ingested_sample):
    url = reverse("frontend:sample_mask_overlay", args=[ingested_sample.pk])

    coloured = viewer_client.get(url, {"colour": "2F9E74"})
    malformed = viewer_client.get(url, {"colour": "red;"})

    assert Image.open(io.BytesIO(coloured.content)).getpixel((15, 15)) == (47, 158, 116, OVERLAY_FILL_ALPHA)
    assert Image.open(io.BytesIO(malformed.content)).getpixel((15, 15)) == (*OVERLAY_RGB, OVERLAY_FILL_ALPHA)
    assert coloured["ETag"] == f'"{ingested_sample.sha256}-overlay-2f9e74"'  # a colour change is a new file


@pytest.mark.parametrize("endpoint", ["frontend:sample_mask", "frontend:sample_mask_overlay"])
def test_a_sample_without_a_mask_has_no_mask_media(viewer_client, endpoint):
    sample = SampleFactory()
    assert viewer_client.get(reverse(endpoint, args=[sample.pk])).status_code == 404


def test_a_missing_sample_or_a_blob_missing_from_storage_is_404(viewer_client):
    sample = SampleFactory(image_key="images/00/00/gone.png")
    assert viewer_client.get(reverse("frontend:sample_image", args=[sample.pk])).status_code == 404
    assert viewer_client.get(reverse("frontend:sample_image", args=[sample.pk + 1000])).status_code == 404


@pytest.mark.parametrize(
    "endpoint",
    ["frontend:sample_image", "frontend:sample_thumbnail", "frontend:sample_mask", "frontend:sample_mask_overlay"],
)
def test_media_is_never_served_without_a_login_or_a_role(client, user_with_role, ingested_sample, endpoint):
    url = reverse(endpoint, args=[ingested_sample.pk])

    anonymous = client.get(url)
    client.force_login(user_with_role(None))
    roleless = client.get(url)

    assert (anonymous.status_code, anonymous["Location"]) == (302, f"/accounts/login/?next={url}")
    assert roleless.status_code == 403
