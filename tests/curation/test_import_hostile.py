"""Hostile and broken input: each bad file gets a clear report line while the good ones import,
and a source that cannot be used fails the job leaving nothing behind (no rows, no files)."""

import io
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

import jobs.services.runner
from curation.models import Dataset, Sample
from curation.services.imports import import_upload_store
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute
from tests.curation.test_import_helpers import (
    NOTHING,
    image_bytes,
    jpeg,
    media_files,
    members_by_name,
    png_bomb,
    report_statuses,
    row_counts,
    run_import,
    source_folder,
    write_files,
    zip_bytes,
    zip_file,
)
from tests.factories import SampleFactory

pytestmark = pytest.mark.django_db
NOT_AN_IMAGE = "not an image: the content is not a recognised image format"


def upload(data: bytes) -> str:
    return import_upload_store(upload=io.BytesIO(data))


def central_directory_entry(data: bytes, name: str) -> int:
    """Offset of `name`'s entry in a zip's central directory (its sizes sit at +20 and +24)."""
    offset = data.index(b"PK\x01\x02")
    while data[offset + 46 : offset + 46 + len(name)] != name.encode():
        offset = data.index(b"PK\x01\x02", offset + 4)
    return offset


def noisy_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_broken_files_are_reported_one_by_one_while_the_good_ones_import(tmp_path: Path):
    # given a folder with a good image, a text file named .jpg, a truncated JPEG, an empty file and a PNG bomb
    folder = source_folder(tmp_path)
    write_files(
        folder,
        {
            "cat/good.jpg": jpeg(1, size=(64, 64)),
            "cat/text.jpg": b"this is not an image",
            "cat/truncated.jpg": noisy_jpeg()[:2000],
            "cat/cut-in-header.jpg": jpeg(2)[:300],
            "cat/empty.jpg": b"",
            "dog/bomb.png": png_bomb(),
        },
    )
    # when imported
    job = run_import({"source": str(folder), "name": "hostile"})
    # then only the good one is a sample, and each bad one has its reason
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["imported"], job.result["rejected"], job.result["duplicates"]) == (1, 5, 0)
    assert list(members_by_name(job.result["version"])) == ["cat/good.jpg"]
    report = report_statuses(job)
    assert sorted(report) == [
        "cat/cut-in-header.jpg",
        "cat/empty.jpg",
        "cat/text.jpg",
        "cat/truncated.jpg",
        "dog/bomb.png",
    ]
    assert report["cat/empty.jpg"] == ("rejected", "empty file (0 bytes)")
    assert report["cat/text.jpg"] == ("rejected", NOT_AN_IMAGE)
    assert report["cat/truncated.jpg"][1].startswith("truncated or corrupt image data (image file is truncated (")
    assert report["cat/cut-in-header.jpg"] == ("rejected", "truncated or corrupt image data (Truncated File Read)")
    assert report["dog/bomb.png"][1].startswith("decompression bomb: Image size (400000000 pixels) exceeds limit")
    assert Dataset.objects.get(name="hostile").classes == ["cat"]


def test_pixel_limit_comes_from_settings(tmp_path: Path, settings):
    # given a small pixel limit and images on both sides of it
    settings.IMPORT_MAX_IMAGE_PIXELS = 1000
    folder = source_folder(tmp_path)
    write_files(folder, {"cls/small.jpg": jpeg(1, size=(20, 20)), "cls/big.jpg": jpeg(2, size=(40, 30))})
    # when imported
    job = run_import({"source": str(folder), "name": "limited"})
    # then the big one is refused as a decompression bomb
    assert job.result["imported"] == 1
    assert report_statuses(job) == {
        "cls/big.jpg": ("rejected", "decompression bomb: 40×30 pixels exceeds the limit of 1,000"),
    }


def test_zip_slip_names_are_refused_and_nothing_is_written_outside(tmp_path: Path):
    # given a zip with members that try to escape
    key = upload(
        zip_bytes(
            {
                "cat/a.jpg": jpeg(1),
                "../evil.jpg": jpeg(2),
                "/etc/x.jpg": jpeg(3),
                "cat/../../evil2.jpg": jpeg(4),
                "C:\\windows\\evil3.jpg": jpeg(5),
            }
        )
    )
    # when imported
    job = run_import({"source": key, "name": "slip"})
    # then the escaping names are reported, only the safe one imported, and no file appeared outside
    slip = "path with '..' refused (zip slip): nothing is written outside the import"
    absolute = "absolute path refused (zip slip): nothing is written outside the import"
    assert report_statuses(job) == {
        "../evil.jpg": ("rejected", slip),
        "/etc/x.jpg": ("rejected", absolute),
        "cat/../../evil2.jpg": ("rejected", slip),
        "C:\\windows\\evil3.jpg": ("rejected", absolute),
    }
    assert list(members_by_name(job.result["version"])) == ["cat/a.jpg"]
    assert sorted(p.name for p in tmp_path.rglob("evil*")) == []
    assert [name for name in media_files() if not name.startswith(("images/", "thumbnails/", "reports/"))] == []


def test_symlinks_in_a_zip_are_skipped(tmp_path: Path):
    # given a zip with a symbolic link member pointing at a system file
    archive = zip_file(tmp_path / "l.zip", {"cat/a.jpg": jpeg(1)}, symlinks={"cat/passwd.jpg": "/etc/passwd"})
    # when imported
    job = run_import({"source": str(archive), "name": "links"})
    # then the link is reported and never followed
    assert report_statuses(job) == {"cat/passwd.jpg": ("rejected", "symbolic link in the archive: skipped")}
    assert job.result["imported"] == 1


def test_a_highly_compressed_member_is_refused_as_a_zip_bomb(tmp_path: Path):
    # given a zip with 20 MB of zeros under an image name (about 1000:1)
    archive = zip_file(tmp_path / "b.zip", {"cat/a.jpg": jpeg(1), "cat/bomb.jpg": b"\0" * 20_000_000})
    # when imported with the default ratio limit
    job = run_import({"source": str(archive), "name": "bomb"})
    # then the bomb is refused while decompressing, the image imported
    status, reason = report_statuses(job)["cat/bomb.jpg"]
    assert (status, reason.split(" (")[0]) == ("rejected", "zip bomb: compression ratio over 200:1")
    assert job.result["imported"] == 1


def test_a_member_whose_header_understates_its_size_is_refused(tmp_path: Path):
    # given a member of 5 MB whose local and central headers claim 1,000 bytes
    data = bytearray(zip_bytes({"cat/a.jpg": jpeg(1), "cat/lie.jpg": b"\1" * 5_000_000}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("cat/lie.jpg")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)
    struct.pack_into("<I", data, central_directory_entry(bytes(data), "cat/lie.jpg") + 24, 1000)
    archive = tmp_path / "lie.zip"
    archive.write_bytes(bytes(data))
    # when imported
    job = run_import({"source": str(archive), "name": "lie"})
    # then the member is refused (its real bytes never match the header), the other imported
    status, reason = report_statuses(job)["cat/lie.jpg"]
    assert (status, reason) == ("rejected", "corrupt archive member (Bad CRC-32 for file 'cat/lie.jpg')")
    assert job.result["imported"] == 1


def test_nested_archives_are_reported_and_not_extracted(tmp_path: Path):
    # given a zip holding a zip and a tar
    archive = zip_file(
        tmp_path / "n.zip",
        {"cat/a.jpg": jpeg(1), "cat/inner.zip": zip_bytes({"cat/b.jpg": jpeg(2)}), "cat/x.tar": b"\0" * 1024},
    )
    # when imported
    job = run_import({"source": str(archive), "name": "nested"})
    # then both are reported, and the inner image is not imported
    nested = ("rejected", "nested archive: not supported, not extracted")
    assert report_statuses(job) == {"cat/inner.zip": nested, "cat/x.tar": nested}
    assert Sample.objects.count() == 1


def test_hidden_files_and_macos_resource_forks_are_ignored(tmp_path: Path):
    # given a zip as macOS writes it
    archive = zip_file(
        tmp_path / "mac.zip",
        {
            "cat/a.jpg": jpeg(1),
            "__MACOSX/cat/._a.jpg": b"\0\5\26\7",
            "cat/.DS_Store": b"junk",
            ".hidden/x.jpg": jpeg(2),
        },
    )
    # when imported
    job = run_import({"source": str(archive), "name": "mac"})
    # then only the image counts, without report lines for the noise
    assert (job.result["imported"], job.result["rejected"], job.result["report"]) == (1, 0, [])


def test_folder_symlinks_are_followed_only_inside_the_folder(tmp_path: Path):
    # given a folder with a link to a file inside it and a link to a file outside it
    folder = source_folder(tmp_path)
    write_files(folder, {"cat/a.jpg": jpeg(1), "cat/other.jpg": jpeg(2)})
    (tmp_path / "outside.jpg").write_bytes(jpeg(3))
    (folder / "dog").mkdir()
    (folder / "dog" / "inside.jpg").symlink_to(folder / "cat" / "other.jpg")
    (folder / "dog" / "escape.jpg").symlink_to(tmp_path / "outside.jpg")
    # when imported
    job = run_import({"source": str(folder), "name": "folder-links"})
    # then the inside link is a duplicate of its target, the escaping one refused
    assert report_statuses(job) == {
        "dog/escape.jpg": ("rejected", "symbolic link pointing outside the source folder: skipped"),
        "dog/inside.jpg": (
            "conflict",
            "exact duplicate of cat/other.jpg with another label: kept 'cat', ignored 'dog'",
        ),
    }


def test_files_outside_the_imagefolder_layout_are_reported(tmp_path: Path):
    # given files at the top, too deep, and under an unknown split folder
    folder = source_folder(tmp_path)
    write_files(
        folder,
        {"top.jpg": jpeg(1), "a/b/c/deep.jpg": jpeg(2), "training/cat/x.jpg": jpeg(3), "cat/ok.jpg": jpeg(4)},
    )
    # when imported
    job = run_import({"source": str(folder), "name": "layout"})
    # then each is refused with the expected layout
    not_in_class = ("rejected", "not in a class folder (expected class/file or split/class/file)")
    assert report_statuses(job) == {
        "a/b/c/deep.jpg": not_in_class,
        "top.jpg": not_in_class,
        "training/cat/x.jpg": (
            "rejected",
            "unknown split folder 'training'; allowed: train, val (or valid, validation), test, unassigned",
        ),
    }


def test_manifest_problems_are_reported_per_row(tmp_path: Path):
    # given a CSV with a missing file, an unknown column, a bad split, a repeated path, an empty label
    # and two files of the same name in different folders
    folder = source_folder(tmp_path)
    write_files(folder, {"a/x.jpg": jpeg(1), "b/x.jpg": jpeg(2), "c.jpg": jpeg(3), "d.jpg": jpeg(4)})
    (folder / "m.csv").write_text(
        "path,label,split,source_url,notes\n"
        "a/x.jpg,cat,train,http://a,\n"
        "b/x.jpg,cat,train,http://b,\n"
        "missing.jpg,cat,train,,\n"
        "c.jpg,cat,training,,\n"
        "a/x.jpg,dog,test,,\n"
        "d.jpg,   ,train,,\n"
        "../../etc/passwd,cat,train,,\n"
    )
    # when imported
    job = run_import({"source": str(folder / "m.csv"), "name": "bad-rows"})
    # then the good rows import and each problem is one line
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert sorted(members_by_name(job.result["version"])) == ["a/x.jpg", "b/x.jpg"]
    assert job.result["report"] == [
        {"file": "m.csv", "status": "warning", "reason": "unknown columns ignored: notes, source_url"},
        {"file": "missing.jpg", "status": "rejected", "reason": "line 4: file not found"},
        {
            "file": "c.jpg",
            "status": "rejected",
            "reason": "line 5: unknown split 'training'; allowed: train, val (or valid, validation), test, unassigned",
        },
        {
            "file": "a/x.jpg",
            "status": "rejected",
            "reason": "line 6: the same path is listed twice (first on line 2): skipped",
        },
        {"file": "d.jpg", "status": "rejected", "reason": "line 7: empty label (after trimming whitespace)"},
        {
            "file": "../../etc/passwd",
            "status": "rejected",
            "reason": "line 8: path must stay inside the manifest's folder: "
            "path with '..' refused (zip slip): nothing is written outside the import",
        },
    ]
    assert (job.result["imported"], job.result["rejected"]) == (2, 5)


def test_jsonl_unknown_keys_are_warned_once_and_bad_lines_reported(tmp_path: Path):
    # given a JSONL with an extra key on two lines, a broken line and a non-object line
    folder = source_folder(tmp_path)
    write_files(folder, {"a.jpg": jpeg(1), "b.jpg": jpeg(2)})
    (folder / "m.jsonl").write_text(
        '{"path": "a.jpg", "label": "cat", "score": 0.5}\n'
        "{not json\n"
        '["b.jpg", "dog"]\n'
        '{"path": "b.jpg", "label": "dog", "score": 0.7, "labels": "dog;pet"}\n'
    )
    # when imported
    job = run_import({"source": str(folder / "m.jsonl"), "name": "jsonl-bad"})
    # then one warning, two rejected lines, two samples
    assert job.result["report"] == [
        {"file": "m.jsonl", "status": "warning", "reason": "unknown columns ignored: score"},
        {
            "file": "m.jsonl:2",
            "status": "rejected",
            "reason": "not valid JSON (Expecting property name enclosed in double quotes)",
        },
        {"file": "m.jsonl:3", "status": "rejected", "reason": "a line must be a JSON object"},
    ]
    assert members_by_name(job.result["version"])["b.jpg"] == ("unassigned", "dog", ["dog", "pet"])


def test_labels_with_odd_unicode_and_whitespace_are_one_class(tmp_path: Path):
    # given the same class spelled composed, decomposed and with stray whitespace
    folder = source_folder(tmp_path)
    write_files(folder, {f"{n}.jpg": jpeg(n) for n in range(4)})
    (folder / "m.jsonl").write_text(
        '{"path": "0.jpg", "label": " Cafe\\u0301 "}\n'
        '{"path": "1.jpg", "label": "Caf\\u00e9"}\n'
        '{"path": "2.jpg", "label": "ice \\t  cream", "labels": ["ice cream", " Caf\\u00e9\\u00a0"]}\n'
        '{"path": "3.jpg", "label": "\\u00a0 \\n"}\n'
    )
    # when imported
    job = run_import({"source": str(folder / "m.jsonl"), "name": "unicode"})
    # then there are two classes, and the blank label is rejected
    assert Dataset.objects.get(name="unicode").classes == ["Café", "ice cream"]
    assert members_by_name(job.result["version"]) == {
        "0.jpg": ("unassigned", "Café", ["Café"]),
        "1.jpg": ("unassigned", "Café", ["Café"]),
        "2.jpg": ("unassigned", "ice cream", ["ice cream", "Café"]),
    }
    assert report_statuses(job) == {"3.jpg": ("rejected", "line 4: empty label (after trimming whitespace)")}


def test_a_mask_of_the_wrong_size_rejects_its_row(tmp_path: Path):
    # given a manifest row whose mask does not match the image
    folder = source_folder(tmp_path)
    write_files(folder, {"a.jpg": jpeg(1), "m.png": image_bytes(255, size=(8, 8), mode="L", format="PNG")})
    (folder / "m.csv").write_text("path,label,mask\na.jpg,cat,m.png\n")
    # when imported
    job = run_import({"source": str(folder / "m.csv"), "name": "masks"})
    # then nothing imports and the job says why, leaving nothing
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "nothing was imported: 1 files rejected, 0 duplicates "
        "(first: a.jpg: line 2: mask m.png: mask size 8×8 does not match image 32×24)",
    )
    assert row_counts() == NOTHING


# --- sources that cannot be used: the job fails and leaves nothing ---------------------------------


def test_an_empty_archive_fails_and_leaves_nothing(tmp_path: Path):
    # given an uploaded zip with no members
    key = upload(zip_bytes({}))
    # when imported
    job = run_import({"source": key, "name": "empty"})
    # then the job fails with the reason, and neither rows nor files (the upload included) remain
    assert (job.status, job.error) == (JobStatus.FAILED, "the archive contains no files to import")
    assert (row_counts(), media_files()) == (NOTHING, [])


def test_a_corrupt_upload_fails_clearly_and_is_deleted(tmp_path: Path):
    # given an upload that starts like a zip but is not one
    key = upload(b"PK\x03\x04" + b"garbage" * 100)
    # when imported
    job = run_import({"source": key, "name": "corrupt"})
    # then the job fails with a clear message and the upload is gone
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "the upload is not a valid zip archive (File is not a zip file)",
    )
    assert (row_counts(), media_files()) == (NOTHING, [])


def test_a_taken_name_fails_before_writing_and_leaves_the_existing_dataset(tmp_path: Path):
    # given a dataset already named "pets"
    folder = source_folder(tmp_path)
    write_files(folder, {"cat/a.jpg": jpeg(1)})
    existing = Dataset.objects.create(name="pets")
    # when another import asks for the name
    job = run_import({"source": str(folder), "name": "pets"})
    # then it fails and the existing dataset is untouched
    assert (job.status, job.error) == (JobStatus.FAILED, "a dataset named 'pets' already exists")
    assert list(Dataset.objects.values_list("pk", flat=True)) == [existing.pk]
    assert (Sample.objects.count(), media_files()) == (0, [])


def test_an_archive_expanding_past_the_limit_fails_midway_and_leaves_nothing(tmp_path: Path, settings):
    # given an uploaded zip whose members together exceed the archive limit, read one per batch
    files = {f"cls/{n}.jpg": jpeg(n) for n in range(5)}
    settings.IMPORT_MAX_ARCHIVE_BYTES = sum(len(files[f"cls/{n}.jpg"]) for n in range(3)) - 1
    key = upload(zip_bytes(files))
    before = row_counts()
    # when imported, two files are ingested before the limit is hit
    seen = []
    params = {"source": key, "name": "too-big", "batch_size": 1, "decode_threads": 1}  # members read in order
    job = run_import(params, progress_callback=lambda done, total, message: seen.append(message))
    # then the job failed, and nothing it wrote remains: rows, blobs, report, upload
    assert seen[-1] == "2 imported, 0 rejected, 0 duplicates"
    assert job.status == JobStatus.FAILED
    limit = settings.IMPORT_MAX_ARCHIVE_BYTES
    assert job.error == f"zip bomb: the archive expands beyond the limit of {limit:,} bytes; import stopped"
    assert (before, row_counts(), media_files()) == (NOTHING, NOTHING, [])


def test_cancel_between_batches_leaves_nothing(tmp_path: Path, monkeypatch):
    # given six files imported two per batch, and a cancel requested after the first batch
    monkeypatch.setattr(jobs.services.runner, "SYNC_INTERVAL_S", 0)  # check the cancel flag at every progress call
    folder = source_folder(tmp_path)
    write_files(folder, {f"cls/{n}.jpg": jpeg(n) for n in range(6)})
    calls = []

    def cancel_after_first_batch(done: int, total: int, message: str) -> None:
        calls.append((done, message))
        if done == 2:
            Job.objects.update(cancel_requested=True)

    # when imported
    job = run_import(
        {"source": str(folder), "name": "cancelled", "batch_size": 2}, progress_callback=cancel_after_first_batch
    )
    # then it stopped at that batch boundary and removed what the batch had written
    assert calls == [(0, "starting"), (2, "2 imported, 0 rejected, 0 duplicates")]
    assert job.status == JobStatus.CANCELLED
    assert (row_counts(), media_files()) == (NOTHING, [])


def test_a_manifest_without_a_path_column_fails_clearly(tmp_path: Path):
    # given a CSV without the path column
    folder = source_folder(tmp_path)
    (folder / "m.csv").write_text("file,label\na.jpg,cat\n")
    # when imported
    job = run_import({"source": str(folder / "m.csv"), "name": "no-path"})
    # then the job fails naming the column
    assert (job.status, job.error) == (JobStatus.FAILED, "the manifest m.csv has no 'path' column")
    assert row_counts() == NOTHING


def test_the_upload_is_deleted_after_a_successful_import(tmp_path: Path):
    # given an uploaded zip
    key = upload(zip_bytes({"cat/a.jpg": jpeg(1)}))
    assert default_storage.exists(key)
    # when imported
    job = run_import({"source": key, "name": "uploaded"})
    # then it is gone, and only the sample's blobs and the report remain
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [name.split("/")[0] for name in media_files()] == ["images", "reports", "thumbnails"]


def test_a_storage_failure_fails_the_job_and_leaves_no_blob_behind(tmp_path: Path, settings):
    # given a media root where thumbnails cannot be written (a file stands where their folder goes)
    folder = source_folder(tmp_path)
    write_files(folder, {f"cls/{n}.jpg": jpeg(n) for n in range(3)})
    Path(settings.MEDIA_ROOT).mkdir(parents=True)
    (Path(settings.MEDIA_ROOT) / "thumbnails").write_bytes(b"in the way")
    # when imported
    job = run_import({"source": str(folder), "name": "no-space"})
    # then the job failed, and neither rows nor the originals already written remain
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(("FileExistsError", "NotADirectoryError"))
    assert (row_counts(), media_files()) == (NOTHING, ["thumbnails"])


def test_a_retried_attempt_first_removes_what_the_lost_attempt_wrote(tmp_path: Path):
    # given an import whose first attempt's worker died after creating the dataset and one sample
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1), "dog/b.jpg": jpeg(2)})
    job = job_create(kind="import_dataset", params={"source": str(folder), "name": "retried"}, requested_by=None)
    partial = Dataset.objects.create(name="retried")
    leftover = SampleFactory(dataset=partial, import_job_id=job.pk)
    stale = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=1, heartbeat_at=stale, result={"dataset": partial.pk}
    )
    # when the job runs again
    job = job_execute(job.pk)
    # then the leftovers are gone and the import is complete
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert Dataset.objects.get(name="retried").pk == job.result["dataset"] != partial.pk
    assert not Sample.objects.filter(pk=leftover.pk).exists()
    assert leftover.image_key not in media_files()
    assert sorted(members_by_name(job.result["version"])) == ["cat/a.jpg", "dog/b.jpg"]


def test_a_path_listed_twice_in_a_zip_keeps_the_first_copy(tmp_path: Path):
    # given a zip that holds cat/a.jpg twice (zipfile warns, but writes both)
    buffer = io.BytesIO()
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cat/a.jpg", jpeg(1))
        archive.writestr("cat/a.jpg", jpeg(2))
    (tmp_path / "twice.zip").write_bytes(buffer.getvalue())
    # when imported
    job = run_import({"source": str(tmp_path / "twice.zip"), "name": "twice"})
    # then the second copy is reported and the first imported
    assert report_statuses(job) == {
        "cat/a.jpg": ("rejected", "the archive holds this path twice: the second copy is skipped"),
    }
    assert job.result["imported"] == 1


def test_files_over_the_size_limit_are_refused_in_folders_and_zips(tmp_path: Path, settings):
    # given a small per-file limit, and the same large file in a folder and in a zip
    settings.IMPORT_MAX_FILE_BYTES = 1000
    big, small = jpeg(1, size=(200, 200)), jpeg(2, size=(8, 8))
    folder = write_files(source_folder(tmp_path), {"cat/big.jpg": big, "cat/small.jpg": small})
    archive = zip_file(tmp_path / "s.zip", {"cat/big.jpg": big, "cat/small.jpg": small})
    # when both are imported
    from_folder = run_import({"source": str(folder), "name": "folder-limit"})
    from_zip = run_import({"source": str(archive), "name": "zip-limit"})
    # then the big file is refused in each, with the size known before reading (folder) or while reading (zip)
    assert report_statuses(from_folder) == {
        "cat/big.jpg": ("rejected", f"file too large ({len(big):,} bytes; the limit is 1,000)"),
    }
    assert report_statuses(from_zip) == {
        "cat/big.jpg": ("rejected", "file too large (over 1,000 bytes once decompressed)"),
    }
    assert (from_folder.result["imported"], from_zip.result["imported"]) == (1, 1)


def test_an_archive_with_too_many_members_fails_before_reading_any(tmp_path: Path, settings):
    # given a member limit of 2 and an archive of 3
    settings.IMPORT_MAX_ARCHIVE_MEMBERS = 2
    key = upload(zip_bytes({f"cls/{n}.jpg": jpeg(n) for n in range(3)}))
    # when imported
    job = run_import({"source": key, "name": "crowded"})
    # then the job fails with the counts, leaving nothing
    assert (job.status, job.error) == (JobStatus.FAILED, "the archive has 3 members; the limit is 2")
    assert (row_counts(), media_files()) == (NOTHING, [])


def test_a_manifest_path_through_a_linked_folder_outside_is_refused(tmp_path: Path):
    # given a manifest whose second row goes through a folder link that leaves the source folder
    folder = write_files(source_folder(tmp_path), {"a.jpg": jpeg(1)})
    write_files(tmp_path / "elsewhere", {"x.jpg": jpeg(2)})
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    (folder / "m.csv").write_text("path,label\na.jpg,cat\nlinked/x.jpg,cat\n")
    # when imported
    job = run_import({"source": str(folder / "m.csv"), "name": "linked"})
    # then that row is refused
    assert report_statuses(job) == {
        "linked/x.jpg": ("rejected", "line 3: symbolic link pointing outside the source folder: skipped"),
    }


@pytest.mark.parametrize(
    ("files", "source", "format", "reason"),
    [
        ({"cat/a.jpg": b""}, "", "zip", "{root} is a folder, not a zip archive"),
        (
            {"m.csv": b"path,label\n"},
            "m.csv",
            "imagefolder",
            "{root}/m.csv is a manifest: use the format csv, jsonl or auto",
        ),
        ({"cat/a.jpg": b""}, "", "csv", "no csv manifest at the top of the source"),
        (
            {"a.csv": b"", "b.jsonl": b""},
            "",
            "auto",
            "several manifests at the top of the source (a.csv, b.jsonl); keep one",
        ),
        ({"cat/a.jpg": b""}, "missing", "auto", "no such file or folder: {root}/missing"),
    ],
)
def test_a_source_that_does_not_match_its_format_fails_clearly(tmp_path: Path, files, source, format, reason):
    # given a source and a format that cannot go together
    folder = write_files(source_folder(tmp_path), files)
    # when imported
    job = run_import({"source": str(folder / source) if source else str(folder), "name": "mismatch", "format": format})
    # then the job fails saying why, and leaves nothing
    assert (job.status, job.error) == (JobStatus.FAILED, reason.format(root=folder))
    assert row_counts() == NOTHING
