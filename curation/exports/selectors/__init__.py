"""Reads for exports: the members to write (in keyset batches), readiness of a version, visibility (exports.py)."""

from curation.exports.selectors.exports import (
    ExportMember,
    export_get,
    export_is_foreign,
    export_list,
    export_member_batches,
    version_class_names,
    version_export_blocker,
)

__all__ = [
    "ExportMember",
    "export_get",
    "export_is_foreign",
    "export_list",
    "export_member_batches",
    "version_class_names",
    "version_export_blocker",
]
