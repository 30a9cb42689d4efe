"""Reads of the deletion audit (deletions.py)."""

from curation.deletion.selectors.deletions import (
    deletion_list,
)

__all__ = [
    "deletion_list",
]
