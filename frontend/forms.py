"""Forms of the pages' POSTs: each view reads `form.cleaned_data` instead of picking `request.POST` apart.

Job start forms generated from a kind's parameters live beside their pages (embedding_forms.py,
review_forms.py, pruning_forms.py; core.params). These are the pages' other actions. They are lenient where
the pages always were (ids that are not numbers are left out, a missing choice takes the page's default),
and the services keep the rules: a form only turns the posted text into the values a service takes.
"""

from typing import Any

from django import forms

from core.api_errors import ApplicationError
from curation.models import Split
from curation.review.models import Aggregation, QueueKind
from curation.review.services.taxonomy import TAXONOMY_ACTIONS
from curation.synthetic.models import ReviewStatus


def id_list(text: str) -> list[int]:
    """The ids in `text` (separated by commas or spaces); anything else is left out."""
    return [int(part) for part in text.replace(",", " ").split() if part.isdigit()]


class TextListField(forms.Field):
    """Every value of a repeated parameter (`?names=a&names=b`), as strings."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        return [str(item) for item in value or []]


class IdListField(TextListField):
    """Every value of a repeated id parameter (ticked rows, chosen reviewers) that is a number."""

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        return [int(item) for item in super().to_python(value) if item.isdigit()]


class LenientIdField(forms.CharField):
    """An optional id: None when empty or not a number (the page then acts as if none was chosen)."""

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = str(value or "").strip()
        return int(text) if text.isdigit() else None


class PostedText(forms.CharField):
    """A text value handed to a service that checks it; absent from the POST means `default`."""

    def __init__(self, *, default: str | None, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.default = default

    def clean(self, value: Any) -> str | None:  # type: ignore[override]
        return self.default if value is None else str(value)


class TaxonomyChangeForm(forms.Form):
    """Add, rename or merge classes of a dataset (curation.review.services.taxonomy.taxonomy_change)."""

    action = forms.ChoiceField(
        choices=[(action, action) for action in TAXONOMY_ACTIONS],
        error_messages={"required": "Choose add, rename or merge.", "invalid_choice": "Choose add, rename or merge."},
    )
    name = forms.CharField(required=False, strip=False)
    new_name = forms.CharField(required=False, strip=False)
    names = TextListField(required=False)
    into = forms.CharField(required=False, strip=False)


class ReviewersForm(forms.Form):
    """The reviewers ticked on a queue's page (setting its reviewers, or a disagreement queue's)."""

    reviewers = IdListField(required=False)


class QueueApplyForm(forms.Form):
    """Applying a queue's consensus: onto `base_version` (an id), else onto the queue's own version."""

    base_version = LenientIdField(required=False)


class BulkLabelForm(forms.Form):
    """One vote on pasted sample ids in a review queue."""

    sample_ids = forms.CharField(required=False, strip=False)
    label = forms.CharField(required=False, strip=False)
    vote = PostedText(default="yes")
    origin = PostedText(default="bulk_grid")

    def clean_sample_ids(self) -> list[int]:
        return id_list(self.cleaned_data["sample_ids"])


class QueueCreateForm(forms.Form):
    """The new-queue form: the queue's settings and the filter choosing its items (review_queue_create).

    The filter keeps only what is set, as the service takes it; a number that is not one is refused with
    the service's code (invalid_filter)."""

    name = forms.CharField(required=False, strip=False)
    kind = PostedText(default=QueueKind.RELABEL)
    reviewers_per_item = forms.IntegerField(required=False)
    quorum = LenientIdField(required=False)
    aggregation = PostedText(default=Aggregation.AUTO)
    reviewers = IdListField(required=False)
    # The filter.
    sources = TextListField(required=False)
    min_issue_score = forms.CharField(required=False)
    min_score = forms.CharField(required=False)
    classes = forms.CharField(required=False)
    unlabeled = forms.CharField(required=False)
    limit = forms.IntegerField(required=False)
    cluster_run = forms.CharField(required=False)
    clusters = forms.CharField(required=False)

    def clean_reviewers_per_item(self) -> int:
        return self.cleaned_data["reviewers_per_item"] or 1

    def clean_limit(self) -> int:
        return self.cleaned_data["limit"] or 500

    def queue_filter(self) -> dict[str, Any]:
        """The filter as review_queue_create takes it (ApplicationError invalid_filter for a bad number)."""
        data = self.cleaned_data
        flt: dict[str, Any] = {
            "sources": data["sources"],
            "min_issue_score": _float_or_none(data["min_issue_score"]),
            "min_score": _float_or_none(data["min_score"]),
            "classes": [c.strip() for c in data["classes"].split(",") if c.strip()],
            "unlabeled": data["unlabeled"] == "on",
            "limit": data["limit"],
        }
        if data["cluster_run"].strip():
            flt["cluster_run"] = int(data["cluster_run"]) if data["cluster_run"].strip().isdigit() else -1
            flt["clusters"] = id_list(data["clusters"])
        return {key: value for key, value in flt.items() if value not in (None, [], False)}

    def first_error(self) -> str:
        for name, errors in self.errors.items():
            return f"{name}: {errors[0]}" if name != "__all__" else str(errors[0])
        return ""


def _float_or_none(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        raise ApplicationError(f"{text!r} is not a number.", code="invalid_filter")


class SyntheticBulkForm(forms.Form):
    """One decision for the ticked images (`scope=selected`) or for every pending (`all`, `unflagged`) image."""

    images = IdListField(required=False)
    scope = PostedText(default="selected")
    decision = PostedText(default="")

    def service_kwargs(self) -> dict[str, Any]:
        scope = self.cleaned_data["scope"]
        return {
            "decision": self.cleaned_data["decision"],
            "image_ids": self.cleaned_data["images"] if scope == "selected" else None,
            "only_pending": scope != "selected",
            "flagged": False if scope == "unflagged" else None,
        }


class SyntheticApplyForm(forms.Form):
    """The split the approved images join in the new version (the service checks it)."""

    split = PostedText(default=Split.TRAIN)


class SyntheticFilterForm(forms.Form):
    """A batch page's image filters (GET): a review status and flagged yes/no; anything else means all."""

    status = forms.CharField(required=False)
    flagged = forms.CharField(required=False)

    def clean_status(self) -> str | None:
        status = self.cleaned_data["status"]
        return status if status in ReviewStatus.values else None

    def clean_flagged(self) -> bool | None:
        return {"1": True, "0": False}.get(self.cleaned_data["flagged"])
