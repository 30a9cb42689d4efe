"""The member pages' statements compiled once per shape (curation.selectors.samples) and the API's version lookup in
fixed text (curation.apis.lookups): the sample-list API writes, byte for byte, what it wrote when both were built
by the ORM on every request, over every filter, set filter, order and cursor."""

from functools import partial

import pytest
from django.db import connection
from django.db.models import Q, Subquery
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from curation.apis import datasets as dataset_apis
from curation.apis.lookups import version_get_fixed
from curation.apis.sample_sets import (
    REVIEW_STATES,
    SAMPLE_SET_RESOLVERS,
    sample_set_filter_parse,
    sample_set_invalid,
)
from curation.embeddings.models import DuplicateGroup, DuplicateMember, DuplicateRun
from curation.embeddings.selectors.duplicates import duplicate_group_get
from curation.models import DatasetVersion, Sample, SampleTag, VersionSample
from curation.pruning.models import ClusterMember, ClusterRun
from curation.pruning.selectors.clusters import cluster_sample_ids
from curation.review.models import ReviewItem, ReviewQueue
from curation.review.services.queues import review_queue_create
from curation.selectors import sample_neighbors, sample_page, samples, version_get, version_member_get
from tests.curation.pruning.factories import version_with_samples
from tests.curation.run_values import (
    cluster_run_measured,
    duplicate_run_grouped,
    evaluation_predicted,
    proposal_run_scored,
    version_ids,
)

pytestmark = pytest.mark.django_db


def old_sample_page(
    *, version, label=None, split=None, source=None, after_sample_id=None, size=60, search=None, order="id",
    after_label=None, sample_ids=None, run_sort=None, after_value=None,
):  # fmt: skip
    """sample_page as it was before its statements were compiled once (the ORM built them on every call)."""
    filtered = partial(
        samples.sample_list,
        version=version, label=label, split=split, source=source, search=search, sample_ids=sample_ids,
    )  # fmt: skip
    if run_sort is not None:
        return samples._run_sort_page(version, filtered(), run_sort, after_sample_id, after_value, size)
    if order not in ("-id", "label"):
        rows = samples._page_members(filtered(after_sample_id=after_sample_id, limit=size + 1))
        members = rows[:size]
        return samples.SamplePage(members=members, next_after=members[-1].sample_id if len(rows) > size else None)
    members_qs = filtered()
    if order == "-id":
        if after_sample_id is not None:
            members_qs = members_qs.filter(sample_id__lt=after_sample_id)
        members_qs = members_qs.order_by("-sample_id")
    else:
        if after_sample_id is not None:
            cursor_label = after_label or ""
            members_qs = members_qs.filter(
                Q(label__gt=cursor_label) | Q(label=cursor_label, sample_id__gt=after_sample_id)
            )
        members_qs = members_qs.order_by("label", "sample_id")
    rows = samples._page_members(members_qs[: size + 1])
    members = rows[:size]
    if len(rows) <= size:
        return samples.SamplePage(members=members, next_after=None)
    last = members[-1]
    return samples.SamplePage(members=members, next_after=last.sample_id, next_after_label=last.label)


def old_sample_neighbors(*, version, sample_id, order="id", **filters):
    """sample_neighbors in a member order as it was before its statements were compiled once."""
    ids = samples.sample_list(version=version, **filters).prefetch_related(None).values_list("sample_id", flat=True)
    if order == "label":
        current = VersionSample.objects.filter(version=version, sample_id=sample_id).values_list("label", flat=True)
        here_label = current.first() or ""
        before = Q(label__lt=here_label) | Q(label=here_label, sample_id__lt=sample_id)
        after = Q(label__gt=here_label) | Q(label=here_label, sample_id__gt=sample_id)
        previous_id, next_id = old_first_of_each(
            version,
            ids.filter(before).order_by("-label", "-sample_id"),
            ids.filter(after).order_by("label", "sample_id"),
        )
        return samples.SampleNeighbors(previous_id=previous_id, next_id=next_id)
    lower, higher = old_first_of_each(
        version,
        ids.filter(sample_id__lt=sample_id).order_by("-sample_id"),
        ids.filter(sample_id__gt=sample_id).order_by("sample_id"),
    )
    if order == "-id":
        return samples.SampleNeighbors(previous_id=higher, next_id=lower)
    return samples.SampleNeighbors(previous_id=lower, next_id=higher)


def old_first_of_each(version, *ordered):
    subqueries = [Subquery(rows[:1]) for rows in ordered]
    found = DatasetVersion.objects.filter(pk=version.pk).values_list(*subqueries).first()
    return tuple(found) if found is not None else (None,) * len(ordered)


def old_version_member_get(*, version, sample_id):
    return VersionSample.objects.select_related("sample").filter(version=version, sample_id=sample_id).first()


def old_cluster_sample_set(version, run_id, index):
    run = ClusterRun.objects.filter(pk=run_id, version=version).first()
    if run is None or not run.assignment_key:
        raise sample_set_invalid("cluster_run", f"cluster run {run_id} is not a finished run of this version")
    if run.members_stored:
        return ClusterMember.objects.filter(cluster_run=run, cluster=index).values("sample_id")
    return {int(i) for i in cluster_sample_ids(run, index)}


def old_duplicate_group_sample_set(version, run_id, number):
    run = DuplicateRun.objects.filter(pk=run_id, version=version).first()
    missing = sample_set_invalid("duplicate_run", f"duplicate run {run_id} of this version has no group {number}")
    if run is not None and run.members_stored:
        if not DuplicateGroup.objects.filter(run=run, number=number).exists():
            raise missing
        return DuplicateMember.objects.filter(run=run, group_number=number).values("sample_id")
    group = duplicate_group_get(run=run, number=number) if run is not None else None
    if group is None:
        raise missing
    return {int(i) for i in group.sample_ids}


def old_review_state_sample_set(version, queue_id, state):
    if state not in REVIEW_STATES:
        allowed = ", ".join(REVIEW_STATES)
        raise sample_set_invalid("review_state", f"unknown review_state '{state}' (allowed: {allowed})")
    queues = ReviewQueue.objects.filter(version=version)
    if queue_id is not None:
        queues = queues.filter(pk=queue_id)
    queue_ids = list(queues.values_list("pk", flat=True))
    return ReviewItem.objects.filter(queue_id__in=queue_ids, state=state).values("sample_id")


OLD_RESOLVERS = {
    "cluster": old_cluster_sample_set,
    "duplicate_group": old_duplicate_group_sample_set,
    "review_state": old_review_state_sample_set,
}


def old_version_or_404(version_id):
    from core.api_errors import not_found

    version = version_get(version_id)
    if version is None:
        raise not_found("Version", version_id)
    return version


@pytest.fixture
def world(viewer, curator):
    """15 members (cat, dog and unlabeled; three splits; real and synthetic) and a set of each kind on them."""
    version = version_with_samples(15, labels=["cat", "dog", "dog", ""], splits=["train", "val", "test", "train"])
    version.dataset.classes = ["cat", "dog"]
    version.dataset.save(update_fields=["classes"])
    ids = version_ids(version)
    VersionSample.objects.filter(version=version, sample_id__in=ids[::3]).update(split="val")
    version.dataset.samples.filter(pk__in=ids[1::4]).update(source="synthetic")
    cluster = cluster_run_measured(version, {i: (n % 3, n / 10) for n, i in enumerate(ids)})
    stored = duplicate_run_grouped(version, [ids[0:6], ids[6:9]])
    legacy = duplicate_run_grouped(version, [ids[2:12]], stored=False)
    both = {"classes": ["cat", "dog"]}
    queue = review_queue_create(version=version, name="q", filter=both, reviewer_ids=[curator.pk])
    ReviewItem.objects.filter(queue=queue, sample_id__in=ids[::2]).update(state="disputed")
    tag = SampleTag.objects.create(dataset=version.dataset, name="blurry")
    tag.samples.set(ids[3:14])
    evaluation = evaluation_predicted(
        version, {i: ("cat" if n % 2 else "dog", 0.9) for n, i in enumerate(ids) if n % 4 != 3}, ["cat", "dog"]
    )
    issues = proposal_run_scored(version, {i: float(n % 5) for n, i in enumerate(ids)})
    client = APIClient()
    client.force_authenticate(viewer)
    return {"version": version, "ids": ids, "cluster": cluster, "stored": stored, "legacy": legacy, "queue": queue,
            "evaluation": evaluation, "issues": issues, "client": client}  # fmt: skip


def queries(w) -> list[dict]:
    sets = [
        {},
        {"cluster_run": w["cluster"].pk, "cluster": 1},
        {"duplicate_run": w["stored"].pk, "duplicate_group": 1},
        {"duplicate_run": w["legacy"].pk, "duplicate_group": 1},  # a run before member rows: a set of ids
        {"review_state": "disputed"},
        {"review_state": "open", "review_queue": w["queue"].pk},
        {"review_state": "open", "review_queue": 999_999},  # no such queue: an empty set, no statement
        {"review_state": "open", "review_queue": 10**20},
        {"cluster_run": w["cluster"].pk, "cluster": 10**20},
        {"tag": "blurry"},
        {"prediction_run": w["evaluation"].pk, "model_error": "true"},
        {"cluster_run": w["cluster"].pk, "cluster": 0, "review_state": "disputed", "tag": "blurry"},
    ]
    members = [{}, {"label": "dog"}, {"split": "val"}, {"source": "synthetic"}, {"label": "cat", "split": "train"}]
    sorts = [{}, {"sort": "-id"}, {"sort": "label"}, {"sort": "-issue_score", "sort_run": w["issues"].pk}]
    found = [s | m | o for s in sets for m in members[:2] for o in sorts]
    return found + [m | o for m in members[2:] for o in sorts[:3]]


def invalid_queries(w) -> list[dict]:
    """Set filters that name what is not there (a run of no version, a number past any column's range)."""
    huge = 10**20
    return [
        {"cluster_run": huge, "cluster": 0},
        {"cluster_run": w["cluster"].pk + 1000, "cluster": 0},
        {"duplicate_run": w["stored"].pk, "duplicate_group": huge},
        {"duplicate_run": w["stored"].pk, "duplicate_group": 7},
        {"duplicate_run": huge, "duplicate_group": 1},
        {"duplicate_run": w["stored"].pk + 1000, "duplicate_group": 1},
        {"review_state": "closed"},
    ]


def answer(client, url, params) -> tuple[int, bytes]:
    response = client.get(url, params)
    return response.status_code, response.content


def pages(client, url, params) -> list[bytes]:
    """Every page's body, following each page's `next` URL."""
    bodies: list[bytes] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        bodies.append(response.content)
        following = response.json()["next"]
        if following is None or len(bodies) > 20:
            return bodies
        response = client.get(following)


def test_every_filter_order_and_cursor_writes_the_bodies_the_orm_path_wrote(world, monkeypatch):
    client, url = world["client"], f"/api/versions/{world['version'].pk}/samples/"
    new = {str(q): pages(client, url, q | {"page_size": 2}) for q in queries(world)}

    new_errors = {str(q): answer(client, url, q) for q in invalid_queries(world)}

    monkeypatch.setattr(dataset_apis, "sample_page", old_sample_page)
    monkeypatch.setattr(dataset_apis, "version_or_404", old_version_or_404)
    for kind, resolver in OLD_RESOLVERS.items():
        monkeypatch.setitem(SAMPLE_SET_RESOLVERS, kind, resolver)
    old = {str(q): pages(client, url, q | {"page_size": 2}) for q in queries(world)}
    old_errors = {str(q): answer(client, url, q) for q in invalid_queries(world)}

    assert new == old
    assert new_errors == old_errors
    assert {status for status, _ in new_errors.values()} == {400}
    # (and the comparison is not of empty lists: most listings run to several pages)
    assert sum(len(bodies) > 1 for bodies in new.values()) > len(new) // 2


@pytest.mark.parametrize("order", ["id", "-id", "label"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"label": ""}, {"label": "dog"}, {"split": "val", "source": "real"}, {"search": "img_0000"}, {"label": "cat"}],
)
def test_pages_from_every_cursor_are_the_orm_paths(world, order, filters):
    """sample_page itself (the grid's path), with filters the API does not take (unlabeled, search), from every
    member as the cursor (in label order with its label and with none), and with a set of each kind."""
    version, ids = world["version"], world["ids"]
    labels = dict(VersionSample.objects.filter(version=version).values_list("sample_id", "label"))
    sets = [None, ReviewItem.objects.filter(state="disputed").values("sample_id"), set(world["ids"][4:11])]
    sets.append(ReviewItem.objects.filter(queue_id__in=[], state="open").values("sample_id"))  # empty whatever the rows
    compared = 0
    for sample_ids in sets:
        for after in [None, *ids]:
            for after_label in {labels.get(after), None}:
                kwargs = filters | {"order": order, "size": 3, "after_sample_id": after, "sample_ids": sample_ids}
                kwargs["after_label"] = after_label
                assert sample_page(version=version, **kwargs) == old_sample_page(version=version, **kwargs), kwargs
                compared += 1
    assert compared > 3 * len(ids)


def test_a_pages_statement_is_the_text_the_orm_writes_with_the_values_bound(world):
    """Without a set filter the member page's statement is exactly the ORM's (text and parameters), so its plan
    is; with one, the set's subquery is the ORM's compiled alone (in its place, as a semi-join)."""
    version, ids = world["version"], world["ids"]
    full = 0
    for kwargs in [
        {},
        {"label": "dog", "after_sample_id": ids[3]},
        {"split": "val", "source": "synthetic"},
        {"order": "-id", "after_sample_id": ids[9]},
        {"order": "label", "after_sample_id": ids[4], "after_label": "dog", "label": ""},
    ]:
        with CaptureQueriesContext(connection) as new:
            page = sample_page(version=version, size=4, **kwargs)
        with CaptureQueriesContext(connection) as old:
            old_sample_page(version=version, size=4, **kwargs)
        # the members' statement is the ORM's; the samples' is the ORM's for the members shown (the page's extra
        # row, read to know that a next page exists, no longer fetches its sample)
        shown = [member.sample_id for member in page.members]
        with CaptureQueriesContext(connection) as samples_read:
            if shown:
                list(Sample.objects.filter(pk__in=shown).order_by().values_list(*samples.PAGE_SAMPLE_FIELDS))
        expected = [old.captured_queries[0]["sql"], *(q["sql"] for q in samples_read.captured_queries)]
        assert [q["sql"] for q in new.captured_queries] == expected, kwargs
        full += len(shown) == 4
    assert full >= 3
    disputed = ReviewItem.objects.filter(state="disputed").values("sample_id")
    with CaptureQueriesContext(connection) as new:
        sample_page(version=version, size=4, sample_ids=disputed, after_sample_id=ids[2])
    member_sql = new.captured_queries[0]["sql"]
    subquery = member_sql.split('"sample_id" IN (', 1)[1].split(")", 1)[0]
    items = ReviewItem._meta.db_table
    assert subquery.startswith(f'SELECT "{items}"."sample_id" AS "sample_id" FROM "{items}" WHERE')  # noqa: S608
    assert "'disputed'" in subquery and f'"{items}"."sample_id" > {ids[2]}' in subquery
    assert "ORDER BY" not in subquery
    assert f'"curation_versionsample"."version_id" = {version.pk}' in member_sql


def test_the_fixed_version_lookup_is_version_get(world, curator):
    version = world["version"]
    version.created_by = curator
    version.save(update_fields=["created_by"])

    for found in (version, type(version).objects.create(dataset=version.dataset, number=2, operation="import")):
        fixed, orm = version_get_fixed(found.pk), version_get(found.pk)
        with CaptureQueriesContext(connection) as reads:
            pairs = [(fixed, orm), (fixed.dataset, orm.dataset), (fixed.created_by, orm.created_by)]
        assert reads.captured_queries == []
        for ours, theirs in pairs:
            fields = [] if theirs is None else [f.attname for f in type(theirs)._meta.concrete_fields]
            assert [getattr(ours, name) for name in fields] == [getattr(theirs, name) for name in fields]
            assert (ours is None) == (theirs is None)
    assert version_get_fixed(10**12) is None and version_get(10**12) is None
    assert version_get_fixed(2**70) is None


@pytest.mark.parametrize("version_id", ["999999999", "99999999999999999999999"])
def test_an_unknown_version_is_the_same_404(world, version_id):
    response = world["client"].get(f"/api/versions/{version_id}/samples/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("order", ["id", "-id", "label", "unknown"])
@pytest.mark.parametrize(
    "filters", [{}, {"label": ""}, {"label": "dog"}, {"split": "val", "source": "real"}, {"search": "img_0000"}]
)
def test_neighbours_of_every_member_and_of_a_stranger_are_the_orm_paths(world, order, filters):
    version, ids = world["version"], world["ids"]
    sets = [None, ReviewItem.objects.filter(state="disputed").values("sample_id"), set(ids[4:11])]
    sets.append(ReviewItem.objects.filter(queue_id__in=[], state="open").values("sample_id"))  # empty whatever the rows
    found = []
    for sample_ids in sets:
        for sample_id in [*ids, ids[-1] + 1000]:
            kwargs = filters | {"order": order, "sample_ids": sample_ids, "sample_id": sample_id}
            neighbours = sample_neighbors(version=version, **kwargs)
            assert neighbours == old_sample_neighbors(version=version, **kwargs), kwargs
            found.append(neighbours)
    assert any(n.previous_id is not None and n.next_id is not None for n in found)


def test_a_membership_is_read_with_its_sample_as_the_orm_read_it(world):
    version, ids = world["version"], world["ids"]
    for sample_id in [ids[0], ids[7], ids[-1] + 1000, 2**70]:
        with CaptureQueriesContext(connection) as reads:
            member = version_member_get(version=version, sample_id=sample_id)
            sample = member.sample if member is not None else None
        old = old_version_member_get(version=version, sample_id=sample_id) if sample_id < 2**63 else None
        assert len(reads.captured_queries) == (0 if sample_id >= 2**63 else 1)
        assert (member is None) == (old is None)
        if old is not None:
            for ours, theirs in ((member, old), (sample, old.sample)):
                names = [field.attname for field in type(theirs)._meta.concrete_fields]
                assert [getattr(ours, name) for name in names] == [getattr(theirs, name) for name in names]


def test_a_set_bounded_by_the_cursor_is_the_orms_filter(world):
    """Each kind of set's subquery with the cursor's bound added directly is the one `.filter(sample_id__gt=...)`
    gives (text and parameters)."""
    w = world
    for params in [
        {"cluster_run": w["cluster"].pk, "cluster": 1},
        {"duplicate_run": w["stored"].pk, "duplicate_group": 1},
        {"review_state": "disputed"},
        {"tag": "blurry"},
        {"prediction_run": w["evaluation"].pk, "model_error": "true"},
        {"cluster_run": w["cluster"].pk, "cluster": 0, "review_state": "disputed", "tag": "blurry"},
    ]:
        found = sample_set_filter_parse({k: str(v) for k, v in params.items()}, version=w["version"])
        bounded = samples._bounded(found, w["ids"][5])
        assert bounded.sql_with_params() == found.filter(sample_id__gt=w["ids"][5]).query.sql_with_params(), params
        assert found.query.sql_with_params() != bounded.sql_with_params()  # (the set itself is left as it was)


@pytest.mark.parametrize(
    "values",
    [
        ['[{"label": "cat", "origin": "import"}]', "[]", None, '{"a": [1, 2.5, "é\\u2028"]}', "null", '"x"'],
        ["[1, 2]", "1,2"],  # (text that is not one JSON value, as no jsonb column sends)
        ["[1", "2]"],
        [],
    ],
)
def test_json_columns_decoded_together_are_what_the_field_decodes_row_by_row(values):
    from django.db.models import JSONField

    from core.sql_rows import _json_decoded

    field = JSONField()
    assert _json_decoded(values) == [field.from_db_value(value, None, connection) for value in values]
