"""The adversarial suite: robust accuracy vs ε for FGSM and PGD-L∞, PGD-20 at the default ε, examples.

Robust accuracy counts an image when it is classified correctly both clean and under attack
(docs/METHODS.md §6: "correct and unbroken"), so it never exceeds clean accuracy; the plain accuracy
on the attacked images is stored beside it. PGD's random start is seeded per batch from the run
seed. Examples (the first image) are saved at the default ε, or the largest ε of the sweep.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from robustness.evaluation.services.dataset import EvaluationSet
from robustness.evaluation.services.inference import ExampleWriter, pixels_from_uint8
from robustness.ml.attacks import Attack, attack_defaults, create_attack, magnified_perturbation

AttackFactory = Callable[[int], Attack]  # batch index → attack (its seed differs per batch)


def adversarial_params(image_size: int, params: dict[str, Any]) -> dict[str, Any]:
    """The attack settings with docs/METHODS.md §6 defaults for `image_size` filled in."""
    defaults = attack_defaults(image_size)
    return {
        "attacks": params.get("attacks") or ["fgsm", "pgd"],
        "eps": params.get("eps") or defaults.eps_sweep,
        "default_eps": params.get("default_eps") or defaults.eps,
        "alpha_ratio": params.get("alpha_ratio") or defaults.alpha / defaults.eps,
        "steps": params.get("pgd_steps") or defaults.steps,
        "long_steps": params.get("pgd_long_steps") or defaults.long_steps,
        "random_start": params.get("random_start", True),
    }


def _factory(name: str, eps: float, settings: dict[str, Any], seed: int, steps: int) -> AttackFactory:
    if name == "fgsm":
        return lambda batch: create_attack("fgsm", eps=eps)
    alpha, random_start = eps * settings["alpha_ratio"], settings["random_start"]
    return lambda batch: create_attack(
        "pgd", eps=eps, alpha=alpha, steps=steps, random_start=random_start, seed=seed + batch
    )


class _Attacker:
    """Attacks the whole set batch by batch and scores it."""

    def __init__(self, model: nn.Module, evaluation_set: EvaluationSet, clean_correct: np.ndarray, **kw: Any):
        self.model, self.set, self.clean_correct = model, evaluation_set, clean_correct
        self.device: torch.device = kw["device"]
        self.batch_size: int = kw["batch_size"]

    def run(self, make: AttackFactory) -> tuple[dict[str, float], np.ndarray, int]:
        """({accuracy, robust_accuracy}, the first attacked image as H×W×3 floats in [0, 1], its predicted class)."""
        predictions, first = [], None
        for index, start in enumerate(range(0, len(self.set), self.batch_size)):
            images = pixels_from_uint8(self.set.images[start : start + self.batch_size], self.device)
            labels = torch.from_numpy(self.set.targets[start : start + self.batch_size]).to(self.device)
            adversarial = make(index)(self.model, images, labels)
            with torch.no_grad():
                predictions.append(self.model(adversarial).argmax(dim=1).cpu().numpy())
            if first is None:
                first = adversarial[0].detach().cpu().permute(1, 2, 0).double().numpy()
        correct = np.concatenate(predictions) == self.set.targets
        scores = {"accuracy": float(correct.mean()), "robust_accuracy": float((correct & self.clean_correct).mean())}
        return scores, first, int(predictions[0][0])  # type: ignore[return-value]

    def first_clean_prediction(self) -> int:
        """The class predicted for the first image unattacked (the example's caption)."""
        with torch.no_grad():
            return int(self.model(pixels_from_uint8(self.set.images[:1], self.device)).argmax(dim=1)[0])


def adversarial_results(
    model: nn.Module,
    evaluation_set: EvaluationSet,
    *,
    clean_correct: np.ndarray,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
    batch_size: int,
    examples: ExampleWriter,
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Robust accuracy per attack and ε, PGD with `long_steps` at the default ε, and example perturbations."""
    attacker = _Attacker(model, evaluation_set, clean_correct, device=device, batch_size=batch_size)
    original = evaluation_set.images[0].astype(np.float64) / 255
    example_eps = settings["default_eps"] if settings["default_eps"] in settings["eps"] else max(settings["eps"])
    examples.save("adversarial/original", evaluation_set.images[0])
    curves: dict[str, list[dict[str, float]]] = {}
    classes = evaluation_set.classes
    # the captions of the example images: its label, what the model predicts clean and under each attack
    adversarial_predictions: dict[str, str] = {}
    example = {
        "label": classes[int(evaluation_set.targets[0])],
        "clean_prediction": classes[attacker.first_clean_prediction()],
        "adversarial_predictions": adversarial_predictions,
    }
    for name in settings["attacks"]:
        curves[name] = []
        for eps in settings["eps"]:
            scores, first, first_prediction = attacker.run(_factory(name, eps, settings, seed, settings["steps"]))
            curves[name].append({"eps": eps, **scores})
            if eps == example_eps:
                adversarial_predictions[name] = classes[first_prediction]
                examples.save(f"adversarial/{name}/adversarial", np.round(first * 255).astype(np.uint8))
                examples.save(f"adversarial/{name}/perturbation", magnified_perturbation(first, original, eps))
            step(f"{name} ε={eps * 255:.1f}/255: robust accuracy {scores['robust_accuracy']:.3f}")
    pgd_long = None
    if "pgd" in settings["attacks"]:
        eps, steps = settings["default_eps"], settings["long_steps"]
        scores, _, _ = attacker.run(_factory("pgd", eps, settings, seed, steps))
        pgd_long = {"eps": eps, "steps": steps, **scores}
        step(f"pgd-{steps} ε={eps * 255:.1f}/255: robust accuracy {scores['robust_accuracy']:.3f}")
    return {
        "count": len(evaluation_set),
        "clean_accuracy": float(clean_correct.mean()),
        "settings": settings,
        "example_eps": example_eps,
        "curves": curves,
        "pgd_long": pgd_long,
        "example_sample_id": int(evaluation_set.sample_ids[0]),
        "example": example,
    }
