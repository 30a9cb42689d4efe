"""Plan, render and describe the whole demo: the Django-free entry point."""

import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from curation.demo.composer import image_render, mask_png_encode
from curation.demo.plan import DemoConfig, DemoPlan, PlannedImage, demo_plan
from curation.demo.sources import DemoSources
from curation.demo.truth import TruthRecord, truth_document, truth_record

ProgressCallback = Callable[[int, int, str], None]
RENDER_AHEAD = 64


@dataclass(frozen=True, eq=False)
class DemoFile:
    """One demo file: JPEG bytes, object mask (H×W bool, and as PNG) and its ground-truth record."""

    file_name: str
    data: bytes
    mask: np.ndarray
    mask_png: bytes
    record: TruthRecord

    @property
    def sha256(self) -> str:
        return self.record["sha256"]


def _demo_file(image: PlannedImage, sources: DemoSources, config: DemoConfig) -> DemoFile:
    rendered = image_render(image, sources, config)
    sha256 = hashlib.sha256(rendered.data).hexdigest()
    record = truth_record(image, rendered, sha256, sources)
    return DemoFile(image.file_name, rendered.data, rendered.mask, mask_png_encode(rendered.mask), record)


def demo_files(plan: DemoPlan, sources: DemoSources, *, threads: int = 2) -> Iterator[DemoFile]:
    """Render the planned files in file-name order.

    Files render independently, so `threads` render ahead of the consumer (Pillow releases the
    GIL while resizing and encoding); at most RENDER_AHEAD files wait in memory.
    """
    pending: deque[Future[DemoFile]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for image in sorted(plan.images, key=lambda i: i.file_name):
            pending.append(pool.submit(_demo_file, image, sources, plan.config))
            if len(pending) >= RENDER_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


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
