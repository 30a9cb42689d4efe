"""Export services: request an export (a job), run it, serve and purge its files.

exports.py (requests, the export job, downloads, expiry), outputs.py (the produced files in storage),
writing.py (the writer contract and shard limits), and one writer per format: imagefolder.py,
huggingface.py, webdataset.py, manifests.py (csv, jsonl), over layout.py (paths inside an export).
"""

from curation.exports.services.exports import (
    EXPORT_JOB_KIND,
    FORMAT_OPTIONS,
    ExportFileRef,
    export_cleanup,
    export_create_inline,
    export_file_for_download,
    export_options_validate,
    export_run,
    export_submit,
    exports_expired_purge,
)
from curation.exports.services.outputs import CHECKSUM_FILE_NAME, COPY_CHUNK_BYTES, export_files_delete, export_folder

__all__ = [
    "CHECKSUM_FILE_NAME",
    "COPY_CHUNK_BYTES",
    "EXPORT_JOB_KIND",
    "FORMAT_OPTIONS",
    "ExportFileRef",
    "export_cleanup",
    "export_create_inline",
    "export_file_for_download",
    "export_files_delete",
    "export_folder",
    "export_options_validate",
    "export_run",
    "export_submit",
    "exports_expired_purge",
]
