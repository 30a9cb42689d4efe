"""ImageFolder zip: `<split>/<class>/<sha256>.<ext>` (torchvision's ImageFolder reads a split folder),
masks under `masks/`, unlabeled members under `unlabeled/<split>/`, and `manifest.jsonl` at the top
with every member's label set, origins, split and provenance. The import reads that manifest, so
the zip imports back with the same labels and splits (content hashes are the bytes, unchanged).

Images are stored, not deflated (JPEG/PNG/WebP are compressed already); the manifest is deflated.
It is spooled to a second temporary file while the images stream in and appended at the end, since
a zip writes one member at a time.
"""

import shutil
import zipfile

from django.core.files.storage import default_storage

from curation.exports.selectors import export_member_batches
from curation.exports.services.manifests import JSONL_NAME
from curation.exports.services.outputs import COPY_CHUNK_BYTES, spool_file
from curation.exports.services.writing import ExportWriting, WriterSummary

IMAGEFOLDER_ZIP_NAME = "imagefolder.zip"


def imagefolder_zip_write(run: ExportWriting) -> WriterSummary:
    written = 0
    with (
        run.outputs.open(IMAGEFOLDER_ZIP_NAME, seekable=True) as out,
        spool_file() as manifest,
        zipfile.ZipFile(out, "w", allowZip64=True) as archive,
    ):
        for batch in export_member_batches(run.version.pk):
            for member in batch:
                zip_blob_add(run, archive, key=member.image_key, name=run.layout.image_path(member))
                if member.mask_key:
                    zip_blob_add(run, archive, key=member.mask_key, name=run.layout.mask_path(member))
                manifest.write(run.layout.manifest_line(member))
            written += len(batch)
            run.advance(len(batch))
        manifest.seek(0)
        with archive.open(run.zip_info(JSONL_NAME, deflate=True), "w", force_zip64=True) as destination:
            shutil.copyfileobj(manifest, destination, COPY_CHUNK_BYTES)
    return WriterSummary(samples=written)


def zip_blob_add(run: ExportWriting, archive: zipfile.ZipFile, *, key: str, name: str) -> None:
    """Stream a stored blob into the zip as `name`, in chunks."""
    with default_storage.open(key, "rb") as source:
        size = source.size
        info = run.zip_info(name, size=size)
        with archive.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as destination:
            shutil.copyfileobj(source, destination, COPY_CHUNK_BYTES)
