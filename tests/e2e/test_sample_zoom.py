"""The sample page's zoom (zoom.js) and its mask in the class colour, in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from curation.models import Sample
from tests.e2e.conftest import BrowseDataset, log_in
from tests.e2e.test_browse import watch_for_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_clicking_the_image_opens_it_at_natural_size_and_the_wheel_zooms_and_a_drag_pans(
    live_server, page: Page, browse_dataset: BrowseDataset, viewer
):
    # given a viewer on the page of a dog (class 2 of cat, dog, bird: #e0913b)
    dataset, version = browse_dataset.dataset, browse_dataset.version
    dog = Sample.objects.get(pk=browse_dataset.samples_by_label["dog"][0])
    path = f"/datasets/{dataset.pk}/v/{version.number}/samples/{dog.pk}/"
    errors = watch_for_errors(page)
    log_in(page, live_server.url, viewer.username, next_path=path)

    # then the mask legend names the class in its colour, and the overlay is drawn in it
    expect(page.locator("#mask-legend")).to_have_text("dog")
    swatch = page.locator("#mask-legend .swatch").evaluate("s => getComputedStyle(s).backgroundColor")
    assert swatch == "rgb(224, 145, 59)"
    assert page.locator("#mask-overlay").get_attribute("src").endswith("?colour=e0913b")

    # when the image is clicked
    page.locator("#sample-image").click()

    # then a dialog shows the original at its natural size, at 100%
    dialog = page.locator("#zoom-dialog")
    expect(dialog).to_be_visible()
    image = page.locator("#zoom-image")
    page.wait_for_function("document.getElementById('zoom-image').complete")
    assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [dog.width, dog.height]
    assert image.evaluate("i => Math.round(i.getBoundingClientRect().width)") == dog.width
    expect(page.locator("#zoom-scale")).to_have_text("100%")

    # when the wheel turns towards the image (zoom in) over it, then it is drawn larger
    box = page.locator("#zoom-stage").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.wheel(0, -400)
    page.wait_for_function("Number(document.getElementById('zoom-image').dataset.scale) > 1.5")
    scale = float(image.get_attribute("data-scale"))
    assert image.evaluate("i => Math.round(i.getBoundingClientRect().width)") == round(dog.width * scale)

    # when it is dragged 50 px right, then it moves 50 px right
    left = image.evaluate("i => i.getBoundingClientRect().left")
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 100, steps=5)
    page.mouse.up()
    assert round(image.evaluate("i => i.getBoundingClientRect().left") - left) == 50

    # and Close closes it
    page.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    assert errors == []
