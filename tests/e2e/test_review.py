"""A reviewer works through a queue in a real browser with the keyboard only (issue part 2).

Number keys toggle candidates, y/m/n vote on the focused label, a adds a label by typing, u undoes,
Enter submits and shows the next item (fetched before Enter was pressed), s skips, z zooms.
"""

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from curation.models import VersionSample
from curation.review.models import AssignmentState, ItemState, ReviewAssignment, ReviewVote
from curation.review.services.queues import review_queue_create
from tests.curation.review.conftest import embedding_set_with_index, proposals_add
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def votes_of(item) -> list[tuple[str, str, str, bool, bool]]:
    return [
        (v.label, v.value, v.origin, v.is_current, v.undone_at is not None)
        for v in ReviewVote.objects.filter(item=item).order_by("id")
    ]


def test_a_reviewer_works_through_a_queue_with_the_keyboard_only(
    live_server, page: Page, browse_dataset: BrowseDataset, reviewer, tmp_path
):
    # given three cats with a proposal "dog", neighbours from an embedding set, and a queue assigned to the reviewer
    version = browse_dataset.version
    members = list(VersionSample.objects.filter(version=version).order_by("sample_id"))
    index = {"cat": 0, "dog": 1, "bird": 2}
    vectors = np.eye(3, 8)[[index[m.label] for m in members]] + np.random.default_rng(0).normal(
        0, 0.05, (len(members), 8)
    )
    embedding_set_with_index(version, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), tmp_path)
    cats = browse_dataset.samples_by_label["cat"][:3]
    proposals_add(version, [(sample_id, "dog", 0.8 - i / 10, 0.7) for i, sample_id in enumerate(cats)])
    queue = review_queue_create(version=version, name="keyboard", reviewer_ids=[reviewer.pk])
    first, second, third = queue.items.order_by("position")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors = watch_for_errors(page)
    status = page.locator("#review-status")

    # when the reviewer opens the queue's work link
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/review/queues/{queue.pk}/work/")

    # then the first item is shown with its candidates, sources, scores and labelled neighbours
    page.wait_for_url(f"{live_server.url}/review/items/{first.pk}/")
    candidates = page.locator(".candidate")
    expect(candidates).to_have_count(2)
    expect(candidates.nth(0)).to_contain_text("cat")
    expect(candidates.nth(1)).to_contain_text("dog")
    expect(candidates.nth(1)).to_contain_text("confident_learning 0.80")
    expect(page.locator("#neighbours li").first).to_contain_text("cat")
    page.wait_for_function("Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")

    # item 1: 2 toggles dog to yes; 1 toggles cat to yes, n turns the focused cat into no; z zooms; Enter
    page.keyboard.press("2")
    expect(status).to_have_text("Voted yes on dog.")
    page.keyboard.press("1")
    expect(status).to_have_text("Voted yes on cat.")
    page.keyboard.press("n")
    expect(status).to_have_text("Voted no on cat.")
    expect(candidates.nth(0).locator(".vote-no")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("z")
    expect(page.locator("#review-zoom")).to_have_class("review-zoom is-zoomed")
    page.wait_for_function(
        f"performance.getEntriesByType('resource').some(e => e.name.includes('/review/items/{second.pk}/?partial=1'))"
    )
    prefetched_before_enter = any(f"/review/items/{second.pk}/?partial=1" in url for url in requested)
    page.keyboard.press("Enter")

    # item 2 was prefetched; a adds "bird" by typing part of it; m votes maybe on it; u undoes that; Enter
    page.wait_for_url(f"{live_server.url}/review/items/{second.pk}/")
    assert prefetched_before_enter
    page.keyboard.press("a")
    expect(page.locator("#add-label-input")).to_be_focused()
    page.keyboard.type("bir")
    expect(page.locator("#taxonomy-matches li.is-first")).to_have_text("bird")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Added bird (yes).")
    expect(candidates).to_have_count(3)
    expect(page.locator(".candidate.is-focused")).to_contain_text("bird")
    page.keyboard.press("m")
    expect(status).to_have_text("Voted maybe on bird.")
    page.keyboard.press("u")
    expect(status).to_have_text("Undid your maybe on bird.")
    expect(candidates.nth(2).locator(".vote-yes")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")

    # item 3: s skips it; nothing is left for this reviewer
    page.wait_for_url(f"{live_server.url}/review/items/{third.pk}/")
    page.keyboard.press("s")
    page.wait_for_url(f"{live_server.url}/review/queues/{queue.pk}/work/")
    expect(page.locator("#queue-done")).to_contain_text("Nothing left for you")

    # and every vote is recorded, once, with the undone one kept; consensus closed the two submitted items
    for item in (first, second, third):
        item.refresh_from_db()
    assert votes_of(first) == [
        ("dog", "yes", "review", True, False),
        ("cat", "yes", "review", False, False),
        ("cat", "no", "review", True, False),
    ]
    assert votes_of(second) == [
        ("bird", "yes", "review", True, False), ("bird", "maybe", "review", False, True),
        ("cat", "no", "implicit", True, False), ("dog", "no", "implicit", True, False),
    ]  # fmt: skip
    assert (first.state, first.consensus_labels) == (ItemState.AGREED, ["dog"])
    assert (second.state, second.consensus_labels) == (ItemState.AGREED, ["bird"])
    assert (third.state, ReviewAssignment.objects.get(item=third).state) == (ItemState.OPEN, AssignmentState.SKIPPED)
    assert errors == []
