"""Editing a dataset's class taxonomy: add, rename, merge — each a recorded TaxonomyChange.

Versions are immutable, so their labels keep the names they had; the recorded renames and merges
form a map from old names to current ones (`taxonomy_label_map`), which applying a review queue uses
for the label sets it writes. Codes: invalid_class, class_exists, unknown_class.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from curation.models import Dataset
from curation.review.models import TaxonomyAction, TaxonomyChange

MAX_CLASS_NAME = 200


def _clean(name: str) -> str:
    name = " ".join(str(name).split())
    if not name or len(name) > MAX_CLASS_NAME:
        raise ApplicationError(f"A class name must have 1 to {MAX_CLASS_NAME} characters.", code="invalid_class")
    return name


def _locked(dataset: Dataset) -> Dataset:
    return Dataset.objects.select_for_update().get(pk=dataset.pk)


def _record(
    dataset: Dataset, action: str, sources: list[str], target: str, after: list[str], user: User | None
) -> TaxonomyChange:
    change = TaxonomyChange.objects.create(
        dataset=dataset, action=action, sources=sources, target=target, classes_before=list(dataset.classes),
        classes_after=after, changed_by=user,
    )  # fmt: skip
    dataset.classes = after
    dataset.save(update_fields=["classes"])
    return change


@transaction.atomic
def taxonomy_class_add(*, dataset: Dataset, name: str, user: User | None = None) -> TaxonomyChange:
    dataset, name = _locked(dataset), _clean(name)
    if name in dataset.classes:
        raise ApplicationError(f"{name!r} is already a class.", code="class_exists")
    return _record(dataset, TaxonomyAction.ADD, [], name, [*dataset.classes, name], user)


@transaction.atomic
def taxonomy_class_rename(*, dataset: Dataset, name: str, new_name: str, user: User | None = None) -> TaxonomyChange:
    dataset, new_name = _locked(dataset), _clean(new_name)
    if name not in dataset.classes:
        raise ApplicationError(f"{name!r} is not a class.", code="unknown_class")
    if new_name in dataset.classes:
        raise ApplicationError(f"{new_name!r} is already a class: merge instead.", code="class_exists")
    after = [new_name if c == name else c for c in dataset.classes]
    return _record(dataset, TaxonomyAction.RENAME, [name], new_name, after, user)


@transaction.atomic
def taxonomy_classes_merge(
    *, dataset: Dataset, names: Iterable[str], into: str, user: User | None = None
) -> TaxonomyChange:
    """Merge ``names`` into ``into`` (an existing class, or a new one placed where the first merged class was)."""
    dataset, into = _locked(dataset), _clean(into)
    sources = [n for n in dict.fromkeys(names) if n != into]
    unknown = [n for n in sources if n not in dataset.classes]
    if not sources or unknown:
        raise ApplicationError(
            f"Classes to merge must be existing classes: {unknown or 'none given'}.", code="unknown_class"
        )
    after: list[str] = []
    for c in dataset.classes:
        target = into if c in sources else c
        if target not in after:
            after.append(target)
    return _record(dataset, TaxonomyAction.MERGE, sources, into, after, user)


TAXONOMY_ACTIONS = ("add", "rename", "merge")


def taxonomy_change(
    *, dataset: Dataset, action: str, name: str = "", new_name: str = "", names: Iterable[str] = (), into: str = "",
    user: User | None = None,
) -> TaxonomyChange:  # fmt: skip
    """One taxonomy edit by name (the page and the API both come here): add `name`, rename `name` to
    `new_name`, or merge `names` into `into`. Code invalid_parameter for another action."""
    if action == "add":
        return taxonomy_class_add(dataset=dataset, name=name, user=user)
    if action == "rename":
        return taxonomy_class_rename(dataset=dataset, name=name, new_name=new_name, user=user)
    if action == "merge":
        return taxonomy_classes_merge(dataset=dataset, names=names, into=into, user=user)
    raise ApplicationError("Choose add, rename or merge.", code="invalid_parameter")


def taxonomy_label_map(dataset: Dataset) -> dict[str, str]:
    """{old name: current name} from the dataset's renames and merges, in the order they were made."""
    mapping: dict[str, str] = {}
    for change in TaxonomyChange.objects.filter(dataset=dataset).exclude(action=TaxonomyAction.ADD).order_by("id"):
        for old, new in list(mapping.items()):
            if new in change.sources:
                mapping[old] = change.target
        for source in change.sources:
            mapping[source] = change.target
    return {old: new for old, new in mapping.items() if old != new}
