"""Mask-provider names, the spec stored beside estimated masks and the family registry, without torch or OpenCV.

Web processes check provider names (the `masks` parameter of reports) and read stored specs; the
families themselves (OpenCV, transformers) register here when ``curation.ml.masks`` is imported, which
builds them. A test keeps ``BUILTIN_MASK_FAMILIES`` equal to the families that package registers.

Names: ``dataset`` (the masks a dataset brings), ``estimated`` (foreground masks computed offline)
and ``clipseg:<hub id or local folder>`` (open-vocabulary segmentation prompted with the class name).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

DATASET_MASKS = "dataset"
ESTIMATED_MASKS = "estimated"
CLIPSEG = "clipseg"
# the families curation.ml.masks registers (tests may register more)
BUILTIN_MASK_FAMILIES = (CLIPSEG, DATASET_MASKS, ESTIMATED_MASKS)
# families whose name needs an argument after the colon (the weights)
FAMILIES_WITH_ARGUMENT = frozenset({CLIPSEG})

Builder = TypeVar("Builder", bound=Callable[..., Any])

_MASK_FAMILIES: dict[str, Callable[..., Any]] = {}


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


def register_mask_provider(family: str) -> Callable[[Builder], Builder]:
    """Register ``builder(argument, **options)`` for names ``family`` or ``family:argument``."""

    def decorate(builder: Builder) -> Builder:
        if family in _MASK_FAMILIES:
            raise ValueError(f"mask provider family {family!r} is already registered")
        _MASK_FAMILIES[family] = builder
        return builder

    return decorate


def registered_mask_families() -> tuple[str, ...]:
    """The built-in families and any registered in this process, sorted; builds nothing."""
    return tuple(sorted(set(BUILTIN_MASK_FAMILIES) | set(_MASK_FAMILIES)))


def registered_mask_builders() -> dict[str, Callable[..., Any]]:
    """family -> builder (a copy) of the families registered so far (all built-in ones once
    ``curation.ml.masks`` is imported)."""
    return dict(_MASK_FAMILIES)


def mask_provider_name_check(name: str) -> str:
    """``name`` stripped, or ValueError with the known families when it cannot name a provider."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a mask provider name is a non-empty string")
    name = name.strip()
    family, _, argument = name.partition(":")
    families = registered_mask_families()
    if family not in families:
        raise ValueError(f"unknown mask provider {name!r}; known: {', '.join(families)} (clipseg:<hub id or folder>)")
    if family in FAMILIES_WITH_ARGUMENT and not argument:
        raise ValueError(
            f"{family} needs its weights: {family}:<hub id or local folder>, e.g. {family}:CIDAS/clipseg-rd64-refined"
        )
    if family not in FAMILIES_WITH_ARGUMENT and argument and family in BUILTIN_MASK_FAMILIES:
        raise ValueError(f"mask provider {family!r} takes no argument (got {name!r})")
    return name


def mask_provider_is_estimated(name: str) -> bool:
    """Whether masks of this provider are estimated (every provider except the dataset's own masks)."""
    return name.partition(":")[0] != DATASET_MASKS
