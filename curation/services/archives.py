# Over 300 lines: the folder and zip readers implement one SourceReader protocol with the same hostile-input checks,
# read side by side.
"""Reading an import source file by file — a server folder or a zip archive — trusting neither.

Choices made:
- Nothing is ever extracted. Zip members are read one at a time into memory through zipfile's
  streaming reader (never `extractall`), and stored by content hash, so a hostile member name
  (`../evil.jpg`, `/etc/x.jpg`) can never write anywhere; such names are reported and skipped.
- A member's size is counted as it decompresses, never taken from its header. Reading stops at
  IMPORT_MAX_FILE_BYTES, or at a compression ratio above IMPORT_MAX_COMPRESSION_RATIO once past
  RATIO_GRACE_BYTES (small, naturally compressible files pass), and those members are rejected;
  when the archive as a whole expands past IMPORT_MAX_ARCHIVE_BYTES the source is refused, since
  the whole archive is then hostile.
- Symbolic links inside an archive are skipped; in a server folder a link is followed only when
  its target stays inside the folder.
- In a server folder only regular files are read: a FIFO, socket or device file is opened without
  waiting (O_NONBLOCK: a FIFO with no writer would block the open forever), recognised from its
  mode, and reported as skipped.
- Hidden entries (a path part starting with "." and macOS `__MACOSX` resource forks) are ignored
  without a report line; they are never part of a dataset.
- Archives inside the source are never opened (see `path_is_archive`).
"""

import errno
import os
import posixpath
import re
import stat
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings

RATIO_GRACE_BYTES = 64 * 1024
READ_CHUNK_BYTES = 256 * 1024
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tbz2", ".txz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst")
ZIP_SYMLINK_MODE = stat.S_IFLNK
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
UPLOAD_KEY_PATTERN = re.compile(r"^uploads/[0-9a-f]{32}\.zip$")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_READ_NOFOLLOW = _READ | getattr(os, "O_NOFOLLOW", 0)


class EntryRejected(Exception):
    """One file of the source cannot be imported; `reason` goes on its report line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SourceRejected(Exception):
    """The source as a whole is unusable (not a zip, too many members, expands too much)."""


@dataclass(frozen=True)
class SkippedEntry:
    path: str
    reason: str


@dataclass(frozen=True)
class ArchiveLimits:
    max_file_bytes: int
    max_archive_bytes: int
    max_compression_ratio: int
    max_members: int

    @classmethod
    def from_settings(cls) -> "ArchiveLimits":
        return cls(
            max_file_bytes=settings.IMPORT_MAX_FILE_BYTES,
            max_archive_bytes=settings.IMPORT_MAX_ARCHIVE_BYTES,
            max_compression_ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
            max_members=settings.IMPORT_MAX_ARCHIVE_MEMBERS,
        )


class SourceReader(Protocol):
    """What the import needs from a source: its file list, the entries it refused, and bytes by path."""

    def scan(self) -> tuple[list[str], list[SkippedEntry]]: ...

    def read(self, path: str) -> bytes: ...

    def close(self) -> None: ...


def upload_key_is_valid(source: str) -> bool:
    """Whether `source` names an uploaded archive in storage (`uploads/<32 hex>.zip`)."""
    return bool(UPLOAD_KEY_PATTERN.match(source))


def path_is_hidden(path: str) -> bool:
    return any((part.startswith(".") and part not in (".", "..")) or part == "__MACOSX" for part in path.split("/"))


def path_is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def path_safe_relative(name: str) -> str:
    """A member or manifest path as a clean relative POSIX path, or EntryRejected (zip slip).

    Backslashes count as separators (archives written on Windows); absolute paths, drive letters
    and any `..` part are refused rather than resolved.
    """
    name = name.replace("\\", "/")
    if name.startswith("/") or _WINDOWS_DRIVE.match(name):
        raise EntryRejected("absolute path refused (zip slip): nothing is written outside the import")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise EntryRejected("path with '..' refused (zip slip): nothing is written outside the import")
    if not parts:
        raise EntryRejected("empty path")
    return "/".join(parts)


class FolderReader:
    """Files under a server folder, read whole after a size check.

    Files listed by `scan` lie in real folders (os.walk does not enter linked ones), so only the
    file itself can be a link; any other path (a manifest's) is resolved in full before reading.
    """

    def __init__(self, root: Path, *, limits: ArchiveLimits):
        self.root = root.resolve()
        self.limits = limits
        self._listed: set[str] = set()

    def scan(self) -> tuple[list[str], list[SkippedEntry]]:
        files: list[str] = []
        skipped: list[SkippedEntry] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            relative_dir = here.relative_to(self.root).as_posix()
            prefix = "" if relative_dir == "." else relative_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not path_is_hidden(d))
            for name in [d for d in dirnames if (here / d).is_symlink()]:
                skipped.append(SkippedEntry(prefix + name, "symbolic link to a folder: not followed"))
            files.extend(prefix + name for name in filenames if not path_is_hidden(name))
        self._listed = set(files)
        return sorted(files), skipped

    def read(self, path: str) -> bytes:
        try:
            fd = self._open(path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise EntryRejected("file not found")
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
                raise EntryRejected("not a regular file (a socket or device): skipped")
            raise
        with open(fd, "rb") as handle:
            status = os.fstat(fd)
            if stat.S_ISDIR(status.st_mode):
                raise EntryRejected("file not found")
            if not stat.S_ISREG(status.st_mode):
                raise EntryRejected(f"not a regular file ({_file_type(status.st_mode)}): skipped")
            if status.st_size > self.limits.max_file_bytes:
                limit = self.limits.max_file_bytes
                raise EntryRejected(f"file too large ({status.st_size:,} bytes; the limit is {limit:,})")
            return handle.read(self.limits.max_file_bytes + 1)

    def _open(self, path: str) -> int:
        """A listed file opens in one call, O_NOFOLLOW refusing it if it is a link (no lstat per file);
        a link, or a path not listed (a manifest's), is opened only once it resolves inside the root."""
        target = os.path.join(self.root, path)
        if path in self._listed:
            try:
                return os.open(target, _READ_NOFOLLOW)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EMLINK):  # Linux, BSD: the file is a link
                    raise
        self._check_inside(target)
        return os.open(target, _READ)

    def _check_inside(self, target: str) -> None:
        if not Path(target).resolve().is_relative_to(self.root):
            raise EntryRejected("symbolic link pointing outside the source folder: skipped")

    def close(self) -> None:
        return None


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "an unknown kind of file"


class ZipReader:
    """Members of a zip archive, optionally below one wrapper folder, streamed with byte caps.

    Reads may come from several threads: one member is decompressed at a time (the archive's
    file handle and the expanded-bytes count are shared), while decoding runs in parallel.
    """

    def __init__(self, handle: IO[bytes], *, limits: ArchiveLimits):
        self.limits = limits
        self.prefix = ""
        self.expanded_bytes = 0
        self._read_lock = threading.Lock()
        try:
            self.archive = zipfile.ZipFile(handle)
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise SourceRejected(f"the upload is not a valid zip archive ({exc})")
        if len(infos) > limits.max_members:
            raise SourceRejected(f"the archive has {len(infos):,} members; the limit is {limits.max_members:,}")
        self._infos = infos
        self._members: dict[str, zipfile.ZipInfo] = {}

    def scan(self) -> tuple[list[str], list[SkippedEntry]]:
        files: list[str] = []
        skipped: list[SkippedEntry] = []
        for info in self._infos:
            if info.is_dir():
                continue
            try:
                path = self._member_path(info)
            except EntryRejected as exc:
                skipped.append(SkippedEntry(info.filename, exc.reason))
                continue
            if path_is_hidden(path):
                continue
            self._members[path] = info
            files.append(path)
        return sorted(files), skipped

    def _member_path(self, info: zipfile.ZipInfo) -> str:
        path = path_safe_relative(info.filename)
        if stat.S_IFMT(info.external_attr >> 16) == ZIP_SYMLINK_MODE:
            raise EntryRejected("symbolic link in the archive: skipped")
        if path in self._members:
            raise EntryRejected("the archive holds this path twice: the second copy is skipped")
        return path

    def use_wrapper(self, prefix: str) -> list[str]:
        """Treat `prefix/` as the archive's root; returns the file list relative to it."""
        self.prefix = prefix.rstrip("/") + "/"
        return sorted(p[len(self.prefix) :] for p in self._members if p.startswith(self.prefix))

    def read(self, path: str) -> bytes:
        info = self._members.get(self.prefix + path) if self.prefix else self._members.get(path)
        if info is None:
            raise EntryRejected("file not found in the archive")
        if info.flag_bits & 0x1:
            raise EntryRejected("encrypted archive member: not supported")
        try:
            with self._read_lock:
                return self._read_capped(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
            raise EntryRejected(f"corrupt archive member ({exc})")

    def _read_capped(self, info: zipfile.ZipInfo) -> bytes:
        chunks: list[bytes] = []
        total = 0
        with self.archive.open(info) as member:
            while chunk := member.read(READ_CHUNK_BYTES):
                total += len(chunk)
                self.expanded_bytes += len(chunk)
                self._check_caps(info, total)
                chunks.append(chunk)
        return b"".join(chunks)

    def _check_caps(self, info: zipfile.ZipInfo, total: int) -> None:
        limits = self.limits
        if self.expanded_bytes > limits.max_archive_bytes:
            raise SourceRejected(
                f"zip bomb: the archive expands beyond the limit of {limits.max_archive_bytes:,} bytes; import stopped"
            )
        if total > limits.max_file_bytes:
            raise EntryRejected(f"file too large (over {limits.max_file_bytes:,} bytes once decompressed)")
        if total > RATIO_GRACE_BYTES and total > limits.max_compression_ratio * max(info.compress_size, 1):
            raise EntryRejected(
                f"zip bomb: compression ratio over {limits.max_compression_ratio}:1 "
                f"({info.compress_size:,} compressed bytes expand past {total:,})"
            )

    def close(self) -> None:
        self.archive.close()


def wrapper_folder(files: list[str], *, keep: set[str], manifest_suffixes: tuple[str, ...]) -> str | None:
    """The single top-level folder that wraps an archive's layout, if there is one.

    It is stripped only when every file sits inside it and either a manifest lies directly in it
    or every file is at least two folders deeper (wrapper/class/file); a top folder named in
    `keep` (a split name such as `train`) is layout, not a wrapper.
    """
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or any("/" not in path for path in files):
        return None
    top = tops.pop()
    if top.casefold() in keep:
        return None
    has_manifest = any(posixpath.dirname(p) == top and p.lower().endswith(manifest_suffixes) for p in files)
    if has_manifest or all(path.count("/") >= 2 for path in files):
        return top
    return None
