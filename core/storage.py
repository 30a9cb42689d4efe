"""Content-addressed blobs in Django's storage API (never hand-built filesystem paths).

A blob's key is derived from its sha256, so identical bytes are stored once whatever the
dataset; deleting a blob is only allowed once no row references it.
"""

import hashlib
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_key(*, sha256: str, kind: str, extension: str) -> str:
    """`kind` separates originals, thumbnails and masks: `images/ab/cd/abcd….jpg`."""
    extension = extension.lower().lstrip(".")
    return f"{kind}/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def blob_save(*, key: str, data: bytes) -> bool:
    """Store bytes under `key` unless present. Returns True when this call wrote the blob."""
    if default_storage.exists(key):
        return False
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:  # a concurrent writer won the race; the content is identical by construction
        default_storage.delete(saved)
        return False
    return True


def blob_open(key: str) -> IO[bytes]:
    return default_storage.open(key, "rb")


def blob_read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def blob_delete(key: str) -> None:
    if key and default_storage.exists(key):
        default_storage.delete(key)


def blob_url(key: str) -> str:
    return default_storage.url(key)
