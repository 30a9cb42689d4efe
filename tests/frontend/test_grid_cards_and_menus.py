"""The grid's cards (written by a template tag) and its filter menus (read in a fixed number of queries)."""

import re

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curation.models import DatasetVersion, SampleTag
from curation.sample_sorts import RUN_SORTS
from curation.selectors import sample_page
from curation.selectors.samples import PageMember, PageSample
from frontend.templatetags.page_urls import id_url_pattern
from frontend.templatetags.sample_grid import grid_cards
from tests.curation.run_values import (
    cluster_run_measured,
    duplicate_run_grouped,
    evaluation_predicted,
    proposal_run_scored,
    version_ids,
)
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.frontend.page_text import attribute_values

pytestmark = pytest.mark.django_db

# The cards as the grid's template wrote them before grid_cards (frontend/datasets/_grid_page.html's loop with
# frontend/_thumb_frame.html included): the tag must write the same markup.
CARD_TEMPLATE = (
    """{% for member in page.members %}
  <li class="thumb" data-sample-id="{{ member.sample_id }}" data-label="{{ member.label }}">
    <input class="thumb-select"
           type="checkbox"
           value="{{ member.sample_id }}"
           aria-label="Select sample {{ member.sample_id }}">
    <a class="thumb-link"
       title="{{ member.sample.original_name }}"
       href="{% url 'frontend:sample_detail' dataset.pk version.number member.sample_id %}"""
    """{% if filter_query %}?{{ filter_query }}{% endif %}">
      {% include "frontend/_thumb_frame.html" %}
      <span class="thumb-meta">
        <span class="thumb-label">{{ member.label|default:"(unlabeled)" }}</span>
        {% if member.labels|length > 1 %}
          <span class="badge badge-multi"
                title="Labels: {{ member.label_names|join:', ' }}">{{ member.labels|length }} labels</span>
        {% endif %}
      </span>
      <span class="thumb-sub">
        <span class="split-dot split-{{ member.split }}" aria-hidden="true"></span>{{ member.split }}
        {% if member.sample.source == "synthetic" %}<span class="badge badge-synthetic">synthetic</span>{% endif %}
        <span class="thumb-id">#{{ member.sample_id }}</span>
      </span>
      {% if filters.run_sort %}
        <span class="thumb-sort-value"
              title="{{ filters.run_sort.title }}">{{ filters.run_sort.title }}: """
    """{{ member.sort_value|floatformat:"-3" }}</span>
      {% endif %}
    </a>
  </li>
{% endfor %}"""
)


def markup(html: str) -> str:
    """HTML with the template's indentation and line breaks between tags dropped, runs of spaces as one."""
    html = re.sub(r"\s+", " ", html)
    return re.sub(r">\s+<", "><", html).replace(" >", ">").strip()


class RunSortStub:
    title = 'Issue score <"a & b">'


@pytest.fixture
def tricky_members() -> tuple[DatasetVersion, list[PageMember]]:
    """Members whose names, labels and splits need escaping, unlabeled, multi-labeled and synthetic ones."""
    version = DatasetVersionFactory(number=2)
    members = []
    for name, label, labels, source, value in [
        ('a "quoted" <b>&amp; name.png', "cat", [{"label": "cat", "origin": "import"}], "real", 0.12345),
        ("it's.png", "", [], "synthetic", 2.0),
        (
            "multi.png",
            "dog",
            [{"label": "dog", "origin": "import"}, {"label": "<cat>", "origin": "model"}],
            "real",
            None,
        ),
    ]:
        sample = SampleFactory(dataset=version.dataset, original_name=name, source=source)
        row = PageMember(
            sample_id=sample.pk,
            split="val",
            label=label,
            labels=labels,
            sample=PageSample(name, sample.width, sample.height, source),
            sort_value=value,
        )
        members.append(row)
    return version, members


@pytest.mark.parametrize("run_sort", [None, RunSortStub()])
@pytest.mark.parametrize("filter_query", ["", "label=cat&q=a%22b"])
def test_the_cards_tag_writes_what_the_card_template_wrote(tricky_members, run_sort, filter_query):
    version, members = tricky_members
    context = {
        "page": type("Page", (), {"members": members}),
        "dataset": version.dataset,
        "version": version,
        "filter_query": filter_query,
        "filters": type("Filters", (), {"run_sort": run_sort}),
    }
    expected = Template(CARD_TEMPLATE).render(Context(context))

    written = grid_cards(
        members,
        run_sort,
        filter_query,
        id_url_pattern("frontend:sample_detail", version.dataset_id, version.number),
        id_url_pattern("frontend:sample_thumbnail"),
    )

    assert markup(written) == markup(expected)
    assert "&amp;amp;" in written and "2 labels" in written and "synthetic</span>" in written


def test_the_grid_links_each_card_to_its_sample_page_and_thumbnail(viewer_client):
    version = DatasetVersionFactory(number=4, sample_count=2)
    members = [VersionSampleFactory(version=version) for _ in range(2)]
    url = reverse("frontend:sample_grid", args=[version.dataset_id, version.number])

    html = viewer_client.get(url, {"split": "train"}).content.decode()

    assert attribute_values(html, "href")[-2:] == [
        reverse("frontend:sample_detail", args=[version.dataset_id, 4, m.sample_id]) + "?split=train" for m in members
    ]
    assert [src for src in attribute_values(html, "src") if "/media/" in src] == [
        reverse("frontend:sample_thumbnail", args=[m.sample_id]) for m in members
    ]


@pytest.fixture
def version_with_runs() -> DatasetVersion:
    version = DatasetVersionFactory(sample_count=6, dataset__classes=["cat", "dog"])
    for label in ("cat", "dog", "cat", "dog", "cat", "dog"):
        VersionSampleFactory(version=version, label=label)
    return version


def menu_options(html: str, name: str) -> list[tuple[str, str]]:
    """(optgroup label, option text) of each option of the <select name=...>, "" for options outside a group."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    found, group = [], ""
    for tag, attributes, text in re.findall(r"<(optgroup|option)([^>]*)>([^<]*)", select.group(1)):
        if tag == "optgroup":
            group = re.search(r'label="([^"]*)"', attributes).group(1)
        else:
            found.append((group, text.strip()))
    return found


def test_the_menus_list_the_runs_and_tags_in_a_fixed_number_of_queries(viewer_client, version_with_runs):
    # given a version with a cluster run, a duplicate run, a proposal run, an evaluation and tags
    version = version_with_runs
    s = version_ids(version)
    url = reverse("frontend:sample_grid", args=[version.dataset_id, version.number])
    cluster_run_measured(version, {i: (n % 2, 0.1) for n, i in enumerate(s)})
    duplicate_run_grouped(version, [[s[0], s[1]], [s[2], s[3], s[4]]])
    proposal_run_scored(version, {s[0]: 0.5})
    evaluation_predicted(version, dict.fromkeys(s, ("cat", 0.9)), ["cat", "dog"])
    for name in ("zebra", "apple"):
        SampleTag.objects.create(dataset=version.dataset, name=name)
    viewer_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(url)
    first = len(queries)

    # when a second cluster run and a second duplicate run are made (the menus list the newest three of each)
    newer_clusters = cluster_run_measured(version, dict.fromkeys(s, (0, 0.2)), stored=False)
    newer_duplicates = duplicate_run_grouped(version, [[s[5], s[0]]], stored=False)
    with CaptureQueriesContext(connection) as queries:
        html = viewer_client.get(url).content.decode()

    # then the page costs the same whatever the runs: session, user with roles, the version with its dataset, the page,
    # its samples, the runs and tags (one UNION), and, as the runs changed, the cluster runs' clusters and the
    # duplicate runs' largest groups (not read again while the runs are those the menus were made from)
    assert (first, len(queries)) == (6, 8)
    older_clusters, older_duplicates = newer_clusters.pk - 1, newer_duplicates.pk - 1
    assert menu_options(html, "cluster_set") == [
        ("", "Any"),
        (f"Cluster run {newer_clusters.pk} (k=1)", "cluster 0 (6)"),
        (f"Cluster run {older_clusters} (k=2)", "cluster 0 (3)"),
        (f"Cluster run {older_clusters} (k=2)", "cluster 1 (3)"),
    ]
    assert menu_options(html, "duplicate_set") == [
        ("", "Any"),
        (f"Duplicate run {newer_duplicates.pk}", "group 1, near (2)"),
        (f"Duplicate run {older_duplicates}", "group 2, near (3)"),
        (f"Duplicate run {older_duplicates}", "group 1, near (2)"),
    ]
    assert [text for _, text in menu_options(html, "tag")] == ["Any", "apple", "zebra"]
    predictions = menu_options(html, "prediction_set")
    assert [text for _, text in predictions] == [
        "Any", "wrong (prediction ≠ label)", "right (prediction = label)", "predicted cat", "predicted dog"
    ]  # fmt: skip
    assert re.fullmatch(r"Evaluation run \d+ \(.+\)", predictions[1][0])
    sorts = menu_options(html, "sort")
    sizes, distances = RUN_SORTS["duplicate_size"], RUN_SORTS["cluster_distance"]
    assert (f"Duplicate run {older_duplicates}", f"{sizes.title}, {sizes.descending}") in sorts
    assert (f"Cluster run {older_clusters} (k=2)", f"{distances.title}, {distances.descending}") in sorts
    older = "made before per-sample values were stored"
    assert (f"Cluster run {newer_clusters.pk} (k=1)", f"{distances.title}: {older}") in sorts


def test_a_page_of_members_holds_what_their_rows_hold(version_with_runs):
    version = version_with_runs
    member = version.members.order_by("sample_id").select_related("sample")[2]

    page = sample_page(version=version, size=3)

    shown = page.members[2]
    assert (shown.sample_id, shown.split, shown.label, shown.labels, shown.label_names) == (
        member.sample_id,
        member.split,
        member.label,
        member.labels,
        member.label_names,
    )
    facts = (member.sample.original_name, member.sample.width, member.sample.height, member.sample.source)
    assert (shown.sample.original_name, shown.sample.width, shown.sample.height, shown.sample.source) == facts
    assert shown.sort_value is None
