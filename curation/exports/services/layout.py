"""Where each member goes in an export, and the manifest row that describes it (METHODS.md §10).

The ImageFolder layout is `<split>/<class folder>/<sha256>.<ext>` (unlabeled members:
`unlabeled/<split>/<sha256>.<ext>`, outside the split folders so that ImageFolder loaders never see
them); masks are `masks/<sha256>.png`. The CSV and JSONL manifests use the same paths, so a
manifest describes an ImageFolder zip of the same version file by file.

Choices made:
- File names are the content hash: unique within a dataset, stable between exports.
- A class folder is the label with path separators and a leading dot replaced by "_"; labels that
  become the same folder get "-2", "-3"… in the order met (the manifests keep the true labels).
  A folder name is at most CLASS_FOLDER_MAX_BYTES of UTF-8 (file systems allow 255 per name, zip
  names 65,535 in all): a longer label is cut at a character boundary and ends in "~" and 8 hex
  digits of its sha256, so that two long labels with one prefix stay apart, export after export.
- Manifest keys `path`, `label`, `labels`, `split`, `caption`, `mask` are the import's manifest
  columns, so the zip's `manifest.jsonl` imports back with labels and splits; the other keys carry
  what the import does not read (origins, provenance, soft labels).
- Soft labels (teacher top-k probabilities) are not stored by Winnow yet: the key is there, null.
"""

import hashlib
import json
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from curation.exports.selectors import ExportMember
from curation.models import DatasetVersion

MANIFEST_COLUMNS = (
    "path", "sha256", "label", "label_origin", "labels", "label_origins", "split", "dataset", "version",
    "version_id", "sample_id", "source", "caption", "mask", "width", "height", "provenance", "soft_labels",
)  # fmt: skip
UNLABELED_FOLDER = "unlabeled"
CLASS_FOLDER_MAX_BYTES = 120


def image_extension(image_key: str) -> str:
    """The key's extension, lower-case (keys are `kind/ab/<sha256>.<ext>`); ".bin" without one."""
    dot = image_key.rfind(".")
    return image_key[dot:].lower() if dot > image_key.rfind("/") else ".bin"


class ExportLayout:
    """Paths of members in the ImageFolder layout and their manifest rows, for one version."""

    def __init__(self, version: DatasetVersion):
        self.dataset_name = version.dataset.name
        self._dataset_text = encode_basestring(self.dataset_name)
        self.version_number = version.number
        self.version_id = version.pk
        self._folders: dict[str, str] = {}
        self._taken: set[str] = set()

    def class_folder(self, label: str) -> str:
        folder = self._folders.get(label)
        if folder is None:
            base = label.replace("/", "_").replace("\\", "_").replace("\x00", "_")
            base = "_" + base[1:] if base.startswith(".") else base
            base = _folder_name_capped(base or "_", label)
            folder, suffix = base, 2
            while folder.casefold() in self._taken:  # casefold: case-insensitive file systems
                folder, suffix = f"{base}-{suffix}", suffix + 1
            self._taken.add(folder.casefold())
            self._folders[label] = folder
        return folder

    def image_path(self, member: ExportMember) -> str:
        name = member.sha256 + image_extension(member.image_key)
        if not member.label:
            return f"{UNLABELED_FOLDER}/{member.split}/{name}"
        return f"{member.split}/{self.class_folder(member.label)}/{name}"

    @staticmethod
    def mask_path(member: ExportMember) -> str:
        return f"masks/{member.sha256}.png" if member.mask_key else ""

    def manifest_row(self, member: ExportMember) -> dict[str, Any]:
        """The JSON object of one member (JSONL manifest, the zip's manifest, WebDataset's .json)."""
        return {
            "path": self.image_path(member),
            "sha256": member.sha256,
            "label": member.label,
            "label_origin": member.label_origin if member.label else "",
            "labels": [entry["label"] for entry in member.labels],
            "label_origins": [entry["origin"] for entry in member.labels],
            "split": member.split,
            "dataset": self.dataset_name,
            "version": self.version_number,
            "version_id": self.version_id,
            "sample_id": member.sample_id,
            "source": member.source,
            "caption": member.caption,
            "mask": self.mask_path(member),
            "width": member.width,
            "height": member.height,
            "provenance": json.loads(member.provenance_json),
            "soft_labels": None,
        }

    def manifest_line(self, member: ExportMember) -> bytes:
        """`manifest_row` as one JSONL line, composed directly (the provenance's stored JSON text is
        copied as it is): the same object as `json.dumps(manifest_row(member))`, several times faster."""
        text, provenance = encode_basestring, member.provenance_json
        if "\n" in provenance:  # stored JSON is single-line in practice; a line must be one line
            provenance = json.dumps(json.loads(provenance), ensure_ascii=False)
        names = ", ".join([text(entry["label"]) for entry in member.labels])
        origins = ", ".join([text(entry["origin"]) for entry in member.labels])
        mask = f'"masks/{member.sha256}.png"' if member.mask_key else '""'
        origin = text(member.label_origin) if member.label else '""'
        return (
            f'{{"path": {text(self.image_path(member))}, "sha256": "{member.sha256}", "label": {text(member.label)}, '
            f'"label_origin": {origin}, "labels": [{names}], '
            f'"label_origins": [{origins}], "split": {text(member.split)}, "dataset": {self._dataset_text}, '
            f'"version": {self.version_number}, "version_id": {self.version_id}, "sample_id": {member.sample_id}, '
            f'"source": {text(member.source)}, "caption": {text(member.caption)}, "mask": {mask}, '
            f'"width": {member.width}, "height": {member.height}, "provenance": {provenance}, "soft_labels": null}}\n'
        ).encode()

    def csv_row(self, member: ExportMember) -> list[Any]:
        """The CSV cells of one member: lists joined with ";" (as the import reads them), JSON as text."""
        row = self.manifest_row(member)
        row["labels"] = ";".join(row["labels"])
        row["label_origins"] = ";".join(row["label_origins"])
        row["provenance"] = member.provenance_json
        row["soft_labels"] = ""
        return [row[column] for column in MANIFEST_COLUMNS]


def _folder_name_capped(name: str, label: str) -> str:
    """`name` when short enough, else its longest prefix that fits with "~" and a hash of the label."""
    if len(name.encode()) <= CLASS_FOLDER_MAX_BYTES:
        return name
    tag = "~" + hashlib.sha256(label.encode()).hexdigest()[:8]
    prefix = name.encode()[: CLASS_FOLDER_MAX_BYTES - len(tag)].decode(errors="ignore")
    return prefix + tag


def jsonl_line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode() + b"\n"
