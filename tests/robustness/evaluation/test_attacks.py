"""FGSM and PGD-L∞: the analytic answer on a linear model, constraints, and agreement with torchattacks."""

import numpy as np
import pytest
import torch
import torchattacks
from torch import nn

from robustness.ml.attacks import FGSM, PGD, attack_defaults, create_attack, magnified_perturbation

EPS = 8 / 255


def linear_model(seed: int = 0, features: int = 3 * 4 * 4, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(features, classes)).double().eval()
    return model


def analytic_fgsm(weight: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """∇x CE(Wx + b, y) = Wᵀ(softmax(Wx + b) − onehot(y)), one image at a time."""
    out = np.empty_like(x)
    for i in range(len(x)):
        flat = x[i].reshape(-1)
        logits = weight @ flat + bias
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        probabilities[y[i]] -= 1.0
        gradient = weight.T @ probabilities
        out[i] = np.clip(flat + eps * np.sign(gradient), 0, 1).reshape(x[i].shape)
    return out


def test_fgsm_on_a_linear_model_equals_the_analytic_answer():
    model = linear_model()
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(6, 3, 4, 4, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    weight, bias = (p.detach().numpy() for p in model[1].parameters())

    adversarial = FGSM(eps=EPS)(model, images, labels)

    expected = analytic_fgsm(weight, bias, images.numpy(), labels.numpy(), EPS)
    np.testing.assert_allclose(adversarial.numpy(), expected, rtol=0, atol=1e-12)


def small_trained_model() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A tiny CNN fitted in a few steps to tell bright-red from bright-blue 16-px images."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(64) % 2
    images = torch.rand(64, 3, 16, 16, generator=generator) * 0.5
    images[labels == 0, 0] += 0.3
    images[labels == 1, 2] += 0.3
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model.eval(), images, labels


@pytest.fixture(scope="module")
def trained():
    return small_trained_model()


@pytest.mark.parametrize("attack", [FGSM(eps=EPS), PGD(eps=EPS, alpha=2 / 255, steps=5, seed=3)], ids=["fgsm", "pgd"])
def test_perturbation_stays_in_the_eps_ball_and_images_in_the_unit_cube(trained, attack):
    model, images, labels = trained

    adversarial = attack(model, images, labels)

    assert (adversarial - images).abs().max().item() <= EPS + 1e-6
    assert adversarial.min().item() >= 0.0
    assert adversarial.max().item() <= 1.0


@pytest.mark.parametrize("eps", [2 / 255, EPS, 32 / 255])
def test_robust_accuracy_is_at_most_clean_accuracy_and_pgd_is_at_least_as_strong_as_fgsm(trained, eps):
    model, images, labels = trained
    clean = (model(images).argmax(1) == labels).float().mean().item()

    fgsm = (model(FGSM(eps=eps)(model, images, labels)).argmax(1) == labels).float().mean().item()
    pgd_attack = PGD(eps=eps, alpha=eps / 4, steps=10, random_start=False)
    pgd = (model(pgd_attack(model, images, labels)).argmax(1) == labels).float().mean().item()

    assert clean == 1.0
    assert fgsm <= clean
    assert pgd <= fgsm + 1 / 64  # PGD may differ from FGSM by an image, but not be weaker overall


def test_a_large_eps_breaks_the_model(trained):
    model, images, labels = trained

    adversarial = PGD(eps=64 / 255, alpha=16 / 255, steps=10, seed=0)(model, images, labels)

    assert (model(adversarial).argmax(1) == labels).float().mean().item() < 0.5


def test_pgd_without_random_start_agrees_with_torchattacks(trained):
    model, images, labels = trained

    ours = PGD(eps=EPS, alpha=2 / 255, steps=10, random_start=False)(model, images, labels)
    theirs = torchattacks.PGD(model, eps=EPS, alpha=2 / 255, steps=10, random_start=False)(images, labels)

    assert torch.allclose(ours, theirs, atol=1e-6)


def test_pgd_with_the_same_random_start_agrees_with_torchattacks(trained):
    model, images, labels = trained

    ours = PGD(eps=EPS, alpha=2 / 255, steps=10, random_start=True, seed=7)(model, images, labels)
    torch.manual_seed(7)  # torchattacks draws its start from the global generator
    theirs = torchattacks.PGD(model, eps=EPS, alpha=2 / 255, steps=10, random_start=True)(images, labels)

    assert torch.allclose(ours, theirs, atol=1e-6)


def test_fgsm_agrees_with_torchattacks(trained):
    model, images, labels = trained

    ours = FGSM(eps=EPS)(model, images, labels)
    theirs = torchattacks.FGSM(model, eps=EPS)(images, labels)

    assert torch.allclose(ours, theirs, atol=1e-6)


def test_pgd_random_start_is_reproducible_per_seed(trained):
    model, images, labels = trained

    first = PGD(eps=EPS, steps=2, seed=5)(model, images, labels)
    again = PGD(eps=EPS, steps=2, seed=5)(model, images, labels)
    other = PGD(eps=EPS, steps=2, seed=6)(model, images, labels)

    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_eps_zero_returns_the_images_unchanged(trained):
    model, images, labels = trained

    assert torch.equal(create_attack("fgsm", eps=0.0)(model, images, labels), images)
    assert torch.equal(create_attack("pgd", eps=0.0)(model, images, labels), images)


def test_defaults_follow_methods_by_image_size():
    small, large = attack_defaults(32), attack_defaults(224)

    assert (small.eps, small.alpha, small.steps, small.long_steps) == (8 / 255, 2 / 255, 10, 20)
    assert (large.eps, large.alpha) == (4 / 255, 1 / 255)
    assert small.eps in small.eps_sweep and large.eps in large.eps_sweep
    assert small.eps_sweep[0] == large.eps_sweep[0] == 0.0


def test_create_attack_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown attack 'cw'"):
        create_attack("cw")


def test_magnified_perturbation_maps_plus_minus_eps_to_white_and_black():
    original = np.full((1, 3, 3), 0.5)
    adversarial = original + np.array([EPS, 0.0, -EPS]).reshape(1, 3, 1)

    shown = magnified_perturbation(adversarial, original, EPS)

    assert shown[0, :, 0].tolist() == [255, 128, 0]
