"""Generation plans: what a batch will make, decided (and stored) before any pixel is drawn.

Per class, `per_class` planned images, each with its mode, prompt, negative prompt, seed, parent
sample, background and strength:
- text2img: prompts name the class in a context that is not on the class's avoid list
  ("a photo of a cat on a beach"), contexts taken in turn;
- img2img: variations of real samples of the class (parent split, default train) with the stated
  strength (default 0.6; 1.0 would ignore the parent) and the same kind of prompt;
- inpaint: the background of real samples repainted under the object mask (strength default 1.0);
  samples without a mask are skipped with that reason;
- composite: the object of a real sample pasted onto a background of the demo bank that is not on the
  class's avoid list (no weights, offline); samples without a mask are skipped likewise.
Avoid lists come from a curator (background ids and context words per class) or from a spurious-feature
report (its suspected background features); a failure slice fixes the class, contexts and parents
(report_plans.plan_from_slice). Seeds are `seed + position`, so a plan and its seed fix every image.
Parents are drawn from the class's members in a shuffle seeded by `seed`, or are the listed
`parent_samples` (members of the class in `parent_split`), in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from core.api_errors import ApplicationError
from core.params import param
from curation.models import DatasetVersion, VersionSample
from curation.synthetic.models import GenerationMode, PlanSource, SyntheticBatch

DEFAULT_CONTEXTS = (
    "on grass",
    "on a sandy beach",
    "in a forest",
    "on a city street",
    "in the snow",
    "on a wooden table",
    "in a living room",
    "near water",
    "in a field",
    "on a brick wall",
)
DEFAULT_STRENGTH = {GenerationMode.IMG2IMG: 0.6, GenerationMode.INPAINT: 1.0}
MASKED_MODES = (GenerationMode.INPAINT, GenerationMode.COMPOSITE)
PARENT_MODES = (GenerationMode.IMG2IMG, GenerationMode.INPAINT, GenerationMode.COMPOSITE)
MAX_PER_CLASS = 1000
MAX_SKIPPED_LISTED = 200


@dataclass
class PlanParams:
    """Every setting of a batch, defaults included (stored as the batch's params).

    Declared with core.params (help, bounds, choices): the API's input serializer is generated from it.
    `plan_params_validate` checks the values (invalid_params) and resolves the mode's defaults, so the
    dataclass stays mutable (not frozen like the other kinds' params).
    """

    version_id: int = param(cli="version_id", name="version", api=False, page=False, help="Id of the version.")
    mode: str = param(choices=GenerationMode.values, code="invalid_params", help="How the images are made.")
    generator: str = param("", help="diffusers:<hub id or folder>; composite: omit.", default_text="composite")
    per_class: int = param(8, min=1, max=MAX_PER_CLASS, code="invalid_params", help="Images per class.")
    classes: list[str] | None = param(None, help="Classes to plan for.", default_text="every labelled class")
    seed: int = param(0, min=0, code="invalid_params", help="Seed of image 0; image i uses seed + i.")
    steps: int = param(25, min=1, max=500, code="invalid_params", help="Denoising steps.")
    guidance: float = param(7.5, min=0.0, max=50.0, code="invalid_params", help="Guidance scale.")
    strength: float | None = param(
        None, min=0.0, max=1.0, min_exclusive=True, code="invalid_params",
        help="img2img and inpaint: how far from the parent.", default_text="img2img 0.6, inpaint 1.0",
    )  # fmt: skip
    negative_prompt: str = param("blurry, deformed, text, watermark", help="Negative prompt.")
    prompt_template: str = param("a photo of a {cls} {context}", help="Prompt; must contain {cls}.")
    contexts: list[str] = param(list(DEFAULT_CONTEXTS), help="Contexts for the prompts, taken in turn.")
    avoid: dict[str, list[str]] = param(
        {}, help="Per class, background ids (composite) or context words (prompts) to avoid."
    )
    parent_split: str = param(
        "train", choices=("train", "val", "test", "unassigned", "all"), code="invalid_params",
        help="Split of the parents (img2img, inpaint, composite).",
    )  # fmt: skip
    scheduler: str = param("default", help="default, ddim, pndm, euler, euler_a, dpm++ or lms.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    precision: str = param("auto", help="auto, fp32, fp16 or bf16.")
    width: int | None = param(None, min=8, max=2048, code="invalid_params", help="Image width.")
    height: int | None = param(None, min=8, max=2048, code="invalid_params", help="Image height.")
    flag_model_id: int | None = param(None, name="flag_model", help="Trained model for flags.")
    flag_encoder: str | None = param(None, help="Or CLIP for flags: open_clip:<arch>:<tag or path>.")
    parent_samples: list[int] | None = param(
        None, api=False, page=False, command=False, help="Listed parents (a slice plan's held-out samples)."
    )

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "version_id"}


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_params")


def plan_params_validate(**raw: Any) -> PlanParams:
    """Defaults filled in and every value checked; ApplicationError invalid_params otherwise."""
    known = set(PlanParams.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _invalid(f"Unknown parameter(s): {', '.join(unknown)}.")
    values = {k: v for k, v in raw.items() if v is not None}
    if "mode" not in values or values["mode"] not in GenerationMode.values:
        raise _invalid(f"mode must be one of {', '.join(GenerationMode.values)}.")
    try:
        params = PlanParams(**values)
    except TypeError as error:
        raise _invalid(str(error)) from None
    mode = params.mode
    if mode == GenerationMode.COMPOSITE:
        params.generator = params.generator or "composite"
        if params.generator != "composite":
            raise _invalid("composite plans use the composite generator.")
    elif not params.generator.startswith("diffusers:") or len(params.generator) <= len("diffusers:"):
        raise _invalid(f"{mode} needs a diffusers generator: diffusers:<hub id or local folder>.")
    if not isinstance(params.per_class, int) or not 1 <= params.per_class <= MAX_PER_CLASS:
        raise _invalid(f"per_class must be an integer in [1, {MAX_PER_CLASS}].")
    if not isinstance(params.seed, int) or params.seed < 0:
        raise _invalid("seed must be an integer ≥ 0.")
    if not isinstance(params.steps, int) or not 1 <= params.steps <= 500:
        raise _invalid("steps must be an integer in [1, 500].")
    if not 0.0 <= float(params.guidance) <= 50.0:
        raise _invalid("guidance must lie in [0, 50].")
    params.guidance = float(params.guidance)
    if params.strength is None:
        params.strength = DEFAULT_STRENGTH.get(GenerationMode(mode))
    elif mode not in (GenerationMode.IMG2IMG, GenerationMode.INPAINT):
        raise _invalid("strength applies to img2img and inpaint only.")
    elif not 0.0 < float(params.strength) <= 1.0:
        raise _invalid("strength must lie in (0, 1].")
    if params.strength is not None and int(params.steps * params.strength) < 1:
        runs = params.steps * params.strength
        raise _invalid(f"{mode} runs steps × strength = {runs:g} denoising steps; raise either.")
    if params.flag_model_id is not None and params.flag_encoder:
        raise _invalid("Pick one checker for the flags: flag_model_id (a trained model) or flag_encoder (CLIP).")
    if "{cls}" not in params.prompt_template:
        raise _invalid("prompt_template must contain {cls} (prompts name the class).")
    if not isinstance(params.avoid, dict) or not all(isinstance(v, list) for v in params.avoid.values()):
        raise _invalid("avoid must map class names to lists of background ids or context words.")
    if params.parent_samples is not None and (
        not isinstance(params.parent_samples, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in params.parent_samples)
    ):
        raise _invalid("parent_samples must be a list of sample ids.")
    params.contexts = [str(c).strip() for c in params.contexts if str(c).strip()]
    if mode in (GenerationMode.TEXT2IMG, GenerationMode.IMG2IMG, GenerationMode.INPAINT) and not params.contexts:
        raise _invalid("contexts must not be empty.")
    for side in ("width", "height"):
        value = getattr(params, side)
        if value is not None and (not isinstance(value, int) or not 8 <= value <= 2048):
            raise _invalid(f"{side} must be an integer in [8, 2048].")
    return params


def _avoided(term_list: list[str], candidate: str) -> bool:
    lowered = candidate.lower()
    return any(term and (term.lower() == lowered or term.lower() in lowered) for term in term_list)


def _class_members(version: DatasetVersion, split: str, cls: str) -> list[VersionSample]:
    members = VersionSample.objects.filter(version=version, label=cls).select_related("sample").order_by("sample_id")
    if split != "all":
        members = members.filter(split=split)
    return list(members)


@dataclass
class _Plan:
    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, entry: dict[str, Any]) -> None:
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(entry)


def _class_plan(
    plan: _Plan, params: PlanParams, version: DatasetVersion, cls: str, bank_ids: list[str], rng: np.random.Generator
) -> None:
    avoid = [str(term) for term in params.avoid.get(cls, [])]
    contexts = [c for c in params.contexts if not _avoided(avoid, c)]
    backgrounds = [b for b in bank_ids if b not in avoid]
    mode = GenerationMode(params.mode)
    if mode != GenerationMode.COMPOSITE and not contexts:
        plan.skip({"class": cls, "reason": f"every context is on the avoid list; {params.per_class} not planned"})
        return
    if mode == GenerationMode.COMPOSITE and not backgrounds:
        plan.skip({"class": cls, "reason": f"no background left after the avoid list; {params.per_class} not planned"})
        return
    parents: list[VersionSample] = []
    if mode in PARENT_MODES:
        members = _class_members(version, params.parent_split, cls)
        if params.parent_samples is not None:  # the listed parents, in their order
            by_id = {member.sample_id: member for member in members}
            members = [by_id[i] for i in dict.fromkeys(params.parent_samples) if i in by_id]
        else:
            members = [members[i] for i in rng.permutation(len(members))]
        for member in members:
            if mode in MASKED_MODES and not member.sample.mask_key:
                plan.skip({"class": cls, "sample": member.sample_id, "reason": "no object mask"})
            else:
                parents.append(member)
        if not parents:
            reason = "with an object mask " if mode in MASKED_MODES else ""
            plan.skip(
                {
                    "class": cls,
                    "reason": f"no sample {reason}in split {params.parent_split}; {params.per_class} not planned",
                }
            )
            return
    background_order = [backgrounds[i] for i in rng.permutation(len(backgrounds))] if backgrounds else []
    for k in range(params.per_class):
        position = len(plan.items)
        context = contexts[k % len(contexts)] if contexts else ""
        parent = parents[k % len(parents)] if parents else None
        item: dict[str, Any] = {
            "position": position,
            "class": cls,
            "mode": mode.value,
            "seed": params.seed + position,
            "parent_sample": parent.sample_id if parent else None,
            "strength": params.strength,
        }
        if mode == GenerationMode.COMPOSITE:
            item.update(prompt="", negative_prompt="", context="", background=background_order[k % len(backgrounds)])
        else:
            prompt = params.prompt_template.format(cls=cls, context=context).strip()
            item.update(prompt=prompt, negative_prompt=params.negative_prompt, context=context, background="")
        plan.items.append(item)


def plan_build(*, params: PlanParams, version: DatasetVersion, bank_ids: list[str] | None = None) -> _Plan:
    """The planned items and the skipped ones for `params` on `version` (no writes)."""
    labelled = VersionSample.objects.filter(version=version).exclude(label="")
    present = sorted(set(labelled.values_list("label", flat=True)))
    classes = params.classes or [c for c in (version.dataset.classes or present) if c in present] or present
    unknown = sorted(set(classes) - set(present))
    if unknown:
        raise _invalid(f"Version {version.number} has no sample labelled {', '.join(unknown)}.")
    if params.mode == GenerationMode.COMPOSITE and bank_ids is None:
        from robustness.evaluation.services.backgrounds import demo_background_bank  # noqa: PLC0415 - torch: loaded on first use, not at start-up

        bank_ids = demo_background_bank().ids
    rng = np.random.default_rng([params.seed, 9])
    plan = _Plan()
    for cls in classes:
        _class_plan(plan, params, version, cls, list(bank_ids or []), rng)
    return plan


@transaction.atomic
def synthetic_batch_create(
    *,
    params: PlanParams,
    user: User | None,
    name: str = "",
    plan_source: str = PlanSource.MANUAL,
    spurious_report_id: int | None = None,
    slice_report_id: int | None = None,
    slice_number: int | None = None,
) -> SyntheticBatch:
    """A batch with its plan (no job yet). Raises ApplicationError not_found, invalid_params, empty_plan.

    The plan is checked before anything is stored: a plan with no item (every class skipped) is refused
    with the reasons.
    """
    version = DatasetVersion.objects.select_related("dataset").filter(pk=params.version_id).first()
    if version is None:
        raise ApplicationError(f"Version {params.version_id} does not exist.", code="not_found", status_code=404)
    plan = plan_build(params=params, version=version)
    if not plan.items:
        reasons = "; ".join(sorted({f"{s['class']}: {s['reason']}" for s in plan.skipped})[:5])
        raise ApplicationError(f"Nothing to generate: {reasons}.", code="empty_plan", details=plan.skipped)
    return SyntheticBatch.objects.create(
        version=version,
        name=name or f"{params.mode} × {params.per_class} per class",
        mode=params.mode,
        generator=params.generator,
        params=params.as_dict(),
        plan=plan.items,
        skipped=plan.skipped,
        plan_source=plan_source,
        spurious_report_id=spurious_report_id,
        slice_report_id=slice_report_id,
        slice_number=slice_number,
        created_by=user,
    )
