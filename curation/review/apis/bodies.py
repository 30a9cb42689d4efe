"""Bodies of the review API's hot requests (next item, vote, submit: bench/review_load.py), built directly.

A serializer instance copies its fields and walks them on every call, which cost these requests more than the
rest of their Python. Each function returns what its serializer's `.data` gives, or validates as its input
serializer does (tests/curation/review/test_api_bodies.py compares them); the serializers stay the schema
(extend_schema) and serve every other endpoint, and a vote body the direct check does not take goes through
VoteInputSerializer, so its 400 and errors are the serializer's.
"""

import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from curation.apis.serializers import sample_media_path
from curation.review.apis.serializers import VoteInputSerializer
from curation.review.models import VoteValue

_SURROGATE = re.compile("[\ud800-\udfff]")
_VOTE_VALUES = frozenset(VoteValue.values)


def _iso(value: datetime | None) -> str | None:
    """DRF's DateTimeField output: ISO 8601 in the current time zone, UTC written as Z."""
    if not value:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _plain(text: str) -> bool:
    """No character DRF's CharField refuses (NUL, surrogates)."""
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def vote_input(data: Any) -> dict[str, str]:
    """VoteInputSerializer's validated data; a body it would refuse goes through it (the same 400 and errors)."""
    if type(data) is dict:
        label, vote, request_id = data.get("label"), data.get("vote"), data.get("request_id", "")
        if type(label) is str and type(vote) is str and type(request_id) is str:
            label, request_id = label.strip(), request_id.strip()
            if (
                label
                and len(label) <= 200
                and vote in _VOTE_VALUES
                and len(request_id) <= 64
                and _plain(label)
                and _plain(request_id)
            ):
                return {"label": label, "vote": vote, "request_id": request_id}
    serializer = VoteInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def vote_output(vote: Any) -> dict[str, Any]:
    """VoteOutputSerializer(vote).data."""
    return {
        "id": vote.pk, "item": vote.item_id, "reviewer": str(vote.reviewer.username), "label": str(vote.label),
        "vote": str(vote.value), "origin": str(vote.origin), "is_current": bool(vote.is_current),
        "superseded_by": vote.superseded_by_id, "undone_at": _iso(vote.undone_at), "created_at": _iso(vote.created_at),
    }  # fmt: skip


def item_state_output(item: Any) -> dict[str, Any]:
    """ItemStateOutputSerializer(item).data."""
    return {
        "id": item.pk, "state": str(item.state), "submitted_count": item.submitted_count, "consensus": item.consensus,
        "consensus_labels": [str(label) for label in item.consensus_labels],
        "consensus_method": str(item.consensus_method),
    }  # fmt: skip


def item_output(view: Any) -> dict[str, Any]:
    """ItemOutputSerializer(view).data."""
    item = view.item
    return {
        "id": item.pk, "queue": item.queue_id, "position": item.position, "sample": item.sample_id,
        "image_url": sample_media_path(item.sample_id, "image"), "state": str(item.state),
        "submitted_count": item.submitted_count, "labels": view.member.labels if view.member else [],
        "candidates": [
            {
                "label": str(candidate["label"]), "current": bool(candidate["current"]),
                "sources": [_dict_output(source) for source in candidate["sources"]],
                "key": int(candidate["key"]), "my_vote": str(candidate["my_vote"]),
            }
            for candidate in view.candidates
        ],
        "consensus": item.consensus, "consensus_labels": [str(label) for label in item.consensus_labels],
        "my_state": str(view.assignment_state),
    }  # fmt: skip


def _dict_output(value: Any) -> dict[str, Any] | None:
    """A DictField's output: string keys."""
    return {str(key): entry for key, entry in value.items()} if value is not None else None
