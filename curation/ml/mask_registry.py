"""Mask-provider names, the spec stored beside estimated masks and the family registry, without torch or OpenCV.

Web processes check provider names (the `masks` parameter of reports) and read stored specs; a
family's builder (OpenCV, transformers) is imported by the registry's first ``get`` (``core.registry``),
which ``curation.ml.masks.create_mask_provider`` calls.

Names: ``dataset`` (the masks a dataset brings), ``estimated`` (foreground masks computed offline)
and ``clipseg:<hub id or local folder>`` (open-vocabulary segmentation prompted with the class name).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.registry import Registry

DATASET_MASKS = "dataset"
ESTIMATED_MASKS = "estimated"
CLIPSEG = "clipseg"

# family -> builder(argument, **options) -> MaskProvider, for names "family" or "family:argument";
# needs_argument: the name must say the weights after the colon
MASK_PROVIDERS: Registry[Callable[..., Any]] = Registry("mask provider", hint=f"{CLIPSEG}:<hub id or folder>")
MASK_PROVIDERS.register_lazy(CLIPSEG, "curation.ml.masks.clipseg:build_clipseg_masks", needs_argument=True)
MASK_PROVIDERS.register_lazy(DATASET_MASKS, "curation.ml.masks.dataset:build_dataset_masks")
MASK_PROVIDERS.register_lazy(ESTIMATED_MASKS, "curation.ml.masks.estimated:build_estimated_masks")
# the families of the package (tests may register more later)
BUILTIN_MASK_FAMILIES = MASK_PROVIDERS.names()


@dataclass(frozen=True)
class MaskProviderSpec:
    """What produced a set of masks, stored beside them (JSON via ``to_dict``/``from_dict``).

    name: the registry name; family: what was built; method: one line on how masks are made;
    weights: the hub id or folder of a learnt model ("" for none); estimated: False only for the
    dataset's own masks (every figure computed on estimated masks says so); uses_class_names: the
    class name is the prompt.
    """

    name: str
    family: str
    method: str
    weights: str = ""
    estimated: bool = True
    uses_class_names: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaskProviderSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def register_mask_provider(family: str, **metadata: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``builder(argument, **options)`` for names ``family`` or ``family:argument``
    (``needs_argument=True``: only ``family:argument``)."""
    return MASK_PROVIDERS.register(family, **metadata)


def registered_mask_families() -> tuple[str, ...]:
    """Every registered family, sorted; builds and imports nothing."""
    return tuple(sorted(MASK_PROVIDERS.names()))


def registered_mask_builders() -> dict[str, Callable[..., Any]]:
    """family -> builder of every registered family (imports them: OpenCV, transformers)."""
    return {family: MASK_PROVIDERS.get(family) for family in MASK_PROVIDERS.names()}


def mask_provider_name_check(name: str) -> str:
    """``name`` stripped, or ValueError (UnknownNameError for an unknown family) when it cannot name a provider."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a mask provider name is a non-empty string")
    name = name.strip()
    family, _, argument = name.partition(":")
    needs_argument = MASK_PROVIDERS.metadata(family).get("needs_argument", False)
    if needs_argument and not argument:
        raise ValueError(
            f"{family} needs its weights: {family}:<hub id or local folder>, e.g. {family}:CIDAS/clipseg-rd64-refined"
        )
    if not needs_argument and argument and family in BUILTIN_MASK_FAMILIES:
        raise ValueError(f"mask provider {family!r} takes no argument (got {name!r})")
    return name


def mask_provider_is_estimated(name: str) -> bool:
    """Whether masks of this provider are estimated (every provider except the dataset's own masks)."""
    return name.partition(":")[0] != DATASET_MASKS
