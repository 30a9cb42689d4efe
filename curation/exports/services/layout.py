"""Where each member goes in an export, and the manifest row that describes it (docs/METHODS.md §10).

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
LABEL_BLOCKS_CACHED = 4096  # distinct label sets, extensions and sources whose JSON pieces are kept per export


def image_extension(image_key: str) -> str:
    """The key's extension, lower-case (keys are `kind/ab/<sha256>.<ext>`); ".bin" without one."""
    dot = image_key.rfind(".")
    return image_key[dot:].lower() if dot > image_key.rfind("/") else ".bin"


class ExportLayout:
    """Paths of members in the ImageFolder layout and their manifest rows, for one version.

    A manifest line is composed from pieces that most rows share, cached per distinct value: the path's
    folder for a (split, label) (file names are content hashes: hex), the labels block for a (split,
    label, origin, labels text), the JSON text of an extension and of a source. Per row only its own
    facts are escaped and joined: manifests are meant to run at ≥ 50k rows/s (bench/export_bench.py
    measures them against a bare keyset read + json.dumps loop over the same rows).
    """

    def __init__(self, version: DatasetVersion):
        self.dataset_name = version.dataset.name
        self._dataset_text = encode_basestring(self.dataset_name)
        self.version_number = version.number
        self.version_id = version.pk
        self._folders: dict[str, str] = {}
        self._taken: set[str] = set()
        self._path_heads: dict[tuple[str, str], str] = {}
        self._json_heads: dict[tuple[str, str], str] = {}
        self._label_blocks: dict[tuple[str, str, str, str], str] = {}
        self._texts: dict[str, str] = {}

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
        return self._path_head(member.split, member.label) + member.sha256 + image_extension(member.image_key)

    def _path_head(self, split: str, label: str) -> str:
        """The path up to the file name: `<split>/<class folder>/`, or `unlabeled/<split>/`."""
        head = self._path_heads.get((split, label))
        if head is None:
            head = f"{split}/{self.class_folder(label)}/" if label else f"{UNLABELED_FOLDER}/{split}/"
            self._path_heads[(split, label)] = head
        return head

    def _json_head(self, split: str, label: str) -> str:
        """`_path_head` as the start of a JSON string (opening quote, escaped, no closing quote)."""
        head = self._json_heads[(split, label)] = encode_basestring(self._path_head(split, label))[:-1]
        return head

    @staticmethod
    def mask_path(member: ExportMember) -> str:
        return f"masks/{member.sha256}.png" if member.mask_key else ""

    def manifest_row(self, member: ExportMember) -> dict[str, Any]:
        """The JSON object of one member (JSONL manifest, the zip's manifest, WebDataset's .json)."""
        labels = member.labels
        return {
            "path": self.image_path(member),
            "sha256": member.sha256,
            "label": member.label,
            "label_origin": member.label_origin if member.label else "",
            "labels": [entry["label"] for entry in labels],
            "label_origins": [entry["origin"] for entry in labels],
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
        provenance = member.provenance_json
        if "\n" in provenance:  # stored JSON is single-line in practice; a line must be one line
            provenance = json.dumps(json.loads(provenance), ensure_ascii=False)
        head = self._json_heads.get((member.split, member.label)) or self._json_head(member.split, member.label)
        key = (member.split, member.label, member.label_origin, member.labels_json)
        labels = self._label_blocks.get(key) or self._label_block(key)
        texts, sha256 = self._texts, member.sha256
        name = texts.get(extension := image_extension(member.image_key)) or self._text(extension)
        source = texts.get(member.source) or self._text(member.source)
        caption = encode_basestring(member.caption) if member.caption else '""'
        mask = f'"masks/{sha256}.png"' if member.mask_key else '""'
        return (
            f'{{"path": {head}{sha256}{name[1:]}, "sha256": "{sha256}", {labels}'
            f'"sample_id": {member.sample_id}, "source": {source}, "caption": {caption}, "mask": {mask}, '
            f'"width": {member.width}, "height": {member.height}, "provenance": {provenance}, "soft_labels": null}}\n'
        ).encode()

    def _label_block(self, key: tuple[str, str, str, str]) -> str:
        """`"label": …, … "version_id": …, ` for a (split, label, origin, labels text), cached (a few thousand)."""
        split, label, origin, labels_json = key
        text, labels = encode_basestring, json.loads(labels_json)
        names = ", ".join([text(entry["label"]) for entry in labels])
        origins = ", ".join([text(entry["origin"]) for entry in labels])
        origin_text = text(origin) if label else '""'
        block = (
            f'"label": {text(label)}, "label_origin": {origin_text}, "labels": [{names}], '
            f'"label_origins": [{origins}], "split": {text(split)}, "dataset": {self._dataset_text}, '
            f'"version": {self.version_number}, "version_id": {self.version_id}, '
        )
        if len(self._label_blocks) < LABEL_BLOCKS_CACHED:
            self._label_blocks[key] = block
        return block

    def _text(self, value: str) -> str:
        """The JSON text of a value that many rows share (an extension, a source), cached."""
        if len(self._texts) < LABEL_BLOCKS_CACHED:
            self._texts[value] = encode_basestring(value)
        return encode_basestring(value)

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
