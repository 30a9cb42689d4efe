"""Writes of the curation base app: importing datasets, storing samples, tags and selections, blob bookkeeping.

imports/ (the import_dataset job, a package listing its own API), archives.py and manifests.py (reading a
source and its layout), ingest.py (decode, thumbnail, store a sample), decode_budget.py, demo.py (the demo
dataset), tags.py, selections.py, blob_claims.py and blob_verify.py (which blobs rows still need),
weights.py (model weights on disk).
"""

from curation.services.archives import (
    ZIP_MAGIC,
    ArchiveLimits,
    EntryRejected,
    FolderReader,
    SkippedEntry,
    SourceReader,
    SourceRejected,
    ZipReader,
    path_is_archive,
    path_is_hidden,
    path_safe_relative,
    upload_key_is_valid,
    wrapper_folder,
)
from curation.services.blob_claims import (
    SEPARATOR,
    blob_claims_drop,
    blob_claims_drop_for_job,
    blob_claims_take,
    blob_keys_referenced,
    blobs_collect,
)
from curation.services.blob_verify import (
    BlobProblem,
    BlobVerification,
    sample_blobs_verify,
)
from curation.services.decode_budget import (
    DecodeBudget,
    decode_budget,
    decoded_bytes_estimate,
)
from curation.services.demo import (
    DemoDatasetResult,
    demo_dataset_build,
    demo_source_dirs,
    demo_truth_key,
)
from curation.services.ingest import (
    DecodedImage,
    ImageRejected,
    IngestResult,
    SampleBlobKeys,
    image_decode,
    mask_encode,
    sample_blob_keys,
    sample_image_open,
    sample_ingest,
    sample_stage,
    samples_delete_for_job,
)
from curation.services.manifests import (
    ImportEntry,
    ImportLayout,
    ReportLine,
    imagefolder_entries,
    import_layout_open,
    label_normalize,
    labels_combine,
    manifest_entries,
    manifest_format_for,
    split_normalize,
)
from curation.services.selections import (
    version_from_selection,
)
from curation.services.tags import (
    sample_tags_apply,
)
from curation.services.weights import (
    weights_job_check,
    weights_name_check,
)

__all__ = [
    "SEPARATOR",
    "ZIP_MAGIC",
    "ArchiveLimits",
    "BlobProblem",
    "BlobVerification",
    "DecodeBudget",
    "DecodedImage",
    "DemoDatasetResult",
    "EntryRejected",
    "FolderReader",
    "ImageRejected",
    "ImportEntry",
    "ImportLayout",
    "IngestResult",
    "ReportLine",
    "SampleBlobKeys",
    "SkippedEntry",
    "SourceReader",
    "SourceRejected",
    "ZipReader",
    "blob_claims_drop",
    "blob_claims_drop_for_job",
    "blob_claims_take",
    "blob_keys_referenced",
    "blobs_collect",
    "decode_budget",
    "decoded_bytes_estimate",
    "demo_dataset_build",
    "demo_source_dirs",
    "demo_truth_key",
    "image_decode",
    "imagefolder_entries",
    "import_layout_open",
    "label_normalize",
    "labels_combine",
    "manifest_entries",
    "manifest_format_for",
    "mask_encode",
    "path_is_archive",
    "path_is_hidden",
    "path_safe_relative",
    "sample_blob_keys",
    "sample_blobs_verify",
    "sample_image_open",
    "sample_ingest",
    "sample_stage",
    "sample_tags_apply",
    "samples_delete_for_job",
    "split_normalize",
    "upload_key_is_valid",
    "version_from_selection",
    "weights_job_check",
    "weights_name_check",
    "wrapper_folder",
]
