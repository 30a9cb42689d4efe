"""The unfiltered member page of a dataset created after a bigger one: an index scan from the cursor, on PostgreSQL."""

import re

import pytest
from django.db import connection

from curation.models import Sample, VersionSample
from curation.selectors import sample_list
from tests.factories import DatasetVersionFactory
from tests.frontend.test_sample_grid import INSERT_MEMBERS, INSERT_SAMPLES

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_unfiltered_pages_of_a_newer_dataset_do_not_walk_past_an_older_datasets_members():
    """PostgreSQL, 60k members of an older dataset (lower sample ids) and 60k of a newer one: the first page and
    a deep page of the newer version read no member of the older one and hold the right members."""
    # given the two datasets' versions, inserted by generate_series, with statistics from every row
    assert (Sample._meta.db_table, VersionSample._meta.db_table) == ("curation_sample", "curation_versionsample")
    older = DatasetVersionFactory(number=1, sample_count=60_000)
    newer = DatasetVersionFactory(number=1, sample_count=60_000)
    with connection.cursor() as cursor:
        for version, count in ((older, 60_000), (newer, 60_000)):
            cursor.execute(INSERT_SAMPLES, {"dataset": version.dataset_id, "count": count})
            cursor.execute(INSERT_MEMBERS, {"version": version.pk, "dataset": version.dataset_id, "step": 1})
        # The older members written again, after the newer ones (as a re-import or a bench refill leaves them):
        # the table's physical order no longer follows the sample ids.
        cursor.execute("DELETE FROM curation_versionsample WHERE version_id = %s", [older.pk])
        cursor.execute(INSERT_MEMBERS, {"version": older.pk, "dataset": older.dataset_id, "step": 1})
        cursor.execute("SET LOCAL default_statistics_target = 10000")
        cursor.execute("ANALYZE curation_versionsample")
    ids = list(VersionSample.objects.filter(version=newer).order_by("sample_id").values_list("sample_id", flat=True))

    # when the page queries are explained, with the real work measured
    plans = {
        "first page": sample_list(version=newer, limit=61).explain(analyze=True),
        "deep page": sample_list(version=newer, limit=61, after_sample_id=ids[45_000]).explain(analyze=True),
    }

    # then neither filters out rows (the older dataset's members) nor sorts, and both pages are right
    for name, text in plans.items():
        print(f"--- {name}\n{text}")
    removed = {name: sum(map(int, re.findall(r"Rows Removed by Filter: (\d+)", text))) for name, text in plans.items()}
    assert removed == {"first page": 0, "deep page": 0}
    assert {name: ("Index" in text, "Sort" in text) for name, text in plans.items()} == dict.fromkeys(
        plans, (True, False)
    )
    assert [m.sample_id for m in sample_list(version=newer, limit=61)] == ids[:61]
    assert [m.sample_id for m in sample_list(version=newer, limit=61, after_sample_id=ids[45_000])] == ids[
        45_001:45_062
    ]
    assert [m.sample_id for m in sample_list(version=newer, limit=61, after_sample_id=ids[-30])] == ids[-29:]
