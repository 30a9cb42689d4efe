"""open_clip encoders: ``open_clip:<arch>:<pretrained tag or local path>``.

The source after the arch is, in order of precedence: a directory holding ``open_clip_config.json`` and
weights (the layout open_clip saves for the hub, loaded through its ``local-dir:`` schema), a checkpoint
file (.pt, .pth, .bin, .safetensors) for ``arch``, or a pretrained tag of ``arch``. A tag's weights are
taken from the hub cache without touching the network; only when they are missing is the hub asked,
and only if HF_HUB_OFFLINE is unset and the endpoint answers within seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from curation.ml.encoders.base import Encoder, EncoderSpec, WeightsUnavailable
from curation.ml.encoders.hub import cached_hub_file, endpoint_reachable, hub_cache_dir, hub_endpoint, hub_offline

CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
LOCAL_CONFIG_NAME = "open_clip_config.json"
# open_clip's own preference when a folder holds several checkpoints.
_PREFERRED_CHECKPOINTS = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
)
_TAG_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode", "fill_color")


@dataclass(frozen=True)
class OpenClipWeights:
    """Where an open_clip model comes from, in the terms ``open_clip.create_model`` takes."""

    model_name: str  # an arch, or "local-dir:<folder>"
    checkpoint: str | None  # file passed as ``pretrained``; None for local-dir
    preprocess_overrides: dict[str, Any] = field(default_factory=dict)
    quick_gelu: bool = False


class OpenClipEncoder(Encoder):
    def _image_features(self, batch: torch.Tensor) -> torch.Tensor:
        clip: Any = self.module
        return clip.encode_image(batch)

    def _text_features(self, tokens: torch.Tensor) -> torch.Tensor:
        clip: Any = self.module
        return clip.encode_text(tokens)


def build_open_clip_encoder(
    argument: str,
    *,
    device: torch.device,
    precision: str,
    cache_dir: str | Path | None = None,
    allow_download: bool = True,
) -> OpenClipEncoder:
    """``argument`` is ``<arch>:<pretrained tag or local path>``. cache_dir: hub cache (default: HF_HUB_CACHE /
    HF_HOME / ~/.cache/huggingface/hub). allow_download: fetch an uncached tag from the hub when reachable."""
    import open_clip  # noqa: PLC0415 - open_clip (torch) loaded on use, not at start-up
    from open_clip.transform import PreprocessCfg, image_transform_v2  # noqa: PLC0415 - open_clip (torch) loaded on use, not at start-up

    arch, _, source = argument.partition(":")
    if not arch or not source:
        raise ValueError(f"expected open_clip:<arch>:<pretrained tag or local path>, got open_clip:{argument}")
    weights = resolve_open_clip_weights(arch, source, cache_dir=cache_dir, allow_download=allow_download)
    model = open_clip.create_model(
        weights.model_name,
        pretrained=weights.checkpoint,
        device=device,
        force_quick_gelu=weights.quick_gelu,
        force_preprocess_cfg=weights.preprocess_overrides,
        require_pretrained=True,  # never a silent random init
    )
    preprocess_cfg = PreprocessCfg(**open_clip.get_model_preprocess_cfg(model))
    spec = EncoderSpec(
        name=f"open_clip:{argument}",
        family="open_clip",
        arch=arch,
        weights=source,
        dim=_embedding_dim(model, preprocess_cfg.input_size, device),
        mean=tuple(preprocess_cfg.mean),
        std=tuple(preprocess_cfg.std),
        input_size=tuple(preprocess_cfg.input_size[1:]),
        has_text_tower=True,
        interpolation=preprocess_cfg.interpolation,
        resize_mode=preprocess_cfg.resize_mode,
    )
    return OpenClipEncoder(
        spec,
        model,
        image_transform_v2(preprocess_cfg, is_train=False),
        device=device,
        precision=precision,
        tokenizer_factory=lambda: open_clip.get_tokenizer(weights.model_name),
    )


def resolve_open_clip_weights(
    arch: str, source: str, *, cache_dir: str | Path | None = None, allow_download: bool = True
) -> OpenClipWeights:
    """Find the weights for ``arch`` + ``source`` (tag or path) without loading them; fail fast if absent."""
    import open_clip  # noqa: PLC0415 - open_clip (torch) loaded on use, not at start-up

    path = Path(source).expanduser()
    if path.is_dir():
        return _local_dir_weights(arch, path)
    if not _looks_like_path(source):
        _require_known_arch(arch)
        tag_cfg = open_clip.get_pretrained_cfg(arch, source)
        if tag_cfg:
            return OpenClipWeights(
                model_name=arch,
                checkpoint=str(_tag_checkpoint(arch, source, tag_cfg, cache_dir, allow_download)),
                preprocess_overrides={k: tag_cfg[k] for k in _TAG_PREPROCESS_KEYS if k in tag_cfg},
                quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
            )
    if path.is_file():
        _require_known_arch(arch)
        return OpenClipWeights(model_name=arch, checkpoint=str(path))
    if _looks_like_path(source):
        raise WeightsUnavailable(
            f"open_clip weights path {source!r} for {arch} does not exist; pass a checkpoint file "
            f"({', '.join(CHECKPOINT_SUFFIXES)}) or a folder holding {LOCAL_CONFIG_NAME} and the weights"
        )
    tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
    raise ValueError(f"{source!r} is neither a pretrained tag of open_clip {arch} (tags: {tags}) nor an existing path")


def _looks_like_path(source: str) -> bool:
    return os.sep in source or source.startswith(("~", ".")) or source.endswith(CHECKPOINT_SUFFIXES)


def _require_known_arch(arch: str) -> None:
    import open_clip  # noqa: PLC0415 - open_clip (torch) loaded on use, not at start-up

    if arch not in open_clip.list_models():
        raise ValueError(f"unknown open_clip arch {arch!r}; known: {', '.join(open_clip.list_models())}")


def _local_dir_weights(arch: str, folder: Path) -> OpenClipWeights:
    checkpoints = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in CHECKPOINT_SUFFIXES]
    if not checkpoints:
        raise WeightsUnavailable(f"open_clip weights folder {folder} for {arch} holds no checkpoint file")
    if (folder / LOCAL_CONFIG_NAME).is_file():
        return OpenClipWeights(model_name=f"local-dir:{folder}", checkpoint=None)
    _require_known_arch(arch)
    preferred = [p for p in checkpoints if p.name in _PREFERRED_CHECKPOINTS]
    chosen = min(preferred, key=lambda p: _PREFERRED_CHECKPOINTS.index(p.name)) if preferred else checkpoints[0]
    return OpenClipWeights(model_name=arch, checkpoint=str(chosen))


def _tag_checkpoint(
    arch: str, tag: str, tag_cfg: dict[str, Any], cache_dir: str | Path | None, allow_download: bool
) -> Path:
    from open_clip.pretrained import download_pretrained  # noqa: PLC0415 - open_clip (torch) loaded on use, not at start-up

    if tag_cfg.get("file"):
        return Path(tag_cfg["file"])
    hub_id = tag_cfg.get("hf_hub", "")
    if hub_id:
        cache = hub_cache_dir(cache_dir)
        repo_id, filename = os.path.split(hub_id)
        filename = filename or "open_clip_pytorch_model.bin"
        found = cached_hub_file(repo_id, [*_safetensors_alternatives(filename), filename], cache)
        where, endpoint = f"the hub cache ({cache})", hub_endpoint()
        fetch = f"`hf download {repo_id} {filename}` and copy its hub cache to {cache} (or point HF_HUB_CACHE at it)"
    else:
        cache = Path(cache_dir or "~/.cache/clip").expanduser()
        url = tag_cfg["url"]
        candidate = cache / os.path.basename(url)
        found = candidate if candidate.is_file() else None
        where, endpoint = f"the open_clip cache ({cache})", url
        fetch = f"`curl -L -o {candidate.name} {url}` and copy the file to {candidate}"
    if found is not None:
        return found
    blocked = _download_blocked(endpoint, allow_download)
    if blocked is None:
        try:
            return Path(download_pretrained(tag_cfg, cache_dir=str(cache)))
        except Exception as error:  # the hub answered but the download failed: same advice
            blocked = f"the download failed ({type(error).__name__}: {error})"
    raise WeightsUnavailable(
        f"open_clip weights {tag!r} for {arch} are not in {where} and {blocked}; download them on a "
        f"connected machine with {fetch}, or pass a local path: "
        f"open_clip:{arch}:/path/to/open_clip_pytorch_model.bin"
    )


def _download_blocked(endpoint: str, allow_download: bool) -> str | None:
    if hub_offline():
        return "the hub is offline (HF_HUB_OFFLINE is set)"
    if not allow_download:
        return "downloads are disabled (allow_download=False)"
    if not endpoint_reachable(endpoint):
        return f"the hub is unreachable ({endpoint})"
    return None


def _safetensors_alternatives(filename: str) -> list[str]:
    if filename == "open_clip_pytorch_model.bin":
        return ["open_clip_model.safetensors"]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors"]
    return []


def _embedding_dim(model: Any, input_size: tuple[int, ...], device: torch.device) -> int:
    dim = getattr(getattr(model, "visual", None), "output_dim", None)
    if isinstance(dim, int):
        return dim
    with torch.inference_mode():
        return int(model.encode_image(torch.zeros(1, *input_size, device=device)).shape[-1])
