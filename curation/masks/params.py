"""What a mask estimation takes, declared once (core.params): the masks API's input serializer, the version
masks page's form and `manage.py estimate_masks` come from MaskParams."""

from __future__ import annotations

from dataclasses import dataclass

from core.params import param
from curation.ml.mask_registry import ESTIMATED_MASKS


@dataclass(frozen=True)
class MaskParams:
    version_id: int = param(
        name="version", cli="version_id", api=False, page=False, help="Id of the version whose members get masks."
    )
    provider: str = param(
        ESTIMATED_MASKS,
        help="A mask provider: estimated (GrabCut, offline) or clipseg:<hub id or folder> (CLIPSeg prompted with "
        "the class name). Checked by the service (code invalid_params).",
    )
