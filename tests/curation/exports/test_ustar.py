"""The WebDataset writer's own ustar headers, checked against Python's tarfile reader (and GNU tar)."""

import io
import subprocess
import tarfile

import pytest

from curation.exports.services.webdataset import RECORD, UstarWriter, member_bytes, tar_file_bytes


def test_members_written_in_bytes_and_in_chunks_read_back_exactly():
    # given small members and one larger than a copy chunk (streamed in chunks)
    big = bytes(range(256)) * (10 * 1024 + 7)  # 2.5 MiB and a bit
    out = io.BytesIO()
    writer = UstarWriter(out, mtime=1_700_000_000)
    # when they are written and the archive is finished
    writer.add_bytes(("a" * 64 + ".json", b'{"label": "cat"}'))
    writer.add_stream("b" * 64 + ".png", io.BytesIO(big), len(big), then=(("c.cls", b""),))
    writer.finish()
    # then tarfile reads every member with its name, size, bytes, mode and mtime, and the size is whole records
    data = out.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        contents = [tar.extractfile(m).read() for m in members]
    assert [(m.name, m.size, m.mode, m.mtime, m.type) for m in members] == [
        ("a" * 64 + ".json", 16, 0o644, 1_700_000_000, tarfile.REGTYPE),
        ("b" * 64 + ".png", len(big), 0o644, 1_700_000_000, tarfile.REGTYPE),
        ("c.cls", 0, 0o644, 1_700_000_000, tarfile.REGTYPE),
    ]
    assert contents == [b'{"label": "cat"}', big, b""]
    assert len(data) % RECORD == 0
    assert len(data) == tar_file_bytes(member_bytes(16) + member_bytes(len(big)) + member_bytes(0))


def test_gnu_tar_lists_the_archive_without_complaint(tmp_path):
    path = tmp_path / "shard.tar"
    with path.open("wb") as out:
        writer = UstarWriter(out, mtime=0)
        writer.add_bytes(("x.json", b"{}"))
        writer.finish()

    listing = subprocess.run(["tar", "-tvf", str(path)], capture_output=True, text=True, check=True)

    assert listing.stderr == ""
    assert listing.stdout.split()[-1] == "x.json"


def test_a_name_longer_than_ustar_allows_is_refused():
    writer = UstarWriter(io.BytesIO(), mtime=0)

    with pytest.raises(ValueError, match="does not fit a ustar header"):
        writer.add_bytes(("n" * 101, b""))
