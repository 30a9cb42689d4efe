"""The prune form in a real browser: switching the method keeps what was typed, and the job runs with it; a click
on the submit button while the method's form is still loading waits for it and then starts the run (disabling the
button during the reload made such a click do nothing)."""

import re

import pytest
from playwright.sync_api import Page, Route, expect

from jobs.models import Job
from tests.browser import log_in
from tests.curation.pruning.factories import version_with_samples
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JOB_PAGE = re.compile(r".*/jobs/\d+/$")


def test_switching_the_method_keeps_the_typed_keep_fraction(live_server, page: Page, small_version, curator):
    version, _, _ = small_version
    errors = watch_for_errors(page)
    prune_path = f"/datasets/{version.dataset_id}/v/1/prune/"
    log_in(page, live_server.url, curator.username, next_path=prune_path)

    page.locator("#id_keep_fraction").fill("0.8")
    page.locator("#id_tau").fill("0.2")
    with page.expect_response(lambda response: "method=dbp" in response.url):
        page.get_by_label("Method").select_option("dbp")

    expect(page.locator("[data-parameter='eps']")).to_have_count(0)
    expect(page.locator("#id_keep_fraction")).to_have_value("0.8")
    expect(page.locator("#id_tau")).to_have_value("0.2")
    page.get_by_role("button", name="Compute the prune run").click()
    page.wait_for_url(f"{live_server.url}/jobs/**")
    job = Job.objects.get(kind="prune")
    assert (job.params["method"], job.params["keep_fraction"], job.params["tau"]) == ("dbp", 0.8, 0.2)
    assert errors == []


def test_compute_clicked_while_a_method_change_reloads_the_form_starts_the_run_with_the_new_method(
    live_server, page: Page, curator
):
    # given the prune page of a version, its method reloads held in the network until the test lets them through
    version = version_with_samples(8)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/datasets/{version.dataset_id}/v/1/prune/")
    held: list[Route] = []

    def hold_method_reloads(route: Route) -> None:
        if route.request.method == "GET" and route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r".*/prune/(\?.*)?$"), hold_method_reloads)

    # when the curator picks the random control and, while its fields are still loading, clicks "Compute" where the
    # button is (a person's click: no waiting for the button to be enabled, as Playwright's click would)
    page.get_by_label("Method").select_option(label="Random (control)")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1
    compute = page.get_by_role("button", name="Compute the prune run")
    compute.scroll_into_view_if_needed()
    box = compute.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    held[0].continue_()

    # then the click waited for the random method's fields and started that run: the job page opens
    page.wait_for_url(JOB_PAGE)
    job = Job.objects.get(kind="prune")
    assert (job.params["method"], job.params["version_id"]) == ("random", version.pk)
    assert page.url == f"{live_server.url}/jobs/{job.pk}/"
    assert errors == []
