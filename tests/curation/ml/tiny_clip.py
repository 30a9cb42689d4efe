"""A tiny random-init open_clip model, registered and saved in every layout the production loader reads.

The arch exists only in tests: its config JSON is written to a temp folder and registered with
``open_clip.add_model_config``; its weights are saved to disk and loaded back through
``create_encoder("open_clip:<arch>:<path or tag>")``, the same path production weights take.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import open_clip
import safetensors.torch
import torch

TINY_ARCH = "winnow-tiny-clip"
TINY_TAG = "winnow_test_tag"
TINY_HUB_REPO = "winnow/tiny-clip"
TINY_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
# A local-dir folder carries its own preprocessing (as open_clip's hub exports do): differs from the default.
LOCAL_DIR_PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


@dataclass(frozen=True)
class TinyClip:
    model: torch.nn.Module  # the in-memory original
    pt_file: Path
    safetensors_file: Path
    local_dir: Path  # open_clip_config.json + open_clip_model.safetensors
    bare_dir: Path  # a checkpoint and no config: the arch comes from the name
    hub_cache: Path  # a hub cache holding TINY_HUB_REPO's weights at refs/main


def build_tiny_clip(folder: Path, *, seed: int = 0) -> TinyClip:
    (folder / "configs").mkdir(parents=True, exist_ok=True)
    (folder / "configs" / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / "configs")
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_ARCH).eval()
    state = model.state_dict()
    torch.save(state, folder / "tiny.pt")
    safetensors.torch.save_file(state, folder / "tiny.safetensors")
    local_dir, bare_dir = folder / "local-dir", folder / "bare-dir"
    local_dir.mkdir()
    bare_dir.mkdir()
    config = {"model_cfg": TINY_CONFIG, "preprocess_cfg": LOCAL_DIR_PREPROCESS}
    (local_dir / "open_clip_config.json").write_text(json.dumps(config))
    safetensors.torch.save_file(state, local_dir / "open_clip_model.safetensors")
    torch.save(state, bare_dir / "open_clip_pytorch_model.bin")
    return TinyClip(
        model=model,
        pt_file=folder / "tiny.pt",
        safetensors_file=folder / "tiny.safetensors",
        local_dir=local_dir,
        bare_dir=bare_dir,
        hub_cache=_hub_cache_with(folder / "hub", TINY_HUB_REPO, "open_clip_pytorch_model.bin", folder / "tiny.pt"),
    )


def tiny_tag_config() -> dict[str, object]:
    """The pretrained-tag entry open_clip would ship for TINY_TAG (tests add it to its table)."""
    return {"url": "", "hf_hub": f"{TINY_HUB_REPO}/", "mean": (0.25, 0.25, 0.25), "std": (0.5, 0.5, 0.5)}


def _hub_cache_with(cache: Path, repo_id: str, filename: str, source: Path) -> Path:
    """The layout huggingface_hub leaves after downloading ``filename`` of ``repo_id`` at revision main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / filename).write_bytes(source.read_bytes())
    return cache
