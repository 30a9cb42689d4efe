"""The attacks an evaluation can name, without importing torch.

Parameter checks run when an evaluation is requested (in the web process); the attacks themselves
are registered in ``robustness.ml.attacks`` (which imports torch). A test keeps the two equal.
"""

ATTACK_NAMES = ("fgsm", "pgd")
