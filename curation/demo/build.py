"""Plan, render and describe the whole demo: the Django-free entry point."""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from curation.demo.composer import image_render
from curation.demo.plan import DemoConfig, DemoPlan, demo_plan
from curation.demo.sources import DemoSources
from curation.demo.truth import TruthRecord, truth_document, truth_record

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class DemoFile:
    """One demo file: JPEG bytes, object mask (H×W bool) and its ground-truth record."""

    file_name: str
    data: bytes
    mask: np.ndarray
    record: TruthRecord

    @property
    def sha256(self) -> str:
        return self.record["sha256"]


def demo_files(plan: DemoPlan, sources: DemoSources) -> Iterator[DemoFile]:
    """Render the planned files in file-name order (each renders independently of the others)."""
    for image in sorted(plan.images, key=lambda i: i.file_name):
        rendered = image_render(image, sources, plan.config)
        sha256 = hashlib.sha256(rendered.data).hexdigest()
        yield DemoFile(image.file_name, rendered.data, rendered.mask, truth_record(image, rendered, sha256, sources))


@dataclass(frozen=True, eq=False)
class DemoBuild:
    plan: DemoPlan
    files: list[DemoFile]
    truth: dict[str, Any]


def demo_build(config: DemoConfig, sources: DemoSources, progress: ProgressCallback | None = None) -> DemoBuild:
    """Every file of the demo in memory, with the truth document (for tests and small sizes).

    Args:
        config: seed, size and rates (see DemoConfig).
        sources: stamps and backgrounds from `demo_sources_load`.
        progress: called as progress(done, total, message) after each file.
    """
    plan = demo_plan(config, sources)
    files = []
    for file in demo_files(plan, sources):
        files.append(file)
        if progress:
            progress(len(files), len(plan.images), "rendering")
    return DemoBuild(plan, files, truth_document(plan, sources, [f.record for f in files]))
