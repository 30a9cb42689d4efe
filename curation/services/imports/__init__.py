"""Importing a dataset: a package being split out of one module; every name lives in run.py for now."""

from curation.services.imports.run import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_DECODE_THREADS,
    IMPORT_FORMATS,
    IMPORT_JOB_KIND,
    REPORT_INLINE_LINES,
    ImportParams,
    ImportReport,
    dataset_import,
    dataset_import_cleanup,
    dataset_import_submit,
    dataset_import_upload_submit,
    import_params_validate,
    import_partial_undo,
    import_report_key,
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
