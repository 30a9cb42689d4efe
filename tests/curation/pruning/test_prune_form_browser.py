"""The prune form in a real browser: switching the method keeps what was typed, and the job runs with it; the
submit button waits for the method's form to arrive (a click during the reload did nothing)."""

import pytest
from playwright.sync_api import Page, Route, expect

from jobs.models import Job
from tests.browser import log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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


def test_the_submit_button_waits_while_the_method_change_reloads_the_form(
    live_server, page: Page, small_version, curator
):
    version, _, _ = small_version
    errors = watch_for_errors(page)
    prune_path = f"/datasets/{version.dataset_id}/v/1/prune/"
    log_in(page, live_server.url, curator.username, next_path=prune_path)
    held: list[Route] = []
    page.route("**/prune/?*method=dbp*", lambda route: held.append(route))  # the reload stays in flight

    page.get_by_label("Method").select_option("dbp")
    page.wait_for_function("() => document.querySelector('#prune-form button[type=submit]').disabled")
    submit = page.get_by_role("button", name="Compute the prune run")

    expect(submit).to_be_disabled()
    held[0].continue_()
    expect(page.locator("[data-parameter='eps']")).to_have_count(0)
    expect(submit).to_be_enabled()
    submit.click()
    page.wait_for_url(f"{live_server.url}/jobs/**")
    assert Job.objects.get(kind="prune").params["method"] == "dbp"
    assert errors == []
