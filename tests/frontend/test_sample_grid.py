"""The sample grid: exact filtered pages in id order, keyset cursors, htmx partials, constant queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertTemplateNotUsed, assertTemplateUsed

from curation.models import DatasetVersion, Sample, VersionSample
from curation.selectors import sample_list, sample_page
from frontend.pages import datasets as dataset_pages
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.frontend.page_text import attribute_values

pytestmark = pytest.mark.django_db

# (label, split, source) of the members, in sample-id order.
MEMBERS = [
    ("cat", "train", "real"),
    ("dog", "train", "real"),
    ("cat", "val", "synthetic"),
    ("bird", "test", "real"),
    ("cat", "train", "real"),
    ("dog", "val", "synthetic"),
    ("cat", "test", "real"),
    ("cat", "train", "synthetic"),
]


@pytest.fixture
def version() -> DatasetVersion:
    version = DatasetVersionFactory(sample_count=len(MEMBERS), dataset__classes=["cat", "dog", "bird"])
    for label, split, source in MEMBERS:
        sample = SampleFactory(dataset=version.dataset, source=source)
        VersionSampleFactory(version=version, sample=sample, label=label, split=split)
    # a sample of another version of the same dataset never shows up here
    VersionSampleFactory(version=DatasetVersionFactory(dataset=version.dataset), label="cat")
    return version


def member_ids(version: DatasetVersion, **wanted: str) -> list[int]:
    """The sample ids the grid should show, computed the slow obvious way."""
    members = VersionSample.objects.filter(version=version).select_related("sample").order_by("sample_id")
    rows = [(m.sample_id, {"label": m.label, "split": m.split, "source": m.sample.source}) for m in members]
    return [sample_id for sample_id, facts in rows if all(facts[k] == v for k, v in wanted.items())]


def grid_url(version: DatasetVersion) -> str:
    return reverse("frontend:sample_grid", args=[version.dataset_id, version.number])


def shown_ids(response) -> list[int]:
    return [int(value) for value in attribute_values(response.content.decode(), "data-sample-id")]


@pytest.mark.parametrize(
    "filters",
    [{}, {"label": "cat"}, {"split": "train"}, {"source": "synthetic"}, {"label": "cat", "split": "train"}],
    ids=["all", "label", "split", "source", "label+split"],
)
def test_grid_shows_exactly_the_filtered_samples_in_id_order(viewer_client, version, filters):
    # given a version of 8 members, when the grid is opened with filters
    response = viewer_client.get(grid_url(version), filters)

    # then it shows exactly the matching members in sample-id order, and says how many match
    expected = member_ids(version, **filters)
    assert shown_ids(response) == expected
    assert response.context["matching"] == len(expected)
    assert response.context["page"].next_after is None


def test_grid_thumbnails_are_lazy_and_link_to_the_sample_with_the_filters(viewer_client, version):
    # given the grid filtered by label
    response = viewer_client.get(grid_url(version), {"label": "dog"})
    first, second = member_ids(version, label="dog")

    # then each card lazy-loads its thumbnail and opens the sample keeping the filter
    html = response.content.decode()
    assert attribute_values(html, "loading") == ["lazy", "lazy"]
    assert [src for src in attribute_values(html, "src") if "/media/" in src] == [
        f"/media/samples/{first}/thumbnail",
        f"/media/samples/{second}/thumbnail",
    ]
    detail = reverse("frontend:sample_detail", args=[version.dataset_id, version.number, first])
    assertContains(response, f'href="{detail}?label=dog"', count=1)
    assertContains(response, "2 of 8 samples match", count=1)


def test_grid_shows_a_badge_on_multi_label_samples(viewer_client):
    # given one member with two labels and one with one
    version = DatasetVersionFactory(sample_count=2)
    VersionSampleFactory(version=version, label="dog")
    multi = VersionSampleFactory(
        version=version, label="dog", labels=[{"label": "dog", "origin": "import"}, {"label": "cat", "origin": "model"}]
    )

    # when the grid is opened
    response = viewer_client.get(grid_url(version))

    # then only the multi-label card has the badge, naming the labels
    assertContains(response, '<span class="badge badge-multi"', count=1)
    assertContains(response, 'title="Labels: dog, cat">2 labels</span>', count=1)
    assert shown_ids(response)[-1] == multi.sample_id


def test_keyset_pages_cover_the_filtered_set_with_no_overlap_or_gap(viewer_client, version, monkeypatch):
    # given pages of 2 and the filter label=cat (5 members)
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 2)
    cats = member_ids(version, label="cat")

    # when the "Next" cursor is followed until the last page
    pages, params = [], {"label": "cat"}
    while True:
        response = viewer_client.get(grid_url(version), params)
        pages.append(shown_ids(response))
        next_after = response.context["page"].next_after
        if next_after is None:
            break
        assertContains(response, f'href="{grid_url(version)}?label=cat&amp;after={next_after}"', count=2)
        params = {"label": "cat", "after": next_after}

    # then the pages are consecutive slices of the filtered set
    assert pages == [cats[0:2], cats[2:4], cats[4:5]]


def test_sample_page_reads_one_row_more_than_it_shows_to_know_there_is_a_next_page(version):
    everything = member_ids(version)

    full = sample_page(version=version, size=8)
    short = sample_page(version=version, size=7)

    assert ([m.sample_id for m in full.members], full.next_after) == (everything, None)
    assert ([m.sample_id for m in short.members], short.next_after) == (everything[:7], everything[6])


def test_htmx_filter_change_returns_only_the_grid_partial(viewer_client, version):
    # given an htmx request aimed at #grid (the filter form)
    response = viewer_client.get(grid_url(version), {"split": "val"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="grid")

    # then only the grid section comes back, with the matching members
    assertTemplateUsed(response, "frontend/datasets/_grid.html")
    assertTemplateNotUsed(response, "base.html")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="grid"')
    assert shown_ids(response) == member_ids(version, split="val")


def test_htmx_load_more_returns_only_the_next_cards_and_a_new_load_more(viewer_client, version, monkeypatch):
    # given pages of 3 and an htmx "Load more" request after the third member
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 3)
    everything = member_ids(version)
    response = viewer_client.get(
        grid_url(version), {"after": everything[2]}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="grid-more"
    )

    # then the answer is the next three cards and a button for the ones after them
    assertTemplateUsed(response, "frontend/datasets/_grid_page.html")
    assertTemplateNotUsed(response, "frontend/datasets/_grid.html")
    assert response.content.decode().lstrip().startswith('<li class="thumb"')
    assert shown_ids(response) == everything[3:6]
    assertContains(response, f'hx-get="{grid_url(version)}?after={everything[5]}"', count=1)


def test_unknown_filter_values_and_a_bad_cursor_mean_no_filter(viewer_client, version):
    response = viewer_client.get(grid_url(version), {"split": "holdout", "source": "scraped", "after": "x"})
    assert shown_ids(response) == member_ids(version)


def test_label_menu_lists_the_taxonomy_first_with_counts(viewer_client, version):
    response = viewer_client.get(grid_url(version))
    assert response.context["label_options"] == [("cat", "cat", 5), ("dog", "dog", 2), ("bird", "bird", 1)]


def test_unlabeled_members_have_their_own_filter_value(viewer_client):
    # given a version with two unlabeled members and a cat
    version = DatasetVersionFactory(sample_count=3)
    unlabeled = [VersionSampleFactory(version=version, label="").sample_id for _ in range(2)]
    VersionSampleFactory(version=version, label="cat")

    # when the grid is filtered on the "(unlabeled)" menu entry
    everything = viewer_client.get(grid_url(version))
    response = viewer_client.get(grid_url(version), {"label": dataset_pages.UNLABELED})

    # then only the unlabeled members are shown, and the menu offers that entry last
    assert everything.context["label_options"] == [("cat", "cat", 1), (dataset_pages.UNLABELED, "(unlabeled)", 2)]
    assert shown_ids(response) == unlabeled
    assert response.context["matching"] == 2


def test_grid_of_a_missing_version_is_404(viewer_client, version):
    response = viewer_client.get(reverse("frontend:sample_grid", args=[version.dataset_id, 99]))
    assert response.status_code == 404


def test_grid_query_count_does_not_grow_with_page_size(viewer_client, monkeypatch, django_assert_max_num_queries):
    # given a version of 30 members
    version = DatasetVersionFactory(sample_count=30)
    VersionSampleFactory.create_batch(30, version=version)

    # when the grid is rendered with pages of 3 and of 30 (after a first visit cached the statistics)
    viewer_client.get(grid_url(version))
    counts = {}
    for size in (3, 30):
        monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", size)
        with CaptureQueriesContext(connection) as queries:
            response = viewer_client.get(grid_url(version))
        counts[size] = len(queries)
        assert len(shown_ids(response)) == size

    # then both cost the same: session, user with roles, the version with its dataset, the page, its samples, and the
    # filter menus (the version's runs and reports and the dataset's tags, one UNION; no run, so no clusters or
    # duplicate groups to read). It was 11: the dataset and the version were read apart, and the tags, the cluster
    # runs and the duplicate runs each by a query of their own.
    assert counts == {3: 6, 30: 6}
    with django_assert_max_num_queries(7):
        viewer_client.get(grid_url(version), {"label": "cat", "after": 1})


def test_grid_never_counts_or_offsets_the_filtered_set(viewer_client, version):
    # given the version's statistics already cached by a first visit
    viewer_client.get(grid_url(version))

    # when a filtered page after a cursor is requested
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(grid_url(version), {"label": "cat", "after": member_ids(version)[0]})

    # then no query counts rows or skips them with OFFSET
    sql = " ".join(q["sql"].upper() for q in queries)
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


INSERT_SAMPLES = """
    INSERT INTO curation_sample (dataset_id, sha256, image_key, thumbnail_key, mask_key, original_name,
        width, height, format, mode, file_size, source, caption, provenance, created_at)
    SELECT %(dataset)s, md5(g::text) || md5((g + 1)::text), 'k', 'k', '', '', 32, 24, 'PNG', 'RGB', 100,
        CASE WHEN g %% 10 = 0 THEN 'synthetic' ELSE 'real' END, '', '{}', now()
    FROM generate_series(1, %(count)s) AS g
"""
# Members of a version: every `step`-th sample of the dataset counted from its first (the generate_series
# number g, whatever the id sequence's offset: v2 then holds the synthetic g % 10 == 0); labels and splits
# cycle by id.
INSERT_MEMBERS = """
    INSERT INTO curation_versionsample (version_id, sample_id, split, label, label_origin, labels)
    SELECT %(version)s, id, (ARRAY['train', 'val', 'test'])[id %% 3 + 1],
        (ARRAY['cat', 'dog', 'bird', 'fish'])[id %% 4 + 1], 'import', '[]'
    FROM curation_sample WHERE dataset_id = %(dataset)s
        AND (id - (SELECT min(id) FROM curation_sample WHERE dataset_id = %(dataset)s) + 1) %% %(step)s = 0
"""


@pytest.mark.slow
def test_grid_page_queries_walk_an_index_from_the_cursor_on_200k_members():
    """On PostgreSQL with 200k samples in v1 and 100k in v2, every page query is an index range scan that
    starts at the cursor: nothing scans the members or samples table, sorts, or reads from the first row."""
    # given the two versions, inserted by generate_series, with fresh planner statistics
    assert (Sample._meta.db_table, VersionSample._meta.db_table) == ("curation_sample", "curation_versionsample")
    first = DatasetVersionFactory(number=1, sample_count=200_000)
    second = DatasetVersionFactory(dataset=first.dataset, number=2, sample_count=100_000)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SAMPLES, {"dataset": first.dataset_id, "count": 200_000})
        cursor.execute(INSERT_MEMBERS, {"version": first.pk, "dataset": first.dataset_id, "step": 1})
        cursor.execute(INSERT_MEMBERS, {"version": second.pk, "dataset": first.dataset_id, "step": 2})
        # Statistics from every row, not ANALYZE's random 30k-row sample: the plans must not vary between runs.
        cursor.execute("SET LOCAL default_statistics_target = 10000")
        cursor.execute("ANALYZE curation_sample")
        cursor.execute("ANALYZE curation_versionsample")
    ids = list(VersionSample.objects.filter(version=second).order_by("sample_id").values_list("sample_id", flat=True))
    deep = ids[90_000]

    # when the plans of the page queries are asked for, with the real work measured
    def plan(**filters: object) -> str:
        return sample_list(version=second, limit=61, **filters).explain(analyze=True)

    plans = {
        "first page": plan(),
        "deep page": plan(after_sample_id=deep),
        "label": plan(label="bird", after_sample_id=deep),
        "split": plan(split="val", after_sample_id=deep),
        "source": plan(source="synthetic", after_sample_id=deep),
    }

    # then every plan uses indexes only, and none reads more than a few hundred rows
    for name, text in plans.items():
        print(f"--- {name}\n{text}")
    assert {name: ("Index" in text, "Seq Scan" in text, "Sort" in text) for name, text in plans.items()} == (
        dict.fromkeys(plans, (True, False, False))
    )
    rows_read = {name: max(map(int, re.findall(r"actual time=\S+ rows=(\d+)", text))) for name, text in plans.items()}
    assert max(rows_read.values()) <= 1_000, rows_read
    # and the deep page holds the right members: the next 61 of v2 after the cursor
    page = sample_page(version=second, after_sample_id=deep, size=61)
    assert [member.sample_id for member in page.members] == ids[90_001:90_062]
