"""The sample page: labels with origins, file facts, duplicates, provenance, mask toggle, neighbours."""

import html
import json
import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from curation.models import SampleAlias
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.frontend.page_text import attribute_values

pytestmark = pytest.mark.django_db


def detail_url(member, **query: str) -> str:
    url = reverse("frontend:sample_detail", args=[member.version.dataset_id, member.version.number, member.sample_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def multi_label_member():
    """A dog that a model also sees a cat in, with a mask, a caption, provenance and a duplicate file."""
    version = DatasetVersionFactory(number=3, sample_count=1)
    sample = SampleFactory(
        dataset=version.dataset,
        original_name="pets/dog_001.png",
        file_size=123_456,
        caption="a dog on a sofa",
        provenance={"original_path": "pets/dog_001.png", "generator": None, "seed": 7},
        mask_box=(4, 4, 20, 16),
    )
    for name in ("pets/dog_001.png", "copies/dog_001 (1).png", "copies/dog_001 (2).png"):
        SampleAlias.objects.create(dataset=version.dataset, sample=sample, original_name=name)
    return VersionSampleFactory(
        version=version,
        sample=sample,
        label="dog",
        split="val",
        labels=[{"label": "dog", "origin": "import"}, {"label": "cat", "origin": "model"}],
    )


def test_sample_page_shows_labels_with_origins_split_and_file_facts(viewer_client, multi_label_member):
    # when the sample page is opened
    response = viewer_client.get(detail_url(multi_label_member))

    # then the primary label, the label set with origins and the split are shown
    page = response.content.decode()
    assertContains(response, '<span class="chip chip-primary">dog</span> <span class="muted">import</span>', count=1)
    assertContains(response, '<span class="chip">dog</span> <span class="muted">import</span>', count=1)
    assertContains(response, '<span class="chip">cat</span> <span class="muted">model</span>', count=1)
    assertContains(response, '<span class="split-dot split-val" aria-hidden="true"></span>val', count=1)
    # and the file's facts, its exact duplicates (not its own name) and its caption
    sample = multi_label_member.sample
    for fact in ("32 × 24 px", "PNG · RGB", "123,456", "(120.6\xa0KB)", sample.sha256, "a dog on a sofa"):
        assert fact in page, fact
    assertContains(
        response,
        '<ul class="alias-list" id="aliases"><li class="break">copies/dog_001 (1).png</li>'
        '<li class="break">copies/dog_001 (2).png</li></ul>',
        html=True,
    )


def test_sample_page_pretty_prints_the_provenance(viewer_client, multi_label_member):
    response = viewer_client.get(detail_url(multi_label_member))
    pretty = json.dumps(multi_label_member.sample.provenance, indent=2, sort_keys=True)
    assertContains(response, f'<pre class="code" id="provenance">{html.escape(pretty, quote=True)}</pre>', count=1)


def test_sample_page_shows_the_full_image_enlarged_with_a_hidden_mask_overlay(viewer_client, multi_label_member):
    # given a 32 × 24 sample with a mask, when its page is opened
    response = viewer_client.get(detail_url(multi_label_member))
    sample_id = multi_label_member.sample_id

    # then the original is shown scaled by 12 (to a 384 px longest side) with the overlay hidden below a toggle
    page = response.content.decode()
    assert [src for src in attribute_values(page, "src") if "/media/" in src] == [
        f"/media/samples/{sample_id}/image",
        f"/media/samples/{sample_id}/mask-overlay?colour=e0913b",  # dog: class 2 of cat, dog
    ]
    assertContains(response, 'width="384"', count=1)
    assertContains(response, 'height="288"', count=1)
    assertContains(response, '<input type="checkbox" id="mask-toggle" aria-controls="mask-overlay">', count=1)
    assertContains(response, 'alt="Object mask"\n                 hidden>', count=1)
    assertContains(response, f'href="/media/samples/{sample_id}/image?download=1"', count=1)


def test_the_mask_has_its_class_colour_and_a_legend_and_the_image_opens_a_zoom_dialog(
    viewer_client, multi_label_member
):
    # when the page of a dog (class 2 of cat, dog: #e0913b on every chart) with a mask is opened
    page = viewer_client.get(detail_url(multi_label_member)).content.decode()

    # then the overlay is asked for in that colour, a legend names the class beside the toggle
    legend = re.search(
        r'<span class="mask-legend" id="mask-legend">\s*<span class="swatch" style="background: (#[0-9a-f]{6})"'
        r' aria-hidden="true"></span>\s*(\S+)\s*</span>',
        page,
    )
    assert legend is not None and legend.groups() == ("#e0913b", "dog")
    # and the image opens a zoom dialog driven by zoom.js
    assert 'class="viewer-stack js-zoomable' in page and '<dialog class="zoom-dialog" id="zoom-dialog"' in page
    assert '<script src="/static/frontend/zoom.js" defer></script>' in page


def test_sample_without_a_mask_has_no_toggle(viewer_client):
    member = VersionSampleFactory()
    response = viewer_client.get(detail_url(member))
    assertContains(response, "No mask for this sample", count=1)
    assertNotContains(response, "mask-toggle")
    assertNotContains(response, "mask-overlay")


def test_a_tiff_sample_is_shown_through_its_thumbnail(viewer_client):
    member = VersionSampleFactory(sample__format="TIFF")
    response = viewer_client.get(detail_url(member))
    assertContains(response, f'src="/media/samples/{member.sample_id}/thumbnail"', count=1)
    assertContains(response, "Browsers cannot display TIFF files; showing the thumbnail.", count=1)


def test_previous_and_next_follow_the_grid_filters(viewer_client):
    # given a version of cat, dog, cat, dog, cat (in sample-id order)
    version = DatasetVersionFactory(sample_count=5)
    members = [VersionSampleFactory(version=version, label=label) for label in ["cat", "dog", "cat", "dog", "cat"]]

    # when the middle cat is opened from the grid filtered on cats, and the first and last cats too
    middle = viewer_client.get(detail_url(members[2], label="cat"))
    first = viewer_client.get(detail_url(members[0], label="cat"))
    unfiltered = viewer_client.get(detail_url(members[2]))

    # then previous/next skip the dogs and keep the filter; the first cat has no previous
    assert (middle.context["neighbors"].previous_id, middle.context["neighbors"].next_id) == (
        members[0].sample_id,
        members[4].sample_id,
    )
    assertContains(middle, f'href="{detail_url(members[4], label="cat")}">Next', count=1)
    assertContains(middle, f'href="{detail_url(members[0], label="cat")}">← Previous', count=1)
    assert (first.context["neighbors"].previous_id, first.context["neighbors"].next_id) == (
        None,
        members[2].sample_id,
    )
    assertContains(first, '<span class="button is-disabled" aria-disabled="true">← Previous</span>', count=1)
    assert (unfiltered.context["neighbors"].previous_id, unfiltered.context["neighbors"].next_id) == (
        members[1].sample_id,
        members[3].sample_id,
    )


def test_a_sample_outside_the_version_is_404(viewer_client):
    # given a sample in v1 only, and v2 of the same dataset
    member = VersionSampleFactory()
    other = DatasetVersionFactory(dataset=member.version.dataset)
    url = reverse("frontend:sample_detail", args=[member.version.dataset_id, other.number, member.sample_id])

    # when it is opened in v2, then it is not found
    assert viewer_client.get(url).status_code == 404


def test_sample_page_costs_a_fixed_number_of_queries(viewer_client, multi_label_member, django_assert_num_queries):
    # session, user with roles, the version with its dataset, member+sample, previous and next (one select of two
    # subqueries), aliases and tags (one UNION); it was 10: the dataset and the version apart, previous and next
    # apart, then 8: aliases and tags apart
    with django_assert_num_queries(6):
        viewer_client.get(detail_url(multi_label_member, label="dog"))
