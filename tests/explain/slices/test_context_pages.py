"""The foreign context (docs/METHODS.md §13, third round) on the failure-slice pages: each slice's mean context on the
report page and the slice page, the report's context (k, training samples, mean, or why none) in its summary, and
reports made before the context (no `context`, no `mean_context`) rendering a dash."""

import re

import pytest

from explain.slices.services import slice_report_create
from jobs.models import JobStatus
from jobs.services import job_execute
from tests.robustness.evaluation.conftest import add_member

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "min_size": 2}
DASH = "—"


def element_text(html: str, element_id: str, tag: str) -> str:
    """The text of <`tag` id=`element_id`> (no element of the same tag nested in it), whitespace collapsed."""
    match = re.search(rf'<{tag}\b[^>]*\bid="{element_id}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match, f"no <{tag}> #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def as_percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def finished_report(version, trained, user, **params):
    report = slice_report_create(trained_model=trained, version=version, params={**QUICK, **params},
                                 requested_by=user, enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


@pytest.fixture
def test_only_version(eval_version):
    return eval_version({"cat": 6, "dog": 6}, split="test")


@pytest.fixture
def version_with_training(test_only_version):
    """6 + 6 test samples and 8 cat + 2 dog training samples: all 10 are every test sample's neighbours (k 20), so
    a cat sample's foreign context is 2/10 (dog) and a dog sample's 8/10 (cat)."""
    for index, label in enumerate(["cat"] * 8 + ["dog"] * 2):
        add_member(test_only_version, label=label, split="train", index=100 + index)
    return test_only_version


def test_report_and_slice_pages_show_each_slices_foreign_context_and_the_reports(
    version_with_training, stored_model, admin_user, viewer_client
):
    # given a report whose context was read from the version's 10 training samples
    report = finished_report(version_with_training, stored_model(["cat", "dog"]), admin_user)
    slices = report.results["slices"]
    assert slices and report.results["context"]["training_samples"] == 10

    # when the report page is read
    page = viewer_client.get(f"/slices/{report.pk}/").content.decode()

    # then the summary gives the context's mean, k and training samples
    summary = element_text(page, "slices-context", "div")
    assert summary.startswith(f"Foreign context {as_percent(report.results['context']['mean'])} ")
    assert "20 nearest training samples" in summary and "(10 training samples searched)" in summary
    # and each slice shows its own mean context: 20% for cat slices, 80% for dog slices
    expected = {"cat": "20.0%", "dog": "80.0%"}
    for s in slices:
        line = element_text(page, f"slice-{s['number']}-context", "p")
        assert line.startswith(f"Looks like another class's training data: {expected[s['class']]} "), line
        assert as_percent(s["mean_context"]) == expected[s["class"]]
    # and its explanation (the line's title) names the k it was read from
    titles = re.findall(r'id="slice-\d+-context"\s+title="([^"]*)"', page)
    assert len(titles) == len(slices) and all("each sample's 20 nearest training samples:" in t for t in titles)
    # and the slice page shows the same figure
    first = slices[0]
    slice_page = viewer_client.get(f"/slices/{report.pk}/{first['number']}/").content.decode()
    line = element_text(slice_page, f"slice-{first['number']}-context", "p")
    assert line.startswith(f"Looks like another class's training data: {expected[first['class']]} ")


@pytest.mark.parametrize(
    ("params", "why"), [({}, "the version has no training split"), ({"context_k": 0}, "context_k is 0")]
)
def test_a_report_without_a_context_says_why_and_shows_dashes(
    test_only_version, stored_model, admin_user, viewer_client, params, why
):
    # given a report that has no foreign context: no training split, or context_k 0
    report = finished_report(test_only_version, stored_model(["cat", "dog"]), admin_user, **params)
    assert report.results["context"]["skipped"] == why

    page = viewer_client.get(f"/slices/{report.pk}/").content.decode()

    # then the summary says none and why, and each slice shows a dash
    assert element_text(page, "slices-context", "div") == f"Foreign context none ({why})"
    for s in report.results["slices"]:
        line = element_text(page, f"slice-{s['number']}-context", "p")
        assert line.startswith(f"Looks like another class's training data: {DASH} "), line


def test_a_report_made_before_the_foreign_context_renders_with_dashes(
    version_with_training, stored_model, admin_user, viewer_client
):
    # given a report whose results are stored as before the third round: no `context`, no slice `mean_context`
    report = finished_report(version_with_training, stored_model(["cat", "dog"]), admin_user)
    results = dict(report.results)
    del results["context"]
    results["slices"] = [{k: v for k, v in s.items() if k != "mean_context"} for s in results["slices"]]
    report.results = results
    report.save(update_fields=["results"])
    first = results["slices"][0]

    page = viewer_client.get(f"/slices/{report.pk}/")
    slice_page = viewer_client.get(f"/slices/{report.pk}/{first['number']}/")

    # then both pages render, the summary says the report predates the context, and the slices show a dash
    assert page.status_code == slice_page.status_code == 200
    html = page.content.decode()
    assert element_text(html, "slices-context", "div") == (
        f"Foreign context {DASH} (this report was made before the foreign context)"
    )
    for s in results["slices"]:
        line = element_text(html, f"slice-{s['number']}-context", "p")
        assert line.startswith(f"Looks like another class's training data: {DASH} "), line
    line = element_text(slice_page.content.decode(), f"slice-{first['number']}-context", "p")
    assert line.startswith(f"Looks like another class's training data: {DASH} ")
