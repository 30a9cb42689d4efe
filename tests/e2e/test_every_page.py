"""Every page reachable from the navigation, on a populated database, loads without a console error, an
uncaught page error or a 4xx/5xx response (issue #20).

The database holds one run of every kind made by the real jobs (tests/e2e/populated.py), over samples whose
files exist, so no 404 is expected and none is filtered out. An admin starts at the datasets list and the test
follows every link of the pages it opens (breadth first): one page per URL shape (ids and query values do not
count), files (download links, pictures, /media/, the API's JSON) left out, the Django admin limited to its index and
the change lists of jobs, datasets and sample aliases.
"""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.browser import log_in
from tests.e2e.populated import populate
from tests.e2e.test_browse import watch_for_errors

# The setup runs a dozen real jobs and the crawl opens ~60 pages: minutes on the shared 2-core machine.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.django_db(transaction=True)]

PAGE_LIMIT = 160
LEFT_OUT = ("/accounts/logout/", "/api/", "/media/", "/static/")
# Links to pictures (a Grad-CAM overlay, an evaluation example) open the file, not a page; Chromium then asks
# for /favicon.ico, which Winnow does not serve (pages name an empty icon).
FILE_SUFFIXES = (".png", ".jpg", ".npz", ".zip", ".tar")
ADMIN_PAGES = {"/admin/", "/admin/jobs/job/", "/admin/curation/dataset/", "/admin/curation/samplealias/"}
# The pages the issue lists (as URL shapes); the crawl must reach each of them.
EXPECTED = {
    "/",
    "/datasets/N/",
    "/datasets/N/v/N/samples/",
    "/datasets/N/v/N/samples/N/",
    "/embeddings/maps/N/",
    "/datasets/N/v/N/clusters/",
    "/embeddings/duplicates/N/",
    "/prune-runs/N/",
    "/review/",
    "/review/queues/N/",
    "/jobs/",
    "/jobs/N/",
    "/training/",
    "/training/runs/N/",
    "/evaluations/",
    "/evaluations/N/",
    "/explanations/N/",
    "/explanations/N/gallery/",
    "/spurious/N/",
    "/slices/N/",
    "/reports/confidence/N/",  # a generic report (robustness.reports), reached from the navigation's list
    "/synthetic/",
    "/synthetic/N/",
    "/exports/",
    "/datasets/N/v/N/masks/",
    "/evaluations/compare/?version",
    "/admin/",
    "/admin/jobs/job/",
}


def url_shape(path: str) -> str:
    """'/datasets/3/v/2/samples/?label=cat' -> '/datasets/N/v/N/samples/?label': ids and query values dropped."""
    parts = urlsplit(path)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    shape = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    return f"{shape}?{'&'.join(keys)}" if keys else shape


def followed(href: str, base: str) -> str | None:
    """The path (and query) of a link the crawl opens, or None."""
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != base:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if (parts.path.startswith(LEFT_OUT) and parts.path != "/api/docs/") or parts.path.endswith(FILE_SUFFIXES):
        return None
    if parts.path.startswith("/admin/") and (parts.path not in ADMIN_PAGES or parts.query):
        return None
    return path


def crawl(page: Page, base: str) -> list[str]:
    """Open "/" and then every link found, breadth first, one page per URL shape; the paths opened."""
    queue, shapes, opened = ["/"], set(), []
    while queue and len(opened) < PAGE_LIMIT:
        path = queue.pop(0)
        if url_shape(path) in shapes:
            continue
        shapes.add(url_shape(path))
        try:
            page.goto(f"{base}{path}", wait_until="networkidle")
        except PlaywrightError as error:  # a link to a file (a checkpoint) downloads instead of opening a page
            if "Download is starting" not in str(error):
                raise
            continue
        opened.append(path)
        hrefs = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(link => link.href)")
        queue += [found for href in hrefs if (found := followed(href, base)) is not None]
    return opened


def test_every_page_reachable_from_the_navigation_loads_without_errors(
    live_server, page: Page, admin_user, encoder_name, settings
):
    # given a database with one run of every kind, made by the real jobs, and a superuser (the admin that
    # `manage.py ensure_admin` makes: the Django admin also needs is_staff)
    populate(admin_user, encoder_name)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    page.set_default_timeout(60_000)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username)

    # when the admin's browser opens every page that the links lead to
    opened = crawl(page, live_server.url)

    # then every page the issue lists was reached, and nothing failed on any of them
    assert EXPECTED - {url_shape(path) for path in opened} == set(), opened
    assert len(opened) < PAGE_LIMIT
    assert errors == []
