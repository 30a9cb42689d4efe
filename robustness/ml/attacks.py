"""White-box L∞ attacks by name: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018).

Conventions (docs/METHODS.md §6): inputs are in [0, 1] and normalisation lives inside the model,
which is put in eval mode. Choices made:
- The loss is cross-entropy summed over the batch, so each image's gradient does not depend on
  the batch size (a mean can underflow to a zero sign for confident images).
- FGSM: x' = clip(x + ε·sign(∇x CE), 0, 1).
- PGD-L∞: a uniform random start in the ε-ball (clipped to [0, 1]) drawn from a generator seeded
  by `seed`, then T steps of x ← x + α·sign(∇x CE), each followed by projection onto the ε-ball
  around x and a clip to [0, 1] — the same order as torchattacks' PGD, which tests compare to.
- Defaults by image size: ε = 8/255, α = 2/255, T = 10 for small (≤ 64 px) images; ε = 4/255 and
  α = 1/255 for larger ones. In an ε sweep α keeps the ratio α = ε/4 and T stays fixed.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from robustness.ml.registry import ATTACKS

SMALL_IMAGE_MAX_SIDE = 64


@dataclass(frozen=True)
class AttackDefaults:
    """docs/METHODS.md §6 defaults for one input size; `eps_sweep` includes 0 (clean) and `eps`."""

    eps: float
    alpha: float
    steps: int
    long_steps: int
    eps_sweep: list[float] = field(default_factory=list)


def attack_defaults(image_size: int) -> AttackDefaults:
    """Defaults for square inputs of `image_size` px: 32-px style data up to 64 px, ImageNet style above."""
    if image_size <= SMALL_IMAGE_MAX_SIDE:
        sweep = [0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255]
        return AttackDefaults(eps=8 / 255, alpha=2 / 255, steps=10, long_steps=20, eps_sweep=sweep)
    sweep = [0.0, 0.5 / 255, 1 / 255, 2 / 255, 4 / 255, 8 / 255]
    return AttackDefaults(eps=4 / 255, alpha=1 / 255, steps=10, long_steps=20, eps_sweep=sweep)


def _input_gradient(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    images = images.detach().requires_grad_(True)
    loss = F.cross_entropy(model(images).float(), labels, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, images)
    return gradient


class FGSM:
    """Fast gradient sign method: one step of size ε."""

    name = "fgsm"

    def __init__(self, eps: float = 8 / 255):
        if eps < 0:
            raise ValueError("eps must be ≥ 0")
        self.eps = float(eps)

    def __call__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.eps == 0:
            return images.detach().clone()
        gradient = _input_gradient(model, images, labels)
        return (images.detach() + self.eps * gradient.sign()).clamp(0, 1)


class PGD:
    """Projected gradient descent in the L∞ ball (with an optional random start)."""

    name = "pgd"

    def __init__(
        self, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10, random_start: bool = True, seed: int = 0
    ):
        if eps < 0 or alpha < 0 or steps < 1:
            raise ValueError("eps and alpha must be ≥ 0 and steps ≥ 1")
        self.eps, self.alpha, self.steps = float(eps), float(alpha), int(steps)
        self.random_start, self.seed = random_start, seed

    def __call__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        originals = images.detach()
        if self.eps == 0:
            return originals.clone()
        adversarial = originals.clone()
        if self.random_start:
            generator = torch.Generator(device=originals.device).manual_seed(self.seed)
            noise = torch.empty_like(originals).uniform_(-self.eps, self.eps, generator=generator)
            adversarial = (adversarial + noise).clamp(0, 1)
        for _ in range(self.steps):
            gradient = _input_gradient(model, adversarial, labels)
            adversarial = adversarial + self.alpha * gradient.sign()
            delta = (adversarial - originals).clamp(-self.eps, self.eps)
            adversarial = (originals + delta).clamp(0, 1).detach()
        return adversarial


Attack = FGSM | PGD


def register_attack(name: str) -> Callable[[Callable[..., Attack]], Callable[..., Attack]]:
    """Register ``factory(**parameters) -> Attack`` under ``name`` (fgsm and pgd are in robustness.ml.registry)."""
    return ATTACKS.register(name)


def create_attack(name: str, **kwargs: float | int | bool) -> Attack:
    """An attack by name ('fgsm' or 'pgd') with its parameters (eps, alpha, steps, random_start, seed).

    Raises UnknownNameError (a ValueError) for another name."""
    return ATTACKS.create(name, **kwargs)


def magnified_perturbation(adversarial: np.ndarray, original: np.ndarray, eps: float) -> np.ndarray:
    """δ = x' − x of two H×W×3 float images in [0, 1], shown as uint8: mid-grey is 0, ±ε are white/black."""
    delta = adversarial.astype(np.float64) - original.astype(np.float64)
    scale = 0.5 / eps if eps > 0 else 0.0
    return np.clip((0.5 + delta * scale) * 255.0 + 0.5, 0, 255).astype(np.uint8)
