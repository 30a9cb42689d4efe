"""Selectors behind the browsing pages, checked against the obvious computation on the same rows."""

import itertools
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from curation.models import VersionSample
from curation.selectors import (
    VersionStats,
    image_size_figure,
    sample_neighbors,
    sample_page,
    version_label_options,
    version_stats,
)
from curation.selectors.stats import _nice_step
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    """Version statistics are cached per process; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def random_version():
    """40 members with random labels, splits, sources and sizes (seeded), plus members of another version."""
    rng = random.Random(7)
    version = DatasetVersionFactory(sample_count=40, dataset__classes=["dog", "cat"])
    for _ in range(40):
        sample = SampleFactory(
            dataset=version.dataset,
            source=rng.choice(["real", "synthetic"]),
            width=rng.randint(10, 300),
            height=rng.randint(10, 300),
        )
        VersionSampleFactory(
            version=version,
            sample=sample,
            label=rng.choice(["cat", "dog", "bird", ""]),
            split=rng.choice(["train", "val", "test"]),
        )
    VersionSampleFactory.create_batch(3, version=DatasetVersionFactory(dataset=version.dataset))
    return version


def facts(version) -> list[tuple[int, str, str, str, int]]:
    """(sample id, label, split, source, longest side) of every member, the slow obvious way."""
    members = VersionSample.objects.filter(version=version).select_related("sample").order_by("sample_id")
    return [(m.sample_id, m.label, m.split, m.sample.source, max(m.sample.width, m.sample.height)) for m in members]


def test_version_stats_count_members_per_label_split_and_source_and_per_longest_side(random_version):
    rows = facts(random_version)

    stats = version_stats(version=random_version)

    expected_members: dict[tuple[str, str, str], int] = {}
    expected_sides: dict[int, int] = {}
    for _id, label, split, source, side in rows:
        expected_members[(label, split, source)] = expected_members.get((label, split, source), 0) + 1
        expected_sides[side] = expected_sides.get(side, 0) + 1
    assert stats.member_counts == expected_members
    assert stats.longest_side_counts == expected_sides
    assert stats.total == 40
    assert stats.matching(label="cat", source="synthetic") == sum(
        1 for row in rows if row[1] == "cat" and row[3] == "synthetic"
    )
    assert stats.matching(label="", split="val") == sum(1 for row in rows if row[1] == "" and row[2] == "val")


def test_version_stats_of_a_complete_version_are_cached(random_version, django_assert_num_queries):
    first = version_stats(version=random_version)
    with django_assert_num_queries(0):
        again = version_stats(version=random_version)
    assert again == first


def test_version_stats_of_a_version_still_being_filled_are_not_cached(django_assert_num_queries):
    # given a version whose sample_count (3) is not yet reached by its members (1)
    version = DatasetVersionFactory(sample_count=3)
    VersionSampleFactory(version=version)
    version_stats(version=version)

    # when asked again, then the members are counted again (2 queries), not read from a stale cache
    with django_assert_num_queries(2):
        assert version_stats(version=version).total == 1


def test_requests_that_find_the_stats_uncached_together_count_them_once(monkeypatch):
    # given a version whose counting is slow (as at 1M members), and eight requests that need its stats at once
    from curation.selectors import stats as stats_module

    version = DatasetVersionFactory(sample_count=5)
    counted = []

    def slow_count(counted_version):
        counted.append(counted_version.pk)
        time.sleep(0.2)
        return VersionStats(member_counts={("cat", "train", "real"): 5}, longest_side_counts={32: 5})

    monkeypatch.setattr(stats_module, "_version_stats_count", slow_count)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: version_stats(version=version), range(8)))

    # then one of them counted, and every one got its counts
    assert counted == [version.pk]
    assert {result.total for result in results} == {5}


def test_label_options_follow_the_taxonomy_then_others_alphabetically_then_unlabeled():
    stats = VersionStats(
        member_counts={
            ("zebra", "train", "real"): 1,
            ("", "train", "real"): 2,
            ("cat", "val", "real"): 3,
            ("cat", "train", "synthetic"): 4,
            ("ant", "test", "real"): 5,
            ("dog", "val", "real"): 6,
        },
        longest_side_counts={},
    )
    options = version_label_options(stats=stats, classes=["dog", "cat", "horse"])
    assert options == [("dog", 6), ("cat", 7), ("ant", 5), ("zebra", 1), ("", 2)]


@pytest.mark.parametrize(
    ("raw", "step"), [(0, 1), (0.3, 1), (1, 1), (1.01, 2), (3, 5), (7, 10), (14.5, 20), (260, 500)]
)
def test_histogram_steps_are_round_numbers(raw, step):
    assert _nice_step(raw) == step


def test_image_size_histogram_has_at_most_20_round_bins_including_empty_ones():
    stats = VersionStats(member_counts={}, longest_side_counts={64: 3, 100: 1, 250: 2, 1024: 5})

    (trace,) = image_size_figure(stats=stats)["data"]

    # 961 px of range / 20 → 50-px bins from 50 to 1049: 20 bins
    assert trace["customdata"][0] == [50, 99]
    assert trace["customdata"][-1] == [1000, 1049]
    assert trace["y"] == [3, 1, 0, 0, 2] + [0] * 14 + [5]
    assert trace["x"][:2] == [75.0, 125.0]


def test_image_size_histogram_of_one_size_is_one_bar_and_of_nothing_is_empty():
    one = image_size_figure(stats=VersionStats(member_counts={}, longest_side_counts={32: 4}))
    empty = image_size_figure(stats=VersionStats(member_counts={}, longest_side_counts={}))
    assert [(t["customdata"], t["y"]) for t in one["data"]] == [([[32, 32]], [4])]
    assert empty["data"] == []


FILTERS = [
    {},
    {"label": "cat"},
    {"split": "val"},
    {"source": "synthetic"},
    {"label": "dog", "source": "real"},
    {"label": "", "split": "test"},
    {"label": None, "split": "train", "source": "synthetic"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_keyset_pages_and_neighbours_equal_the_obvious_filtering(random_version, filters):
    rows = facts(random_version)
    columns = {"label": 1, "split": 2, "source": 3}
    expected = [row[0] for row in rows if all(row[columns[k]] == v for k, v in filters.items() if v is not None)]

    # every page size and every cursor position gives the next slice of the filtered ids
    for size, cursor in itertools.product((1, 3, 50), [None, *(row[0] for row in rows[::7])]):
        page = sample_page(version=random_version, **filters, after_sample_id=cursor, size=size)
        remaining = [i for i in expected if cursor is None or i > cursor]
        assert [m.sample_id for m in page.members] == remaining[:size]
        assert page.next_after == (remaining[size - 1] if len(remaining) > size else None)

    # and each member's neighbours are the ids around it in the filtered list
    for index, sample_id in enumerate(expected):
        neighbors = sample_neighbors(version=random_version, sample_id=sample_id, **filters)
        assert (neighbors.previous_id, neighbors.next_id) == (
            expected[index - 1] if index else None,
            expected[index + 1] if index + 1 < len(expected) else None,
        )
