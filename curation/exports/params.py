"""What an export request takes, declared once (core.params): the API's input serializer, the version export
page's form and `manage.py export` come from ExportParams. The format's options stay a separate dict for
`export_submit` (which refuses an option the format does not use, code invalid_options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.params import param
from curation.exports.models import ExportFormat
from curation.exports.services.writing import DEFAULT_SHARD_SIZE, MAX_SHARD_SIZE, MIN_SHARD_MAX_BYTES

OPTION_NAMES = ("shard_size", "shard_max_bytes", "csv_escape_formulas")


@dataclass(frozen=True)
class ExportParams:
    version_id: int = param(
        name="version", cli="version_id", api=False, page=False, help="Id of the version to export."
    )
    format: str = param(
        choices=ExportFormat.choices,
        api_enum=False,  # the API's format is a string the service checks (invalid_format, details.allowed)
        cli_enum=False,
        code="invalid_format",
        message="Unknown export format {value!r}; use " + "one of: " + ", ".join(ExportFormat.values) + ".",
        help="imagefolder-zip, csv, jsonl, hf-imagefolder or webdataset.",
    )
    shard_size: int | None = param(
        None,
        min=1,
        max=MAX_SHARD_SIZE,
        api_bounds=True,
        code="invalid_options",
        label="Shard size",
        help="webdataset: samples per shard.",
        default_text=str(DEFAULT_SHARD_SIZE),
    )
    shard_max_bytes: int | None = param(
        None,
        min=MIN_SHARD_MAX_BYTES,
        api_bounds=True,
        code="invalid_options",
        label="Shard size limit (bytes)",
        help="webdataset: close a shard before this size.",
        default_text="no limit",
    )
    csv_escape_formulas: bool = param(
        False,
        label="Escape formulas",
        help="csv: prefix text cells starting with = + - @ (tab, CR) with ' so spreadsheets do not run them "
        "as formulas; such cells then no longer re-import byte for byte.",
    )

    def options(self) -> dict[str, Any]:
        """The format options given (None left out), for export_submit."""
        values = {name: getattr(self, name) for name in OPTION_NAMES}
        return {name: value for name, value in values.items() if value is not None}
