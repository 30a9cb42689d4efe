"""Tagging samples of a dataset: add a tag to a selection, or take it off."""

from collections.abc import Collection

from django.db import transaction

from core.api_errors import ApplicationError
from curation.models import Dataset, SampleTag

TagLink = SampleTag.samples.through


@transaction.atomic
def sample_tags_apply(*, dataset: Dataset, name: str, sample_ids: Collection[int], remove: bool = False) -> int:
    """Tag the samples `sample_ids` of `dataset` with `name` (made on first use), or untag them (`remove`).

    Returns how many samples changed (already tagged or untagged ones do not count). Raises ApplicationError
    `invalid_tag` for an empty or over-long name."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ApplicationError("A tag needs a name of 1 to 64 characters.", code="invalid_tag")
    if remove:
        tag = SampleTag.objects.filter(dataset=dataset, name=name).first()
        if tag is None:
            return 0
        removed, _ = TagLink.objects.filter(sampletag=tag, sample_id__in=list(sample_ids)).delete()
        return removed
    tag, _ = SampleTag.objects.get_or_create(dataset=dataset, name=name)
    tagged = set(
        TagLink.objects.filter(sampletag=tag, sample_id__in=list(sample_ids)).values_list("sample_id", flat=True)
    )
    added = [TagLink(sampletag=tag, sample_id=sample_id) for sample_id in sorted(set(sample_ids) - tagged)]
    TagLink.objects.bulk_create(added, ignore_conflicts=True)
    return len(added)
