"""Device, precision and random-number state for training (Django-free)."""

from __future__ import annotations

import random
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from robustness.ml.training_options import PRECISIONS


def device_resolve(name: str) -> torch.device:
    """``auto``: the first CUDA device when there is one, else the CPU; ``cuda`` without CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but this machine has no CUDA device")
    count = torch.cuda.device_count()
    if (device.index or 0) >= count:
        raise ValueError(f"device {name!r} was asked for, but this machine has {count} CUDA devices")
    return device


def device_describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def precision_resolve(precision: str, device: torch.device) -> str:
    """Mixed precision only on CUDA: ``auto`` is bf16 where supported, else fp16; always fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


def autocast(device: torch.device, precision: str) -> AbstractContextManager[Any]:
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch (CPU and CUDA) and Python's ``random``; returns the CPU generator the loop draws from."""
    random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def rng_state_capture(generator: torch.Generator) -> dict[str, Any]:
    state: dict[str, Any] = {"loop": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def rng_state_restore(state: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(state["loop"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
