"""The grid's and the sample page's reads in fixed SQL text give what the ORM's querysets gave: the version with its
dataset and job, a sample's other file names and its tags."""

from functools import partial

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from curation.models import DatasetVersion, Sample, SampleAlias, SampleTag
from curation.selectors import sample_duplicate_names
from frontend.selectors import sample_names, version_of_dataset
from frontend.templatetags.page_urls import id_url, page_url
from jobs.models import Job
from tests.factories import DatasetVersionFactory, JobFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version() -> DatasetVersion:
    version = DatasetVersionFactory(sample_count=2, dataset__classes=["cat", "dog"])
    for label in ("cat", "dog"):
        VersionSampleFactory(version=version, label=label)
    return version


def test_the_version_is_read_as_the_orm_read_it(version):
    with_job = DatasetVersionFactory(dataset=version.dataset, job=JobFactory(params={"a": [1]}))
    for found_version in (version, with_job):
        orm = DatasetVersion.objects.select_related("dataset", "job").get(pk=found_version.pk)

        found = version_of_dataset(dataset_id=orm.dataset_id, number=orm.number)

        fields = DatasetVersion._meta.concrete_fields
        assert [getattr(found, f.attname) for f in fields] == [getattr(orm, f.attname) for f in fields]
        dataset_fields = type(orm.dataset)._meta.concrete_fields
        assert [getattr(found.dataset, f.attname) for f in dataset_fields] == [
            getattr(orm.dataset, f.attname) for f in dataset_fields
        ]
        job_fields = Job._meta.concrete_fields
        assert [getattr(found.job, f.attname, None) for f in job_fields] == [
            getattr(orm.job, f.attname, None) for f in job_fields
        ]
        assert (found.dataset_id, found.job_id, found._state.adding) == (orm.dataset_id, orm.job_id, False)
    assert version_of_dataset(dataset_id=version.dataset_id, number=version.number + 100) is None


def test_a_samples_names_are_read_as_the_orm_read_them(version):
    # given two samples with tags (one on both), one with its own name and two copies' names as aliases (one twice)
    first, second = (member.sample for member in version.members.order_by("sample_id"))
    for name, samples in (("zebra", [first]), ("Apple", [first, second]), ("mid", [second]), ("apple", [second])):
        SampleTag.objects.create(dataset=version.dataset, name=name).samples.set(samples)
    for name in (first.original_name, "copies/b.png", "copies/a.png", "copies/b.png"):
        SampleAlias.objects.create(dataset=version.dataset, sample=first, original_name=name)
    other = SampleFactory(dataset=version.dataset)
    SampleAlias.objects.create(dataset=version.dataset, sample=other, original_name="x")

    found = [sample_names(sample) for sample in (first, second)]

    # then the aliases are sample_duplicate_names's, the tags what sample.tags.order_by("name") gave
    assert [(names.aliases, names.tags) for names in found] == [
        (sample_duplicate_names(sample=sample), list(sample.tags.order_by("name").values_list("name", flat=True)))
        for sample in (first, second)
    ]
    assert found[0].aliases == ["copies/b.png", "copies/a.png"] and found[1].aliases == []
    assert sorted(found[0].tags) == ["Apple", "zebra"] and sorted(found[1].tags) == ["Apple", "apple", "mid"]


def test_page_urls_are_what_reverse_gives_under_each_script_prefix(version):
    member = version.members.order_by("sample_id").first()
    args = (version.dataset_id, version.number, member.sample_id)

    for prefix in ("/", "/winnow/", "/"):
        set_script_prefix(prefix)
        found = (page_url("frontend:sample_grid", *args[:2]), id_url("frontend:sample_detail", *args))
        expected = (reverse("frontend:sample_grid", args=args[:2]), reverse("frontend:sample_detail", args=args))
        assert found == expected and found[0].startswith(prefix)
    assert id_url("frontend:sample_mask_overlay", 7) == reverse("frontend:sample_mask_overlay", args=[7])


def test_the_sample_pages_links_are_what_its_url_tags_wrote(viewer_client, version):
    # given a member with a tag, a mask and a member on either side of it (in the grid's "-id" order)
    first, middle, last = (VersionSampleFactory(version=version, label="cat") for _ in range(3))
    SampleTag.objects.create(dataset=version.dataset, name="blurry <1>").samples.add(middle.sample)
    Sample.objects.filter(pk=middle.sample_id).update(mask_key="masks/x.png")
    url = reverse("frontend:sample_detail", args=[version.dataset_id, version.number, middle.sample_id])

    html = viewer_client.get(url, {"sort": "-id"}).content.decode()

    # then every link of the page is the one {% url %} reversed
    grid = reverse("frontend:sample_grid", args=[version.dataset_id, version.number])
    detail = partial(reverse, "frontend:sample_detail")
    for link in (
        f'href="{grid}?sort=-id"',
        f'href="{detail(args=[version.dataset_id, version.number, last.sample_id])}?sort=-id"',
        f'href="{detail(args=[version.dataset_id, version.number, first.sample_id])}?sort=-id"',
        f'href="{reverse("frontend:sample_image", args=[middle.sample_id])}?download=1"',
        f'src="{reverse("frontend:sample_image", args=[middle.sample_id])}"',
        f'src="{reverse("frontend:sample_mask_overlay", args=[middle.sample_id])}?colour=',
        f'href="{grid}?tag=blurry%20%3C1%3E">blurry &lt;1&gt;</a>',
    ):
        assert link in html, link


def test_the_page_url_tag_writes_what_the_url_tag_wrote(version):
    context = Context({"dataset": version.dataset, "version": version})
    links = (
        "{% TAG 'frontend:dataset_list' %}|{% TAG 'frontend:dataset_detail' dataset.pk %}?version={{ version.number }}|"
        "{% TAG 'frontend:grid_selection_map' dataset.pk version.number as map %}{{ map }}"
    )

    written = [Template("{% load page_urls %}" + links.replace("TAG", t)).render(context) for t in ("page_url", "url")]

    assert written[0] == written[1] and written[0].count("/") > 6
