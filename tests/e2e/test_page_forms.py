"""Page forms in a real browser: a click on "Compute the prune run" while a method change is still reloading the
form (htmx) is not lost, and a form posted from an address with a fragment (`#start-title`, where the loop's
links land) opens the job page without it."""

import re

import pytest
from playwright.sync_api import Page, Route, expect

from jobs.models import Job
from tests.browser import log_in
from tests.curation.pruning.factories import version_with_samples
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JOB_PAGE = re.compile(r".*/jobs/\d+/$")


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


def test_a_form_posted_from_an_address_with_a_fragment_opens_the_job_page_without_it(live_server, page: Page, curator):
    # given the embeddings page opened by the loop's link, which scrolls to the form (#start-title)
    version = version_with_samples(4)
    errors = watch_for_errors(page)
    embeddings_page = f"/datasets/{version.dataset_id}/v/1/embeddings/"
    log_in(page, live_server.url, curator.username, next_path=embeddings_page)
    page.goto(f"{live_server.url}{embeddings_page}#start-title")
    expect(page.locator("#start-title")).to_be_in_viewport()

    # when the curator starts the embedding
    page.get_by_role("button", name="Embed v1").click()

    # then the job page opens at its own address, with no fragment carried over from the form's page
    page.wait_for_url(JOB_PAGE)
    job = Job.objects.get(kind="embed")
    assert page.url == f"{live_server.url}/jobs/{job.pk}/"
    assert page.evaluate("window.location.hash") == ""
    assert errors == []
