"""The grid's filter menus are made once per version and kept until its runs or tags change; their markup, and the
short menus', is what the `optgroups` tag and the template's loops wrote for the same groups and selection."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from curation.models import DatasetVersion, SampleTag
from curation.pruning.models import ClusterRun
from curation.sample_sorts import RUN_SORTS
from curation.selectors import VersionStats
from frontend import selectors as frontend_selectors
from frontend.selectors import GridMenus, SetChoiceGroup, grid_menus
from frontend.templatetags.sample_grid import menu_markup, optgroups
from tests.curation.run_values import (
    cluster_run_measured,
    duplicate_run_grouped,
    evaluation_predicted,
    proposal_run_scored,
    version_ids,
)
from tests.factories import DatasetVersionFactory, VersionSampleFactory
from tests.frontend.test_grid_cards_and_menus import markup, menu_options
from tests.frontend.test_sample_grid import grid_url

pytestmark = pytest.mark.django_db

GROUPS = [
    SetChoiceGroup('Run 1 "<k>"', [("1:0", "cluster 0 & <b>"), ("1:1", "cluster 1")], ["a note <i>"]),
    SetChoiceGroup("Run 2", [("2:0", "cluster 0"), ('2:"x"', "quoted")]),
    SetChoiceGroup("Run 3", [], ["made before per-sample values were stored"]),
]


@pytest.mark.parametrize("selected", ["", "1:0", "1:1", "2:0", '2:"x"', "9:9", "cluster 0"])
def test_a_menus_markup_is_what_the_optgroups_tag_writes(selected):
    menus = GridMenus(choices={"cluster": GROUPS}, tag_names=[])

    written = [menu_markup(menus, "cluster", selected) for _ in range(2)]  # the second from the kept markup

    listed = selected in {value for group in GROUPS for value, _ in group.options}
    assert written == [(optgroups(GROUPS, selected), listed)] * 2
    assert menus.markup == {"cluster": optgroups(GROUPS, None)}


@pytest.fixture
def version() -> DatasetVersion:
    version = DatasetVersionFactory(sample_count=6, dataset__classes=["cat", "dog"])
    for label in ("cat", "dog", "cat", "dog", "cat", "dog"):
        VersionSampleFactory(version=version, label=label)
    return version


def select_markup(html: str, name: str) -> str:
    """The options of the page's <select name=...> after its first ("Any" or the member orders)."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    return markup(select.group(1))


def test_the_grid_writes_the_menus_the_optgroups_tag_wrote(viewer_client, version, monkeypatch):
    # given a version with every kind of run, four proposal runs (the menus list the newest three), and a duplicate
    # menu that lists a run's largest group only
    monkeypatch.setattr(frontend_selectors, "GRID_SET_GROUPS_SHOWN", 1)
    s = version_ids(version)
    clusters = cluster_run_measured(version, {i: (n % 3, 0.1) for n, i in enumerate(s)})
    duplicates = duplicate_run_grouped(version, [[s[0], s[1]], [s[2], s[3], s[4]]])
    proposals = [proposal_run_scored(version, {s[0]: 0.5}) for _ in range(4)]
    evaluation = evaluation_predicted(version, dict.fromkeys(s, ("cat", 0.9)), ["cat", "dog"])
    query = {
        "cluster_set": f"{clusters.pk}:1",  # listed
        "duplicate_set": f"{duplicates.pk}:1",  # a group the menu does not list: kept from the link
        "prediction_set": f"{evaluation.pk}:class:dog",
        "sort": f"-issue_score:{proposals[0].pk}",  # the oldest proposal run: kept from the link
    }
    viewer_client.get(grid_url(version))  # the menus are made, then kept

    # when the grid is opened with a selection in each menu
    response = viewer_client.get(grid_url(version), query)

    # then each menu is what the optgroups tag wrote for its groups (and a group "From the link") and the selection
    html, choices = response.content.decode(), grid_menus(version).choices
    linked = SetChoiceGroup("From the link", [(f"{duplicates.pk}:1", f"{duplicates.pk} / 1")])
    expected = {
        "cluster_set": optgroups(choices["cluster"], query["cluster_set"]),
        "duplicate_set": optgroups([*choices["duplicate_group"], linked], query["duplicate_set"]),
        "prediction_set": optgroups(choices["prediction"], query["prediction_set"]),
    }
    for name, options in expected.items():
        assert select_markup(html, name) == markup(f'<option value="">Any</option>{options}'), name
    sort_groups = response.context["sort_groups"]
    assert sort_groups[-1].label == "From the link" and len(sort_groups) == len(choices["sort"]) + 1
    assert select_markup(html, "sort").endswith(markup(optgroups(sort_groups, query["sort"])))
    assert "selected>" in select_markup(html, "sort") and "slice_set" not in html


# The short menus' options as the grid's template wrote them before the `options` tag: the tag must write the same.
OLD_OPTIONS = {
    "label": """{% load humanize %}{% for value, name, count in label_options %}
          <option value="{{ value }}" {% if value == filters.label %}selected{% endif %}>
            {{ name }} ({{ count|intcomma }})
          </option>
        {% endfor %}""",
    "split": """{% for split in split_options %}
          <option value="{{ split }}" {% if split == filters.split %}selected{% endif %}>{{ split }}</option>
        {% endfor %}""",
    "source": """{% for source in source_options %}
          <option value="{{ source }}" {% if source == filters.source %}selected{% endif %}>{{ source }}</option>
        {% endfor %}""",
    "review_state": """{% for state in review_state_options %}
          <option value="{{ state }}" {% if state == review_state %}selected{% endif %}>{{ state }}</option>
        {% endfor %}""",
    "tag": """{% for name in tag_options %}
            <option value="{{ name }}" {% if name == tag %}selected{% endif %}>{{ name }}</option>
          {% endfor %}""",
    "sort": """{% for value, name in sort_options %}
          <option value="{{ value }}" {% if value == filters.sort_menu_value %}selected{% endif %}>{{ name }}</option>
        {% endfor %}""",
}


def options_markup(html: str) -> str:
    """`markup` with the white space around an option's text dropped too (a browser strips it from the text)."""
    return re.sub(r"\s*(<[^>]*>)\s*", r"\1", markup(html))


FIRST_OPTION = {"label": "Any label", "split": "Any split", "source": "Any source", "review_state": "Any", "tag": "Any"}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"label": "cat", "split": "val", "source": "synthetic", "review_state": "open", "tag": 'a "b" <c>'},
        {"label": "__unlabeled__", "sort": "-id", "tag": "plain"},
        {"sort": "label"},
    ],
)
def test_the_short_menus_are_what_their_loops_wrote(viewer_client, query):
    # given a version with a thousand-odd cats, an unlabeled member and tags whose names need escaping
    version = DatasetVersionFactory(sample_count=1003, dataset__classes=["cat", "dog"])
    members = [VersionSampleFactory(version=version, label=label) for label in ("cat", "dog", "")]
    for name in ('a "b" <c>', "plain"):
        SampleTag.objects.create(dataset=version.dataset, name=name).samples.add(members[0].sample)
    counts = {("cat", "train", "real"): 1001, ("dog", "train", "real"): 1, ("", "train", "real"): 1}
    cache.set(f"winnow:version-stats:{version.pk}:1003", VersionStats(counts, {}), timeout=None)

    # when the grid is opened with these filters
    response = viewer_client.get(grid_url(version), query)

    # then each short menu's options are what its template loop wrote for the same context
    html, context = response.content.decode(), Context(response.context[0].flatten())
    for name, loop in OLD_OPTIONS.items():
        first = f'<option value="">{FIRST_OPTION[name]}</option>' if name in FIRST_OPTION else ""
        assert select_markup(html, name) == options_markup(first + Template(loop).render(context)), name
    assert "1,001" in select_markup(html, "label") and "&quot;b&quot; &lt;c&gt;" in select_markup(html, "tag")
    assert select_markup(html, "sort").count(" selected>") == 1


def menu_queries(client, version: DatasetVersion) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(grid_url(version)).content.decode()
    return html, len(queries)


def test_a_change_to_the_versions_runs_or_tags_shows_at_once(viewer_client, version):
    # given the grid's menus made and kept: a later request reads the runs and tags (one UNION) but not their
    # clusters or groups
    s = version_ids(version)
    clusters = cluster_run_measured(version, {i: (n % 2, 0.1) for n, i in enumerate(s)}, stored=False)
    duplicates = duplicate_run_grouped(version, [[s[0], s[1]]])
    viewer_client.get(grid_url(version))  # (the version's counts and its menus made)
    _, kept = menu_queries(viewer_client, version)
    assert kept == 6  # session, user with roles, the version, the page, its samples, the runs and tags

    # when a cluster run is made, then a tag added, then the duplicate run deleted, then the cluster run's
    # distances stored
    newer = cluster_run_measured(version, dict.fromkeys(s, (0, 0.2)))
    after_run = menu_queries(viewer_client, version)
    SampleTag.objects.create(dataset=version.dataset, name="blurry")
    after_tag = menu_queries(viewer_client, version)
    duplicates.delete()
    after_delete = menu_queries(viewer_client, version)
    ClusterRun.objects.filter(pk=clusters.pk).update(members_stored=True)
    after_stored = menu_queries(viewer_client, version)

    # then each change shows on the next request (the menus made again), and the request after it keeps them
    assert f"Cluster run {newer.pk} (k=1)" in after_run[0] and after_run[1] == kept + 2  # clusters, groups
    assert [text for _, text in menu_options(after_tag[0], "tag")] == ["Any", "blurry"]
    assert f"Duplicate run {duplicates.pk}" not in after_delete[0] and "duplicate_set" not in after_delete[0]
    assert (after_tag[1], after_delete[1]) == (kept + 2, kept + 1)  # no duplicate run left: no query of its groups
    distances = RUN_SORTS["cluster_distance"]
    assert (f"Cluster run {clusters.pk} (k=2)", f"{distances.title}, {distances.descending}") in menu_options(
        after_stored[0], "sort"
    )
    kept_again = menu_queries(viewer_client, version)
    assert (after_stored[1], kept_again[1]) == (kept + 1, kept)
    assert select_markup(kept_again[0], "sort") == select_markup(after_stored[0], "sort")
