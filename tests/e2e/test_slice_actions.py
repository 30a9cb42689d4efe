"""A failure slice's two new actions in a real browser: the report page's "Evaluate with these slices as groups"
opens an evaluation whose page lists each slice's accuracy next to the overall one, and the slice page's
"Make a synthetic plan of this slice" plans a batch for the slice's class and opens the batch page.

Jobs are run in the test's process (job_execute) where the page waits for one; the plan's generation job is
only queued (its images are not what this test is about)."""

import pytest
from playwright.sync_api import Page, expect

from curation.synthetic.models import SyntheticBatch
from explain.slices.services import slice_report_create
from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from tests.e2e.conftest import log_in
from tests.e2e.test_browse import watch_for_errors
from tests.robustness.evaluation.conftest import add_member, eval_version, stored_model  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WEIGHTS_ROOT = "/nowhere"


@pytest.fixture
def report(eval_version, stored_model, admin_user):  # noqa: F811  (the fixtures imported above)
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    for index, label in enumerate(["cat"] * 3 + ["dog"] * 3):
        add_member(version, label=label, split="train", index=100 + index)
    report = slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version,
                                 params={"device": "cpu", "min_size": 2}, requested_by=admin_user,
                                 enqueue=False)  # fmt: skip
    assert job_execute(report.job_id).status == JobStatus.SUCCEEDED
    report.refresh_from_db()
    return report


def test_a_slice_report_evaluates_a_model_with_its_slices_and_a_slice_becomes_a_plan(
    live_server, page: Page, report, admin_user, settings
):
    settings.WEIGHTS_ROOTS = [WEIGHTS_ROOT]
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username, next_path=f"/slices/{report.pk}/")

    # the report page: evaluate its own model with the slices as groups
    section = page.locator("#slice-evaluation")
    expect(section.get_by_label("Evaluate model")).to_have_value(str(report.trained_model_id))
    section.get_by_role("button", name="Evaluate with these slices as groups").click()
    page.wait_for_url(f"{live_server.url}/evaluations/*/")
    run = EvaluationRun.objects.get()
    assert run.params["slice_reports"] == [report.pk] and run.split == report.split
    assert job_execute(run.job_id).status == JobStatus.SUCCEEDED
    page.reload()
    groups = page.locator(f"#slice-groups-{report.pk}")
    expect(groups).to_be_visible()
    expect(groups.locator("tbody tr")).to_have_count(1 + len(report.results["slices"]))
    worst = report.results["slices"][0]
    expect(groups.locator(f"#slice-group-{report.pk}-{worst['number']}")).to_contain_text(
        f"#{worst['number']} {worst['class']}"
    )

    # the slice page: one click plans a synthetic batch for the slice's class
    page.goto(f"{live_server.url}/slices/{report.pk}/{worst['number']}/")
    form = page.locator("#slice-plan-form")
    form.get_by_label("Generator").fill(f"diffusers:{WEIGHTS_ROOT}/tiny-sd")
    form.get_by_role("button", name="Make a synthetic plan of this slice").click()
    page.wait_for_url(f"{live_server.url}/synthetic/*/")
    batch = SyntheticBatch.objects.get()
    assert (batch.plan_source, batch.slice_report_id, batch.slice_number) == ("slice_report", report.pk,
                                                                               worst["number"])  # fmt: skip
    assert {item["class"] for item in batch.plan} == {worst["class"]}
    expect(page.locator("body")).to_contain_text(f"Batch {batch.pk} planned")
    assert errors == []
