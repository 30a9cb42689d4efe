"""The import page /datasets/import/: form, htmx upload with progress, redirect to the job page."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from curation.models import Dataset
from jobs.models import Job
from tests.curation.test_import_helpers import jpeg, media_files, source_folder, write_files, zip_bytes

pytestmark = pytest.mark.django_db
URL = "/datasets/import/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def zip_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("pets.zip", zip_bytes({"cat/a.jpg": jpeg(1)}), content_type="application/zip")


def test_a_curator_sees_the_upload_form_with_a_progress_bar_but_no_server_path(curator):
    # given a curator
    # when opening the page
    response = client_for(curator).get(URL)
    # then the htmx form, its progress bar and its listener are there, the server path field is not
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-encoding="multipart/form-data"' in html
    assert '<progress id="upload-progress"' in html
    assert "htmx:xhr:progress" in html
    assert 'name="source"' not in html


def test_an_admin_also_gets_the_server_path_field(admin_user):
    # given an admin
    # when opening the page
    html = client_for(admin_user).get(URL).content.decode()
    # then the server path can be given
    assert 'name="source"' in html


def test_a_viewer_is_refused(viewer):
    # given a viewer
    # when opening the page
    response = client_for(viewer).get(URL)
    # then 403
    assert response.status_code == 403


def test_an_htmx_upload_redirects_the_browser_to_the_job_page(curator):
    # given a curator posting a zip through htmx
    client = client_for(curator)
    # when posted
    response = client.post(URL, {"file": zip_upload(), "name": "pets", "format": "auto"}, HTTP_HX_REQUEST="true")
    # then htmx is told to go to the job page, and the job waits with the stored upload
    job = Job.objects.get()
    assert (response.status_code, response["HX-Redirect"]) == (200, f"/jobs/{job.pk}/")
    assert (job.kind, job.requested_by, job.params["name"], job.params["upload_name"]) == (
        "import_dataset", curator, "pets", "pets.zip",
    )  # fmt: skip
    assert media_files() == [job.params["source"]]


def test_a_plain_post_redirects_to_the_job_page(curator):
    # given a browser without JavaScript
    client = client_for(curator)
    # when the form is posted
    response = client.post(URL, {"file": zip_upload(), "name": "plain", "format": "zip"})
    # then a normal redirect
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{Job.objects.get().pk}/")


def test_an_admin_imports_a_server_path_from_the_page(admin_user, tmp_path: Path):
    # given a server folder
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when an admin names it
    response = client_for(admin_user).post(URL, {"source": str(folder), "name": "server", "format": "auto"})
    # then the job has the path
    assert response.status_code == 302
    assert Job.objects.get().params["source"] == str(folder)


def test_errors_rerender_the_form_partial_for_htmx(curator):
    # given a dataset named pets
    Dataset.objects.create(name="pets")
    # when a curator posts a zip under that name, and then a non-zip
    taken = client_for(curator).post(
        URL, {"file": zip_upload(), "name": "pets", "format": "auto"}, HTTP_HX_REQUEST="true"
    )
    not_zip = SimpleUploadedFile("a.zip", b"plain text", content_type="application/zip")
    bad = client_for(curator).post(URL, {"file": not_zip, "name": "other", "format": "auto"}, HTTP_HX_REQUEST="true")
    # then only the form comes back, each with its message, and nothing was stored
    taken_html, bad_html = taken.content.decode(), bad.content.decode()
    assert taken_html.startswith('<form id="import-form"')
    assert "A dataset named &#x27;pets&#x27; already exists." in taken_html
    assert "The upload is not a zip archive." in bad_html
    assert (Job.objects.count(), media_files()) == (0, [])


def test_a_post_without_a_file_asks_for_one(curator):
    # given a curator
    # when posting only a name
    response = client_for(curator).post(URL, {"name": "nothing", "format": "auto"})
    # then the whole page comes back with the reason
    assert response.status_code == 200
    assert "Choose a zip archive to import." in response.content.decode()
