"""``clipseg:<hub id or local folder>``: open-vocabulary segmentation (CLIPSeg, Lüddecke and Ecker 2022),
prompted with each image's class name, through transformers' ``CLIPSegForImageSegmentation``.

Weights come from a local folder saved with ``save_pretrained`` (model and processor), or a hub id
(e.g. ``CIDAS/clipseg-rd64-refined``) read from the hub cache without touching the network; only when
they are missing is the hub asked, and only if HF_HUB_OFFLINE is unset and the endpoint answers within
seconds, so an offline job fails at once with what to do instead of retrying for a minute.
Choices made: the prompt is "a photo of a <class>" with "-", "_" and "/" read as spaces; the mask is the
sigmoid of the logits, scaled bilinearly to the image, at or above `threshold` (0.4, CLIPSeg's usual
cut between 0.3 and 0.5; not measured here: no CLIPSeg weights are reachable from this machine).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curation.ml.mask_registry import CLIPSEG, MaskProviderSpec
from curation.ml.masks.base import MaskProvider, MasksUnavailable

DEFAULT_THRESHOLD = 0.4
PROMPT = "a photo of a {}"


def class_prompt(class_name: str) -> str:
    """'animals-fish' -> 'a photo of a animals fish' (the words of the class name in the template)."""
    words = class_name.replace("-", " ").replace("_", " ").replace("/", " ")
    return PROMPT.format(" ".join(words.split()))


def _looks_like_path(source: str) -> bool:
    return source.startswith(("/", "~", ".")) or Path(source).expanduser().exists()


def clipseg_load(source: str, *, cache_dir: str | Path | None = None, allow_download: bool = True) -> tuple[Any, Any]:
    """(model, processor) from a local folder or a hub id; MasksUnavailable when they cannot be had."""
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

    from curation.ml.encoders.hub import hub_cache_dir  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

    folder = Path(source).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise MasksUnavailable(f"CLIPSeg folder {folder} holds no config.json: save one with save_pretrained")
        model = CLIPSegForImageSegmentation.from_pretrained(folder, local_files_only=True)
        return model, CLIPSegProcessor.from_pretrained(folder, local_files_only=True)
    if _looks_like_path(source):
        raise MasksUnavailable(f"CLIPSeg weights folder {source!r} does not exist")
    cache = str(hub_cache_dir(cache_dir))
    try:
        model = CLIPSegForImageSegmentation.from_pretrained(source, cache_dir=cache, local_files_only=True)
        return model, CLIPSegProcessor.from_pretrained(source, cache_dir=cache, local_files_only=True)
    except OSError:
        pass  # not cached (or only in part): ask the hub if allowed
    blocked = _download_blocked(allow_download)
    if blocked is None:
        try:
            model = CLIPSegForImageSegmentation.from_pretrained(source, cache_dir=cache)
            return model, CLIPSegProcessor.from_pretrained(source, cache_dir=cache)
        except OSError as error:
            blocked = f"the download failed ({type(error).__name__}: {error})"
    raise MasksUnavailable(
        f"CLIPSeg weights {source!r} are not in the hub cache ({cache}) and {blocked}; download them on a "
        f"connected machine with `hf download {source}` and copy its hub cache to {cache} (or point HF_HUB_CACHE "
        f"at it), or save them with save_pretrained and pass the folder: clipseg:/path/to/folder"
    )


def _download_blocked(allow_download: bool) -> str | None:
    from curation.ml.encoders.hub import endpoint_reachable, hub_endpoint, hub_offline  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

    if hub_offline():
        return "the hub is offline (HF_HUB_OFFLINE is set)"
    if not allow_download:
        return "downloads are disabled (allow_download=False)"
    if not endpoint_reachable(hub_endpoint()):
        return f"the hub is unreachable ({hub_endpoint()})"
    return None


class ClipSegMasks(MaskProvider):
    def __init__(self, source: str, model: Any, processor: Any, *, device: str, threshold: float, batch_size: int):
        self.model, self.processor = model.to(device).eval(), processor
        self.device, self.threshold, self.batch_size = device, threshold, batch_size
        self.spec = MaskProviderSpec(
            name=f"{CLIPSEG}:{source}", family=CLIPSEG, weights=source, uses_class_names=True,
            method=f"CLIPSeg prompted '{PROMPT.format('<class>')}', sigmoid >= {threshold}",
        )  # fmt: skip

    def masks(
        self,
        images: Sequence[np.ndarray],
        *,
        class_names: Sequence[str] | None = None,
        dataset_masks: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray | None]:
        if class_names is None or len(class_names) != len(images):
            raise ValueError("CLIPSeg is prompted with each image's class name: pass one class name per image")
        found: list[np.ndarray | None] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            prompts = [class_prompt(name) for name in class_names[start : start + self.batch_size]]
            found += [self._mask(p, image) for p, image in zip(self._probabilities(chunk, prompts), chunk, strict=True)]
        return found

    def _probabilities(self, images: Sequence[np.ndarray], prompts: list[str]) -> np.ndarray:
        import torch  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

        inputs = self.processor(
            text=prompts, images=[np.ascontiguousarray(i[..., :3]) for i in images], padding=True, return_tensors="pt"
        )
        with torch.inference_mode():
            logits = self.model(**{k: v.to(self.device) for k, v in inputs.items()}).logits
        # CLIPSeg squeezes the batch axis of a single image
        return torch.sigmoid(logits.float()).reshape(len(images), *logits.shape[-2:]).cpu().numpy()

    def _mask(self, probability: np.ndarray, image: np.ndarray) -> np.ndarray:
        import cv2  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

        height, width = image.shape[:2]
        return cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR) >= self.threshold


def build_clipseg_masks(
    argument: str,
    *,
    device: str = "cpu",
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 16,
    cache_dir: str | Path | None = None,
    allow_download: bool = True,
    **options: object,
) -> ClipSegMasks:
    """``argument``: a hub id or a folder saved with save_pretrained (model and processor). device: "cpu",
    "cuda", "cuda:N" or "auto"; threshold: on the sigmoid (0.4); cache_dir: hub cache (default: HF_HUB_CACHE /
    HF_HOME / ~/.cache/huggingface/hub); allow_download: fetch uncached weights when the hub is reachable."""
    if not argument:
        raise ValueError("clipseg needs its weights: clipseg:<hub id or local folder>")
    if device == "auto":
        import torch  # noqa: PLC0415 - transformers/torch/cv2 and the hub helpers loaded on use, not at start-up

        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, processor = clipseg_load(argument, cache_dir=cache_dir, allow_download=allow_download)
    return ClipSegMasks(argument, model, processor, device=device, threshold=threshold, batch_size=batch_size)
