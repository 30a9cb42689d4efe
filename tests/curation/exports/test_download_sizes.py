"""An export download chooses its byte range from the size recorded with the export, before storage is read."""

import pytest
from rest_framework.test import APIClient

from curation.exports.models import Export
from tests.factories import ExportFactory

pytestmark = pytest.mark.django_db
CONTENT = bytes(range(256)) * 4  # 1024 bytes, each offset recognisable


def test_a_file_whose_stored_size_is_not_the_recorded_one_is_served_at_its_stored_size(curator):
    # given an export whose row records 1,000 bytes for a manifest of 1,024 stored bytes
    export = ExportFactory(created_by=curator, stored_files=CONTENT)
    Export.objects.filter(pk=export.pk).update(files=[{**export.files[0], "size": 1000}])
    api = APIClient()
    api.force_authenticate(curator)
    url = f"/api/exports/{export.pk}/download/manifest.jsonl"
    # when it is downloaded whole and its last 24 bytes
    whole, tail = api.get(url), api.get(url, headers={"Range": "bytes=-24"})
    # then both answer from the stored file as it is, as when the size was asked of storage
    assert (whole.status_code, whole["Content-Length"], b"".join(whole.streaming_content)) == (200, "1024", CONTENT)
    assert (tail.status_code, tail["Content-Range"], b"".join(tail.streaming_content)) == (
        206,
        "bytes 1000-1023/1024",
        CONTENT[1000:],
    )
