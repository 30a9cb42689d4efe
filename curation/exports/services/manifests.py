"""CSV and JSONL manifests: one row per member (path, sha256, labels with origins, split, version,
provenance, soft labels), paths as in the ImageFolder layout (see layout.py)."""

import csv
import io
from typing import Any

from curation.exports.selectors import export_member_batches
from curation.exports.services.layout import MANIFEST_COLUMNS
from curation.exports.services.writing import ExportWriting, WriterSummary

JSONL_NAME = "manifest.jsonl"
CSV_NAME = "manifest.csv"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_formula_escaped(cell: Any) -> Any:
    """`cell` with "'" in front when it is text a spreadsheet would evaluate (=HYPERLINK(...), +1, @SUM)."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def jsonl_manifest_write(run: ExportWriting) -> WriterSummary:
    """`manifest.jsonl`: one JSON object per member (layout.ExportLayout.manifest_row)."""
    written = 0
    with run.outputs.open(JSONL_NAME) as out:
        for batch in export_member_batches(run.version.pk):
            out.write(b"".join(run.layout.manifest_line(member) for member in batch))
            written += len(batch)
            run.advance(len(batch))
    return WriterSummary(samples=written)


def csv_manifest_write(run: ExportWriting) -> WriterSummary:
    """`manifest.csv`: UTF-8, a header row, lists joined with ";", provenance as JSON text.

    Cells are written as stored, so the import reads back the same values; with the
    csv_escape_formulas option, text cells that start like a formula get a leading "'" instead.
    """
    written = 0
    escape = run.options.csv_escape_formulas
    with run.outputs.open(CSV_NAME) as out:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        writer = csv.writer(text)
        writer.writerow(MANIFEST_COLUMNS)
        for batch in export_member_batches(run.version.pk):
            rows = [run.layout.csv_row(member) for member in batch]
            if escape:
                rows = [[csv_formula_escaped(cell) for cell in row] for row in rows]
            writer.writerows(rows)
            written += len(batch)
            run.advance(len(batch))
        text.flush()
        text.detach()  # the spool stays open for ExportOutputs to store
    return WriterSummary(samples=written)
