"""Importing a dataset from a server folder, an uploaded zip or a CSV/JSONL manifest (docs/ARCHITECTURE.md §4, §10).

The `import_dataset` job: resolve the source and its layout → create the Dataset → ingest file by
file, reporting progress after each batch (where a cancel lands) → save the full report → create
version 1 (operation import) with its VersionSample rows and the class taxonomy in one transaction.

Choices made:
- Exact duplicates: the first file in path order becomes the sample; later identical files become
  SampleAlias rows, reported as duplicates, or as conflicts when their label differs (the first
  label is kept).
- The dataset row exists from the start (its id is recorded in the job's result so that cleanup
  finds it even after a lost worker), but samples become members of a version only at the end. The
  kind's cleanup (run by the job runner after a failure or cancel, and before a retry) removes
  everything the job created: version, samples, aliases, blobs no other row references, the
  report, the dataset. An uploaded zip is deleted when the import ends, whatever the outcome.
- The result's `report` lists the first REPORT_INLINE_LINES lines that need attention (rejected,
  duplicate, conflict, warning); every line, imported files included, is in the JSONL at `report_key`.
- Throughput: reading, decoding, hashing and thumbnailing (no side effects) run on
  `decode_threads` threads a few files ahead of the bookkeeping, which stays on the job's thread
  in path order (so "first copy" is deterministic); Pillow, zlib and hashlib release the GIL.
  Once the job's thread accepts a new sample, its blob keys are claimed (a few samples per
  transaction, so that no other job's cleanup deletes a blob this import was told exists), its
  blobs are stored on those threads too, and its rows wait for the batch's flush, which drops the
  claims: samples, aliases and (at the end) members are bulk-inserted. A batch's rows are inserted
  even when the batch fails, so the cleanup finds every stored blob (and a killed attempt's claims
  name the blobs stored before their rows); nothing is stored for files past the batch where a
  cancel lands. Memory stays bounded by the look-ahead (2 × threads files, and as many recorded
  but not claimed yet, 32 MiB of them at most), whatever the archive. Duplicates are found in
  memory (the dataset is new), so there is no per-file query.

Modules: params.py (parameters and their checks), submit.py (storing an upload, submitting the job),
run.py (the job), entries.py (one file's way through the job: prepared, then recorded),
report.py (the per-file report), cleanup.py (undoing a failed or cancelled import).
"""

from curation.services.imports.cleanup import dataset_import_cleanup, import_partial_undo
from curation.services.imports.params import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_DECODE_THREADS,
    IMPORT_FORMATS,
    IMPORT_JOB_KIND,
    ImportParams,
    import_params_validate,
)
from curation.services.imports.report import REPORT_INLINE_LINES, ImportReport, import_report_key
from curation.services.imports.run import dataset_import
from curation.services.imports.submit import (
    dataset_import_submit,
    dataset_import_upload_submit,
    import_upload_store,
    upload_discard,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DECODE_THREADS",
    "IMPORT_FORMATS",
    "IMPORT_JOB_KIND",
    "REPORT_INLINE_LINES",
    "ImportParams",
    "ImportReport",
    "dataset_import",
    "dataset_import_cleanup",
    "dataset_import_submit",
    "dataset_import_upload_submit",
    "import_params_validate",
    "import_partial_undo",
    "import_report_key",
    "import_upload_store",
    "upload_discard",
]
