"""Hugging Face `imagefolder` layout, zipped: `<split>/<sha256>.<ext>` with `<split>/metadata.jsonl`
per split (`datasets.load_dataset("imagefolder", data_dir=...)` on the extracted folder).

Choices made:
- Split folders use the names `datasets` recognises: train, validation (Winnow's val), test.
  Unassigned members go to `unassigned/`, which that inference ignores when other splits exist
  (alone, it is loaded as train); README.md declares all four splits for `load_dataset(folder)`.
- Labels come from the metadata, not from folders: `label` (primary, "" when unlabeled), `labels`
  and `label_origins` (aligned lists). `provenance` is JSON text, since its keys vary per sample and
  `datasets` needs one column type for every row and split; `soft_labels` is null (none stored yet).
"""

import shutil
import zipfile

from curation.exports.selectors import ExportMember, export_member_batches
from curation.exports.services.imagefolder import zip_blob_add
from curation.exports.services.layout import ExportLayout, image_extension, jsonl_line
from curation.exports.services.outputs import COPY_CHUNK_BYTES, spool_file
from curation.exports.services.writing import ExportWriting, WriterSummary
from curation.models import Split

HF_ZIP_NAME = "hf-imagefolder.zip"
HF_SPLIT_FOLDERS = {Split.TRAIN: "train", Split.VAL: "validation", Split.TEST: "test", Split.UNASSIGNED: "unassigned"}
README = """---
configs:
- config_name: default
  data_files:
{splits}
---
# {dataset} v{version}

Exported by Winnow (version id {version_id}). Images with a `metadata.jsonl` per split: `label` is the
primary label, `labels`/`label_origins` the label set and where each label came from, `provenance`
a JSON object as text.
"""


def hf_imagefolder_write(run: ExportWriting) -> WriterSummary:
    written = 0
    present: list[str] = []
    with run.outputs.open(HF_ZIP_NAME, seekable=True) as out, zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for split, folder in HF_SPLIT_FOLDERS.items():
            count = _split_write(run, archive, split=split, folder=folder)
            if count:
                present.append(folder)
            written += count
        archive.writestr(run.zip_info("README.md", deflate=True), _readme(run.layout, present))
    return WriterSummary(samples=written)


def _split_write(run: ExportWriting, archive: zipfile.ZipFile, *, split: str, folder: str) -> int:
    written = 0
    with spool_file() as metadata:
        for batch in export_member_batches(run.version.pk, split=split):
            for member in batch:
                row = hf_metadata_row(run.layout, member)
                zip_blob_add(run, archive, key=member.image_key, name=f"{folder}/{row['file_name']}")
                metadata.write(jsonl_line(row))
            written += len(batch)
            run.advance(len(batch))
        if written:
            metadata.seek(0)
            info = run.zip_info(f"{folder}/metadata.jsonl", deflate=True)
            with archive.open(info, "w", force_zip64=True) as destination:
                shutil.copyfileobj(metadata, destination, COPY_CHUNK_BYTES)
    return written


def hf_metadata_row(layout: ExportLayout, member: ExportMember) -> dict:
    row = layout.manifest_row(member)
    return {
        "file_name": member.sha256 + image_extension(member.image_key),
        "label": row["label"],
        "labels": row["labels"],
        "label_origins": row["label_origins"],
        "split": row["split"],
        "sha256": row["sha256"],
        "sample_id": row["sample_id"],
        "source": row["source"],
        "caption": row["caption"],
        "provenance": member.provenance_json,
        "soft_labels": None,
    }


def _readme(layout: ExportLayout, folders: list[str]) -> str:
    splits = "\n".join(f"  - split: {folder}\n    path: {folder}/**" for folder in folders)
    return README.format(
        splits=splits, dataset=layout.dataset_name, version=layout.version_number, version_id=layout.version_id
    )
