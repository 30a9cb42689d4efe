# Over 300 lines: PlanParams (about 75 lines of declared settings with their help) sits beside the plan it decides,
# so that a setting and the rule that uses it are read together; split the plan builder out if it grows.
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
from core.params import ParamError, param, params_fields, params_from_data
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
INVALID = "invalid_params"


@dataclass
class PlanParams:
    """Every setting of a batch, defaults included (stored as the batch's params).

    Declared with core.params: the batch API's settings, the batch page's form and `generate`'s options are
    generated from it, and `params_from_data` checks types, bounds and choices and resolves the mode's defaults
    (strength, generator). `plan_params_check` keeps the rules between settings. A plan's source (a failure
    slice, plan_from_slice) sits between the settings given and these defaults: every surface passes only what
    was given. Lists stay lists (the dataclass is not frozen: the stored params are its dict).
    """

    version_id: int = param(cli="version_id", name="version", api=False, help="Id of the version.")
    mode: str = param(choices=GenerationMode.values, code=INVALID, help="How the images are made.")
    generator: str = param(
        "", default_by=("mode", {GenerationMode.COMPOSITE.value: "composite"}), default_text="composite",
        help="diffusers:<hub id or folder>; composite: omit.",
    )  # fmt: skip
    per_class: int = param(
        8, min=1, max=MAX_PER_CLASS, code=INVALID, label="Images per class", help="Images per class."
    )
    classes: list[str] | None = param(None, help="Classes to plan for.", default_text="every labelled class")
    seed: int = param(0, min=0, code=INVALID, help="Seed of image 0; image i uses seed + i.")
    steps: int = param(25, min=1, max=500, code=INVALID, help="Denoising steps.")
    guidance: float = param(7.5, min=0.0, max=50.0, code=INVALID, help="Guidance scale.")
    strength: float | None = param(
        None, min=0.0, max=1.0, min_exclusive=True, code=INVALID,
        default_by=("mode", {mode.value: value for mode, value in DEFAULT_STRENGTH.items()}),
        help="img2img and inpaint: how far from the parent.", default_text="img2img 0.6, inpaint 1.0",
    )  # fmt: skip
    negative_prompt: str = param("blurry, deformed, text, watermark", help="Negative prompt.")
    prompt_template: str = param("a photo of a {cls} {context}", help="Prompt; must contain {cls}.")
    contexts: list[str] = param(
        list(DEFAULT_CONTEXTS), lines=True, cli="--context", label="Contexts for prompts",
        help="Contexts for the prompts, taken in turn (they may hold commas): one per line on the page, one per "
        "--context (repeated) or a JSON list on the command.",
    )  # fmt: skip
    avoid: dict[str, list[str]] = param(
        {}, label="Avoid per class",
        help="Per class, background ids (composite) or context words (prompts) to avoid. A class given twice "
        "adds up its terms; a class given replaces that class's list from a spurious report.",
    )  # fmt: skip
    parent_split: str = param(
        "train", choices=("train", "val", "test", "unassigned", "all"), code=INVALID,
        help="Split of the parents (img2img, inpaint, composite).",
    )  # fmt: skip
    scheduler: str = param("default", help="default, ddim, pndm, euler, euler_a, dpm++ or lms.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    precision: str = param("auto", help="auto, fp32, fp16 or bf16.")
    width: int | None = param(None, min=8, max=2048, code=INVALID, help="Image width.")
    height: int | None = param(None, min=8, max=2048, code=INVALID, help="Image height.")
    flag_model_id: int | None = param(
        None, name="flag_model", label="Trained model for agreement flags", help="Trained model for flags."
    )
    flag_encoder: str | None = param(
        None, label="Or CLIP for agreement flags", help="Or CLIP for flags: open_clip:<arch>:<tag or path>."
    )
    parent_samples: list[int] | None = param(
        None, api=False, page=False, command=False, help="Listed parents (a slice plan's held-out samples)."
    )

    def __post_init__(self) -> None:  # core.params gives tuples; the stored params and the plan read lists
        for name in ("classes", "contexts", "parent_samples"):
            value = getattr(self, name)
            if isinstance(value, tuple):
                setattr(self, name, list(value))
        self.avoid = {cls: list(terms) for cls, terms in self.avoid.items()}

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "version_id"}


PLAN_PARAM_NAMES = frozenset(name for f in params_fields(PlanParams) for name in (f.attr, f.name))
DIFFUSION_MODES = (GenerationMode.TEXT2IMG, GenerationMode.IMG2IMG, GenerationMode.INPAINT)


def plan_params_check(params: PlanParams) -> None:
    """The rules between settings (the declaration checks each one alone); ParamError invalid_params naming the
    setting otherwise."""
    mode = params.mode
    if mode == GenerationMode.COMPOSITE and params.generator != "composite":
        raise ParamError("generator", "composite plans use the composite generator.", code=INVALID)
    if mode != GenerationMode.COMPOSITE and (
        not params.generator.startswith("diffusers:") or len(params.generator) <= len("diffusers:")
    ):
        raise ParamError(
            "generator", f"{mode} needs a diffusers generator: diffusers:<hub id or local folder>.", code=INVALID
        )
    if params.strength is not None and mode not in (GenerationMode.IMG2IMG, GenerationMode.INPAINT):
        raise ParamError("strength", "strength applies to img2img and inpaint only.", code=INVALID)
    if params.strength is not None and int(params.steps * params.strength) < 1:
        runs = params.steps * params.strength
        message = f"{mode} runs steps × strength = {runs:g} denoising steps; raise either."
        raise ParamError("steps", message, code=INVALID)
    if params.flag_model_id is not None and params.flag_encoder:
        message = "Pick one checker for the flags: flag_model_id (a trained model) or flag_encoder (CLIP)."
        raise ParamError("flag_encoder", message, code=INVALID)
    if "{cls}" not in params.prompt_template:
        raise ParamError(
            "prompt_template", "prompt_template must contain {cls} (prompts name the class).", code=INVALID
        )
    if mode in DIFFUSION_MODES and not params.contexts:
        raise ParamError("contexts", "contexts must not be empty.", code=INVALID)


def plan_params_validate(**raw: Any) -> PlanParams:
    """The settings given (field or public names; None: not given) checked as declared (types, bounds, choices),
    the defaults filled in (the mode's too), then the rules between settings (`plan_params_check`). Every refusal
    is ParamError invalid_params whose details.field names the setting."""
    unknown = sorted(set(raw) - PLAN_PARAM_NAMES)
    if unknown:
        raise ParamError(unknown[0], f"Unknown parameter(s): {', '.join(unknown)}.", code=INVALID)
    try:
        params = params_from_data(PlanParams, raw)
    except ParamError as refused:  # a type refused (the API, the page and the command refuse it earlier)
        raise ParamError(refused.field, refused.message, code=INVALID) from None
    plan_params_check(params)
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
        message = f"Version {version.number} has no sample labelled {', '.join(unknown)}."
        raise ParamError("classes", message, code=INVALID)
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
