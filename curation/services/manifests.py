# Over 300 lines: the ImageFolder layout, the CSV/JSONL parsers and the layout detection share one row-checking
# state and one report format.
"""How the files of an import map to labels and splits: the ImageFolder layout and CSV/JSONL manifests.

Choices made:
- Labels are normalised to Unicode NFC with whitespace trimmed and runs collapsed to one space, so
  " Cafe\u0301 " and "Café" are one class; a row whose primary label is empty after that is rejected,
  and so is a row with a label longer than LABEL_MAX_CHARS (the length a label column holds).
  Empty items of a multi-label list are dropped silently (trailing `;` is common in CSVs).
- The primary label is `label`, else the first of `labels`; it always heads the `labels` list.
- Splits: train, val, test, unassigned (or empty); `valid` and `validation` mean val. Anything
  else rejects the row (manifest) or file (ImageFolder) with the allowed values.
- Manifest paths are relative to the manifest's folder and may not leave it (no absolute paths,
  no `..`); the same path listed twice keeps the first row and rejects the others.
- Unknown manifest columns (or JSONL keys) are reported once each as a warning and ignored.
- A row that cannot be read is rejected alone, the rest imported: a JSONL line that is not a JSON
  object (or is nested too deeply to parse), a CSV row with a field over csv's field size limit.
- Which layout a source has: a folder or archive is ImageFolder unless exactly one CSV/JSONL
  manifest lies at its top (after an archive's single wrapper folder is stripped) and the format
  is not forced to `imagefolder`; a .csv/.jsonl file is a manifest whose folder holds the images.
"""

import csv
import io
import json
import posixpath
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import default_storage

from curation.models import Split, VersionSample
from curation.services.archives import (
    ZIP_MAGIC,
    ArchiveLimits,
    EntryRejected,
    FolderReader,
    SourceReader,
    SourceRejected,
    ZipReader,
    path_safe_relative,
    upload_key_is_valid,
    wrapper_folder,
)

MANIFEST_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MANIFEST_COLUMNS = ("path", "label", "labels", "split", "caption", "mask")
SPLIT_NAMES = {
    "train": Split.TRAIN,
    "val": Split.VAL,
    "valid": Split.VAL,
    "validation": Split.VAL,
    "test": Split.TEST,
    "unassigned": Split.UNASSIGNED,
    "": Split.UNASSIGNED,
}
SPLIT_FOLDERS = {name for name, split in SPLIT_NAMES.items() if split != Split.UNASSIGNED}
ALLOWED_SPLITS_TEXT = "train, val (or valid, validation), test, unassigned"
LABEL_MAX_CHARS: int = VersionSample._meta.get_field("label").max_length  # type: ignore[assignment]
CSV_FIELD_TOO_LARGE = "field larger than field limit"


@dataclass(frozen=True)
class ImportEntry:
    """One file to import, with what the layout says about it."""

    path: str
    label: str
    labels: tuple[str, ...]
    split: str = Split.UNASSIGNED
    caption: str = ""
    mask_path: str = ""
    line: int | None = None


@dataclass(frozen=True)
class ReportLine:
    file: str
    status: str
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "status": self.status, "reason": self.reason}


@dataclass
class _ManifestState:
    base: str
    manifest_name: str
    seen_paths: dict[str, int] = field(default_factory=dict)
    warned_keys: set[str] = field(default_factory=set)


def label_normalize(raw: str) -> str:
    """NFC, whitespace trimmed and collapsed: the one spelling under which a class is stored."""
    return unicodedata.normalize("NFC", " ".join(str(raw).split()))


def split_normalize(raw: str) -> str:
    """The Split value for a split name, or EntryRejected naming the allowed values."""
    key = " ".join(str(raw).split()).casefold()
    if key not in SPLIT_NAMES:
        raise EntryRejected(f"unknown split {raw!r}; allowed: {ALLOWED_SPLITS_TEXT}")
    return SPLIT_NAMES[key]


def labels_combine(label: str, labels: list[str]) -> tuple[str, tuple[str, ...]]:
    """The primary label and the full, de-duplicated label set (primary first)."""
    primary = label_normalize(label)
    others = [label_normalize(item) for item in labels]
    ordered = [name for name in [primary, *others] if name]
    if not ordered:
        raise EntryRejected("empty label (after trimming whitespace)")
    longest = max(len(name) for name in ordered)
    if longest > LABEL_MAX_CHARS:
        raise EntryRejected(f"label too long ({longest:,} characters; the limit is {LABEL_MAX_CHARS})")
    return ordered[0], tuple(dict.fromkeys(ordered))


def imagefolder_entries(files: list[str]) -> Iterator[ImportEntry | ReportLine]:
    """ImageFolder layout: `class/file` or `split/class/file`; anything else is reported."""
    for path in files:
        try:
            yield _imagefolder_entry(path)
        except EntryRejected as exc:
            yield ReportLine(path, "rejected", exc.reason)


def _imagefolder_entry(path: str) -> ImportEntry:
    parts = path.split("/")
    if len(parts) == 2:
        split, folder = Split.UNASSIGNED, parts[0]
    elif len(parts) == 3 and parts[0].casefold() in SPLIT_FOLDERS:
        split, folder = SPLIT_NAMES[parts[0].casefold()], parts[1]
    elif len(parts) == 3:
        raise EntryRejected(f"unknown split folder {parts[0]!r}; allowed: {ALLOWED_SPLITS_TEXT}")
    else:
        raise EntryRejected("not in a class folder (expected class/file or split/class/file)")
    label, labels = labels_combine(folder, [])
    return ImportEntry(path=path, label=label, labels=labels, split=split)


def manifest_format_for(path: str) -> str | None:
    return MANIFEST_FORMATS.get(posixpath.splitext(path.lower())[1])


def manifest_entries(data: bytes, *, kind: str, manifest_path: str) -> list[ImportEntry | ReportLine]:
    """Parse a CSV or JSONL manifest into entries (paths joined to the manifest's folder) and report lines.

    Args:
        data: the manifest's bytes (UTF-8, an optional BOM is accepted).
        kind: "csv" or "jsonl".
        manifest_path: where the manifest lies inside the source; row paths are relative to its folder.
    Raises SourceRejected when the manifest is unreadable as a whole (encoding, header).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceRejected(f"the manifest {manifest_path} is not UTF-8 text ({exc.reason} at byte {exc.start})")
    state = _ManifestState(base=posixpath.dirname(manifest_path), manifest_name=manifest_path)
    rows = _csv_rows(text, state) if kind == "csv" else _jsonl_rows(text, state)
    return [item for line, row in rows for item in _row_items(row, line, state)]


def _csv_rows(text: str, state: _ManifestState) -> Iterator[tuple[int, dict[str, Any] | ReportLine]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().casefold() for column in next(reader)]
    except StopIteration:
        raise SourceRejected(f"the manifest {state.manifest_name} is empty")
    unknown = _header_check(header, state)
    if unknown:
        yield 1, _unknown_columns_warning(unknown, state)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if CSV_FIELD_TOO_LARGE not in str(exc):
                raise SourceRejected(
                    f"the manifest {state.manifest_name} is not valid CSV (line {reader.line_num}: {exc})"
                )
            yield reader.line_num, _csv_row_rejected(reader.line_num, state, exc)  # the reader goes on at the next line
            continue
        if any(value.strip() for value in values):
            yield reader.line_num, _csv_row(header, values)


def _csv_row_rejected(line: int, state: _ManifestState, exc: csv.Error) -> ReportLine:
    return ReportLine(f"{state.manifest_name}:{line}", "rejected", f"line {line}: a field is too long to read ({exc})")


def _csv_row(header: list[str], values: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {name: value for name, value in zip(header, values, strict=False) if name in MANIFEST_COLUMNS}
    if "labels" in row:
        row["labels"] = row["labels"].split(";")
    return row


def _header_check(header: list[str], state: _ManifestState) -> list[str]:
    if "path" not in header:
        raise SourceRejected(f"the manifest {state.manifest_name} has no 'path' column")
    if "label" not in header and "labels" not in header:
        raise SourceRejected(f"the manifest {state.manifest_name} has neither a 'label' nor a 'labels' column")
    unknown = sorted({column for column in header if column not in MANIFEST_COLUMNS})
    state.warned_keys.update(unknown)
    return unknown


def _jsonl_rows(text: str, state: _ManifestState) -> Iterator[tuple[int, dict[str, Any] | ReportLine]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, ReportLine(f"{state.manifest_name}:{number}", "rejected", f"not valid JSON ({exc.msg})")
            continue
        except RecursionError:  # the parser recurses once per level: a line nested thousands deep
            yield number, ReportLine(f"{state.manifest_name}:{number}", "rejected", "JSON nested too deeply to read")
            continue
        if not isinstance(row, dict):
            yield number, ReportLine(f"{state.manifest_name}:{number}", "rejected", "a line must be a JSON object")
            continue
        if "\\u" in raw and not _encodes_as_utf8(row):  # only a \u escape can make a lone surrogate
            reason = "a string holds a lone UTF-16 surrogate (not Unicode text)"
            yield number, ReportLine(f"{state.manifest_name}:{number}", "rejected", reason)
            continue
        unknown = sorted(str(key) for key in row if key not in MANIFEST_COLUMNS and key not in state.warned_keys)
        if unknown:
            state.warned_keys.update(unknown)
            yield number, _unknown_columns_warning(unknown, state)
        yield number, {key: value for key, value in row.items() if key in MANIFEST_COLUMNS}


def _encodes_as_utf8(row: dict[str, Any]) -> bool:
    try:
        json.dumps(row, ensure_ascii=False).encode()
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _unknown_columns_warning(names: list[str], state: _ManifestState) -> ReportLine:
    return ReportLine(state.manifest_name, "warning", f"unknown columns ignored: {', '.join(names)}")


def _row_items(
    row: dict[str, Any] | ReportLine, line: int, state: _ManifestState
) -> Iterator[ImportEntry | ReportLine]:
    if isinstance(row, ReportLine):
        yield row
        return
    path_value = row.get("path")
    name = str(path_value) if isinstance(path_value, str) and path_value.strip() else f"{state.manifest_name}:{line}"
    try:
        yield _row_entry(row, line, state)
    except EntryRejected as exc:
        yield ReportLine(name, "rejected", f"line {line}: {exc.reason}")


def _row_entry(row: dict[str, Any], line: int, state: _ManifestState) -> ImportEntry:
    path = _row_path(row.get("path"), state, what="path")
    if path in state.seen_paths:
        raise EntryRejected(f"the same path is listed twice (first on line {state.seen_paths[path]}): skipped")
    label, labels = labels_combine(_text(row.get("label"), "label"), _label_list(row.get("labels")))
    entry = ImportEntry(
        path=path,
        label=label,
        labels=labels,
        split=split_normalize(_text(row.get("split"), "split")),
        caption=_text(row.get("caption"), "caption").strip(),
        mask_path=_row_path(row["mask"], state, what="mask") if _text(row.get("mask"), "mask").strip() else "",
        line=line,
    )
    state.seen_paths[path] = line
    return entry


def _row_path(value: Any, state: _ManifestState, *, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EntryRejected(f"missing {what}")
    try:
        relative = path_safe_relative(value.strip())
    except EntryRejected as exc:
        raise EntryRejected(f"{what} must stay inside the manifest's folder: {exc.reason}")
    return posixpath.join(state.base, relative) if state.base else relative


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EntryRejected(f"{what} must be a string")
    return str(value)


def _label_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return value.split(";")
    if isinstance(value, list) and all(isinstance(item, str | int) and not isinstance(item, bool) for item in value):
        return [str(item) for item in value]
    raise EntryRejected("labels must be a list of strings")


# --- which layout a source has ----------------------------------------------------------------


@dataclass
class ImportLayout:
    reader: SourceReader
    entries: list[ImportEntry | ReportLine]
    format: str


@contextmanager
def import_layout_open(*, source: str, format: str, limits: ArchiveLimits) -> Iterator[ImportLayout]:
    """Open a source and list what it holds, as entries to import and lines already reported.

    Raises SourceRejected when the source cannot be used at all (missing, not a zip, empty, …).
    """
    handles: list[IO[bytes]] = []
    reader: SourceReader | None = None
    try:
        reader, manifest = _reader_open(source, format, limits, handles)
        yield _layout_build(reader, manifest, format)
    finally:
        if reader is not None:
            reader.close()
        for handle in handles:
            handle.close()


def _reader_open(
    source: str, format: str, limits: ArchiveLimits, handles: list[IO[bytes]]
) -> tuple[SourceReader, str | None]:
    """The reader for `source`, and the manifest's path when the source is a manifest file."""
    if upload_key_is_valid(source):
        try:  # one request on object storage; no window between a check and the open
            handles.append(default_storage.open(source, "rb"))
        except FileNotFoundError:
            raise SourceRejected("the uploaded archive is gone") from None
        return ZipReader(handles[-1], limits=limits), None
    path = Path(source)
    if path.is_dir():
        if format == "zip":
            raise SourceRejected(f"{source} is a folder, not a zip archive")
        return FolderReader(path, limits=limits), None
    if not path.is_file():
        raise SourceRejected(f"no such file or folder: {source}")
    if _is_manifest_file(path, format):
        if format in ("imagefolder", "zip"):
            raise SourceRejected(f"{source} is a manifest: use the format csv, jsonl or auto")
        return FolderReader(path.parent, limits=limits), path.name
    handles.append(path.open("rb"))
    return ZipReader(handles[-1], limits=limits), None


def _is_manifest_file(path: Path, format: str) -> bool:
    if path.suffix.lower() in MANIFEST_FORMATS:
        return True
    with path.open("rb") as handle:
        return format in ("csv", "jsonl") and handle.read(4) not in ZIP_MAGIC


def _layout_build(reader: SourceReader, manifest: str | None, format: str) -> ImportLayout:
    files: list[str] = []
    skipped_lines: list[ImportEntry | ReportLine] = []
    if manifest is None:
        files, skipped = reader.scan()
        skipped_lines = [ReportLine(item.path, "rejected", item.reason) for item in skipped]
        files = _wrapper_strip(reader, files)
        manifest = _manifest_pick(files, format)
    if manifest is None:
        entries, resolved = list(imagefolder_entries(files)), "imagefolder"
    else:
        resolved = format if format in ("csv", "jsonl") else manifest_format_for(manifest) or "csv"
        entries = manifest_entries(_manifest_bytes(reader, manifest), kind=resolved, manifest_path=manifest)
    if not entries and not skipped_lines:
        where = "archive" if isinstance(reader, ZipReader) else "source"
        raise SourceRejected(f"the {where} contains no files to import")
    return ImportLayout(reader=reader, entries=skipped_lines + entries, format=resolved)


def _wrapper_strip(reader: SourceReader, files: list[str]) -> list[str]:
    if not isinstance(reader, ZipReader):
        return files
    wrapper = wrapper_folder(files, keep=SPLIT_FOLDERS, manifest_suffixes=tuple(MANIFEST_FORMATS))
    return reader.use_wrapper(wrapper) if wrapper else files


def _manifest_pick(files: list[str], format: str) -> str | None:
    """The manifest at the top of a folder or archive, if the format asks for (or allows) one."""
    if format == "imagefolder":
        return None
    found = [f for f in files if "/" not in f and manifest_format_for(f) in _manifest_kinds(format)]
    if len(found) > 1:
        raise SourceRejected(f"several manifests at the top of the source ({', '.join(found)}); keep one")
    if not found and format in ("csv", "jsonl"):
        raise SourceRejected(f"no {format} manifest at the top of the source")
    return found[0] if found else None


def _manifest_kinds(format: str) -> set[str]:
    return {format} if format in ("csv", "jsonl") else {"csv", "jsonl"}


def _manifest_bytes(reader: SourceReader, manifest: str) -> bytes:
    try:
        return reader.read(manifest)
    except EntryRejected as exc:
        raise SourceRejected(f"the manifest {manifest} cannot be read: {exc.reason}")
