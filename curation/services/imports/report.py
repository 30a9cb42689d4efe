"""The import report: a line per file, spooled to JSONL and saved under the job's report key."""

import json
import tempfile
from collections import Counter

from django.core.files import File
from django.core.files.storage import default_storage

from core.storage import blob_delete
from curation.services.manifests import ReportLine

REPORT_INLINE_LINES = 1000


class ImportReport:
    """Every per-file line, spooled to a temporary JSONL file; counts and the inline excerpt in memory."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.inline: list[dict[str, str]] = []
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def add(self, line: ReportLine) -> None:
        self.counts[line.status] += 1
        self._file.write(json.dumps(line.as_dict(), ensure_ascii=False).encode() + b"\n")
        if line.status != "imported" and len(self.inline) < REPORT_INLINE_LINES:
            self.inline.append(line.as_dict())

    @property
    def imported(self) -> int:
        return self.counts["imported"]

    @property
    def rejected(self) -> int:
        return self.counts["rejected"]

    @property
    def duplicates(self) -> int:
        return self.counts["duplicate"] + self.counts["conflict"]

    def summary(self) -> str:
        return f"{self.imported} imported, {self.rejected} rejected, {self.duplicates} duplicates"

    def save(self, key: str) -> str:
        self._file.seek(0)
        blob_delete(key)
        return default_storage.save(key, File(self._file))

    def close(self) -> None:
        self._file.close()


def import_report_key(job_id: int) -> str:
    return f"reports/imports/job-{job_id}.jsonl"
