"""The run lists (generic reports, failure slices, spurious features, evaluations) write a row's Model and Version
cells once, in frontend/_model_version_cells.html: every list shows the same text for the same model and version."""

import re
from pathlib import Path

import pytest
from django.test import Client

import frontend
from explain.slices.models import SliceReport
from explain.spurious.models import SpuriousReport
from robustness.evaluation.models import EvaluationRun
from robustness.reports.models import ModelReport
from tests.robustness.factories import TrainedModelFactory

TEMPLATES = Path(frontend.__file__).parent / "templates"
SHARED = "frontend/_model_version_cells.html"
# The Model cell as the lists wrote it before the include: the model's name, then its architecture, muted.
MODEL_CELL = re.compile(r"\.trained_model\.name \}\}\s*<span class=\"muted\">\{\{ \w+\.trained_model\.arch \}\}")
CELL = re.compile(r"<td\b[^>]*>(.*?)</td>", re.S)


def templates_writing_the_model_cell() -> list[str]:
    return sorted(
        str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html") if MODEL_CELL.search(path.read_text())
    )


def test_only_the_shared_include_writes_the_model_and_version_cells():
    assert templates_writing_the_model_cell() == [SHARED]


def row_cells(html: str, report_url: str) -> list[str]:
    """The text of the cells of the row that links to `report_url`, tags and extra whitespace removed."""
    link = re.escape(f'href="{report_url}"')
    row = re.search(rf"<tr>(?:(?!</tr>).)*?{link}.*?</tr>", html, re.S)
    assert row, f"no row links to {report_url}"
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in CELL.findall(row.group(0))]


@pytest.mark.django_db
def test_the_lists_show_the_same_model_and_version_cells(viewer):
    # given one run of each list, all of the same model on the same version's test split
    model = TrainedModelFactory(name="resnet-shapes")
    version = model.trained_on
    rows = {
        "/reports/confidence/": ModelReport.objects.create(
            kind="confidence_report", trained_model=model, version=version, params={"split": "test"}
        ),
        "/slices/": SliceReport.objects.create(trained_model=model, version=version, split="test"),
        "/spurious/": SpuriousReport.objects.create(trained_model=model, version=version, split="test"),
        "/evaluations/": EvaluationRun.objects.create(trained_model=model, version=version, split="test"),
    }
    client = Client()
    client.force_login(viewer)
    expected = [f"resnet-shapes {model.arch}", f"{version.dataset.name} v{version.number} test"]

    # when each list is shown, then the row's Model and Version cells (after its link cell) read the same
    for list_url, row in rows.items():
        page = client.get(list_url)
        assert page.status_code == 200, list_url
        cells = row_cells(page.content.decode(), f"{list_url}{row.pk}/")
        start = next(i for i, text in enumerate(cells) if text == f"#{row.pk}") + 1
        assert cells[start : start + 2] == expected, list_url
