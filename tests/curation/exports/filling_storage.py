"""A file-system storage on a disk with little room left, for the export's full-disk test.

`_save` writes chunk by chunk like FileSystemStorage and, once `free_bytes` are used up, writes what
still fits and raises OSError(ENOSPC), leaving the partial file behind as a real full disk does.
Configured through settings.STORAGES (OPTIONS: free_bytes), so the export code is unchanged.
"""

import errno
import os
from typing import Any

from django.core.files.storage import FileSystemStorage


class FillingStorage(FileSystemStorage):
    def __init__(self, free_bytes: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.free_bytes = free_bytes

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        with open(full_path, "wb") as handle:
            for chunk in content.chunks():
                room = max(self.free_bytes, 0)
                handle.write(chunk[:room])
                self.free_bytes -= min(len(chunk), room)
                if len(chunk) > room:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), full_path)
        return name
