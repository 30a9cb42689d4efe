"""Stable Diffusion generators through diffusers: ``diffusers:<hub id or local folder>``.

One pipeline is loaded per generator and its components are shared by the text-to-image, img2img and
inpainting pipelines (diffusers' AutoPipeline ``from_pipe``), so switching modes loads nothing again.
Choices made:
- Weights: a local folder needs its ``model_index.json``; a hub id is looked up in the hub cache
  without network first; when it is not cached and HF_HUB_OFFLINE is set, or the hub is unreachable
  (a 3 s probe), ``WeightsUnavailable`` is raised at once with how to provide the weights, instead of
  huggingface_hub's retry loop. Nothing falls back to random weights.
- Device "auto" is the first CUDA device, else the CPU; on CUDA the weights are loaded in fp16
  (precision "auto"/"fp16"), on the CPU in fp32 (slow but works).
- The noise comes from a CPU ``torch.Generator`` seeded per image, so a seed gives the same image on
  every run of the same device and dtype, and the seed is all a record needs.
- A prompt longer than the tokenizer's window (77 tokens for SD) is truncated here, with a warning kept
  in the image's record; the pipeline would otherwise truncate it with only a log line.
- Inpainting repaints where the mask is white: the background, i.e. everything outside the object mask.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curation.ml.encoders.hub import cached_hub_file, endpoint_reachable, hub_cache_dir, hub_endpoint, hub_offline
from curation.ml.generators.base import (
    GenerationOutput,
    GenerationRequest,
    Generator,
    GeneratorSpec,
    WeightsUnavailable,
)

logger = logging.getLogger(__name__)

SCHEDULERS = {
    "default": "",
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "lms": "LMSDiscreteScheduler",
}
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DIFFUSION_MODES = ("text2img", "img2img", "inpaint")


def diffusion_weights_resolve(
    source: str, *, cache_dir: str | Path | None = None, allow_download: bool = True
) -> tuple[str, bool]:
    """(what to pass to from_pretrained, local_files_only) for a hub id or folder; WeightsUnavailable if absent."""
    if not source:
        raise ValueError("diffusers needs a hub id or a local folder: diffusers:<id or path>")
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise WeightsUnavailable(f"diffusers folder {path} has no model_index.json (save one with save_pretrained)")
        return str(path), True
    if os.sep in source and (source.startswith(("/", "~", ".")) or source.count("/") > 1):
        raise WeightsUnavailable(f"diffusers folder {source!r} does not exist; pass one saved with save_pretrained")
    cache = hub_cache_dir(cache_dir)
    if cached_hub_file(source, ["model_index.json"], cache) is not None:
        return source, True
    blocked = None
    if hub_offline():
        blocked = "the hub is offline (HF_HUB_OFFLINE is set)"
    elif not allow_download:
        blocked = "downloads are disabled"
    elif not endpoint_reachable(hub_endpoint()):
        blocked = f"the hub is unreachable ({hub_endpoint()})"
    if blocked is not None:
        raise WeightsUnavailable(
            f"diffusers model {source!r} is not in the hub cache ({cache}) and {blocked}; download it on a "
            f"connected machine with `hf download {source}` and copy the cache to {cache} (or set HF_HUB_CACHE), "
            "or pass a local folder: diffusers:/path/to/pipeline"
        )
    return source, False


class DiffusersGenerator(Generator):
    def __init__(self, pipeline: Any, *, name: str, weights: str, scheduler: str, device: Any, dtype: Any):
        self._pipelines: dict[str, Any] = {"text2img": pipeline}
        self.device = device
        self.spec = GeneratorSpec(
            name=name,
            family="diffusers",
            weights=weights,
            modes=DIFFUSION_MODES,
            scheduler=type(pipeline.scheduler).__name__ if scheduler == "default" else scheduler,
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
        )

    @property
    def tokenizer_max_length(self) -> int:
        return int(self._pipelines["text2img"].tokenizer.model_max_length)

    def pipeline(self, mode: str) -> Any:
        if mode not in self._pipelines:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up

            factory = AutoPipelineForImage2Image if mode == "img2img" else AutoPipelineForInpainting
            built = factory.from_pipe(self._pipelines["text2img"])
            built.set_progress_bar_config(disable=True)
            self._pipelines[mode] = built
        return self._pipelines[mode]

    def prompt_fit(self, prompt: str) -> tuple[str, list[str]]:
        """The prompt cut to the tokenizer's window (start and end tokens excluded), and a warning if it was."""
        tokenizer = self._pipelines["text2img"].tokenizer
        ids = tokenizer(prompt, truncation=False, add_special_tokens=False).input_ids
        room = self.tokenizer_max_length - 2
        if len(ids) <= room:
            return prompt, []
        kept = tokenizer.decode(ids[:room], skip_special_tokens=True).strip()
        return kept, [f"prompt truncated from {len(ids)} to {room} tokens (the tokenizer's limit): {kept!r}"]

    def check(self, request: GenerationRequest) -> None:
        super().check(request)
        if request.steps < 1:
            raise ValueError("steps must be ≥ 1")
        strength = request.strength
        if request.mode in ("img2img", "inpaint") and strength is not None and not 0.0 < strength <= 1.0:
            raise ValueError("strength must lie in (0, 1]")
        if request.mode in ("img2img", "inpaint") and int(request.steps * (strength or 0.6)) < 1:
            raise ValueError(f"{request.mode} runs steps × strength denoising steps: less than 1 with these values")

    def generate(self, request: GenerationRequest) -> GenerationOutput:
        import torch  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up

        self.check(request)
        prompt, warnings = self.prompt_fit(request.prompt)
        negative, negative_warnings = self.prompt_fit(request.negative_prompt) if request.negative_prompt else ("", [])
        warnings += [w.replace("prompt", "negative prompt", 1) for w in negative_warnings]
        arguments: dict[str, Any] = {
            "prompt": prompt,
            "negative_prompt": negative or None,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance,
            "generator": torch.Generator("cpu").manual_seed(request.seed),
            "output_type": "pil",
        }
        size = self._size(request)
        if request.mode == "text2img":
            arguments.update(height=size[1], width=size[0])
        else:
            assert request.image is not None
            arguments["image"] = Image.fromarray(request.image[..., :3]).resize(size, Image.Resampling.BICUBIC)
            arguments["strength"] = 0.6 if request.strength is None else request.strength
        if request.mode == "inpaint":
            assert request.object_mask is not None
            background = (~request.object_mask.astype(bool)).astype(np.uint8) * 255
            arguments["mask_image"] = Image.fromarray(background, mode="L").resize(size, Image.Resampling.NEAREST)
            arguments.update(height=size[1], width=size[0])
        with torch.inference_mode():
            image = self.pipeline(request.mode)(**arguments).images[0]
        return GenerationOutput(image=image.convert("RGB"), prompt_used=prompt, warnings=warnings)

    def _size(self, request: GenerationRequest) -> tuple[int, int]:
        """(width, height): the request's, else the pipeline's native size, rounded to multiples of 8."""
        pipeline = self._pipelines["text2img"]
        native = int(pipeline.unet.config.sample_size) * int(pipeline.vae_scale_factor)
        width, height = request.width or native, request.height or native
        return max(8, width // 8 * 8), max(8, height // 8 * 8)


def _dtype_for(device: Any, precision: str) -> Any:
    import torch  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if device.type != "cuda" or precision == "fp32":
        return torch.float32
    return torch.bfloat16 if precision == "bf16" else torch.float16


def _device_for(name: str) -> Any:
    import torch  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but this machine has no CUDA device")
    return device


def build_diffusers_generator(
    argument: str,
    *,
    scheduler: str = "default",
    device: str = "auto",
    precision: str = "auto",
    cache_dir: str | Path | None = None,
    allow_download: bool = True,
) -> Generator:
    """``diffusers:<hub id or folder>``; scheduler among SCHEDULERS; device auto|cpu|cuda[:N]; precision
    auto (fp16 on CUDA, fp32 on CPU)|fp32|fp16|bf16. The weights are checked before torch loads anything."""
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}; known: {', '.join(SCHEDULERS)}")
    source, local_only = diffusion_weights_resolve(argument, cache_dir=cache_dir, allow_download=allow_download)
    import diffusers  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up
    from diffusers import AutoPipelineForText2Image  # noqa: PLC0415 - diffusers/torch loaded on use, not at start-up

    torch_device = _device_for(device)
    dtype = _dtype_for(torch_device, precision)
    try:
        pipeline = AutoPipelineForText2Image.from_pretrained(
            source, dtype=dtype, local_files_only=local_only, cache_dir=cache_dir, safety_checker=None
        )
    except OSError as error:  # a folder or cache entry with missing or broken files
        raise WeightsUnavailable(f"cannot load diffusers pipeline {argument!r}: {error}") from error
    if SCHEDULERS[scheduler]:
        pipeline.scheduler = getattr(diffusers, SCHEDULERS[scheduler]).from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    pipeline = pipeline.to(torch_device)
    return DiffusersGenerator(
        pipeline, name=f"diffusers:{argument}", weights=source, scheduler=scheduler, device=torch_device, dtype=dtype
    )
