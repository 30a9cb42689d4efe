"""`manage.py verify_blobs [--repair]`: every blob the sample rows reference, re-checked and mended."""

import io
import json
import os
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from curation.models import Sample
from curation.services.blob_claims import blob_claims_take
from jobs.models import JobStatus
from tests.curation.test_import_helpers import image_bytes, run_import, source_folder, write_files

pytestmark = pytest.mark.django_db


def mask_png(n: int) -> bytes:
    mask = Image.new("L", (32, 24), 0)
    mask.paste(255, (n, n, n + 8, n + 8))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def imported_with_masks(tmp_path: Path, name: str) -> dict[str, Sample]:
    folder = source_folder(tmp_path)
    write_files(folder, {f"img/{n}.png": image_bytes((n * 60, 20, 20), format="PNG") for n in range(4)})
    write_files(folder, {f"masks/{n}.png": mask_png(n) for n in range(4)})
    rows = "\n".join(f"img/{n}.png,cat,masks/{n}.png" for n in range(4))
    (folder / "m.csv").write_text(f"path,label,mask\n{rows}\n")
    job = run_import({"source": str(folder / "m.csv"), "name": name})
    assert job.status == JobStatus.SUCCEEDED, job.error
    return {s.original_name: s for s in Sample.objects.filter(dataset_id=job.result["dataset"])}


def verify(*args: str) -> tuple[list[str], dict]:
    out = io.StringIO()
    call_command("verify_blobs", *args, stdout=out)
    *lines, last = out.getvalue().splitlines()
    return lines, json.loads(last)


def test_verify_reports_damaged_and_missing_blobs_and_repair_mends_what_it_can(tmp_path: Path, isolated_media: Path):
    # given four imported samples: one intact, one with a truncated original, one with an empty thumbnail,
    # one whose mask is gone; and two temporary files of killed writers, one stale, one fresh
    samples = imported_with_masks(tmp_path, "pets")
    intact, truncated, thumbless, maskless = (samples[f"img/{n}.png"] for n in range(4))
    original = isolated_media / truncated.image_key
    original.write_bytes(original.read_bytes()[:50])
    (isolated_media / thumbless.thumbnail_key).write_bytes(b"")
    (isolated_media / maskless.mask_key).unlink()
    stale, fresh = isolated_media / "images" / "zz" / ".x.jpg.1.tmp", isolated_media / "images" / "zz" / ".y.jpg.2.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"part")
    fresh.write_bytes(b"part")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    # when verified
    lines, summary = verify()
    # then each problem is a line and the summary counts them, with the samples to re-import
    dataset = str(intact.dataset_id)
    assert summary == {
        "repair": False, "samples": 4, "blobs_checked": 12, "missing": 1, "damaged": 2, "deleted": 0,
        "thumbnails_remade": 0, "temporaries_deleted": 0,
        "reimport": {"samples": 2, "sample_ids": sorted([truncated.pk, maskless.pk]), "datasets": {dataset: 2}},
    }  # fmt: skip
    size = truncated.file_size
    assert sorted(lines) == sorted([
        f"damaged {truncated.image_key}: 50 bytes stored, the sample has {size:,} (samples {truncated.pk})",
        f"damaged {thumbless.thumbnail_key}: empty (0 bytes) (samples {thumbless.pk})",
        f"missing {maskless.mask_key}: no file under the key (samples {maskless.pk})",
    ])  # fmt: skip
    # when repaired
    lines, summary = verify("--repair")
    # then the damaged original is deleted, the thumbnail remade, the stale temporary file deleted
    assert (summary["deleted"], summary["thumbnails_remade"], summary["temporaries_deleted"]) == (1, 1, 1)
    assert (
        f"damaged {truncated.image_key}: 50 bytes stored, the sample has {size:,} (samples {truncated.pk}): deleted"
        in lines
    )
    assert not original.exists()
    assert (isolated_media / thumbless.thumbnail_key).stat().st_size > 0
    Image.open(isolated_media / thumbless.thumbnail_key).load()
    assert (not stale.exists(), fresh.exists()) == (True, True)
    # and a re-import of the same files (into any dataset) stores the lost bytes again: all is well
    imported_with_masks(tmp_path, "pets again")
    lines, summary = verify()
    assert (lines, summary["missing"], summary["damaged"], summary["reimport"]["samples"]) == ([], 0, 0, 0)
    assert summary["samples"] == 8


def test_a_damaged_blob_an_import_has_claimed_is_not_deleted(tmp_path: Path, isolated_media: Path):
    samples = imported_with_masks(tmp_path, "pets")
    sample = samples["img/0.png"]
    (isolated_media / sample.image_key).write_bytes(b"")
    blob_claims_take([sample.image_key], job_id=123)  # an import is storing these bytes again

    lines, summary = verify("--repair")

    assert summary["deleted"] == 0
    assert (isolated_media / sample.image_key).exists()
    assert lines[0].endswith(": kept: an import is storing it, or it was mended")
