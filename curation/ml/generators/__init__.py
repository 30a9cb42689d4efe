"""Image generators created by name: ``create_generator("diffusers:<hub id or folder>")``, ``"composite"``.

The diffusers family imports torch and diffusers only when a generator is built.
"""

from curation.ml.generators import compositing, diffusion  # noqa: F401  (registers the families)
from curation.ml.generators.base import (
    MODES,
    GenerationOutput,
    GenerationRequest,
    Generator,
    GeneratorSpec,
    WeightsUnavailable,
    create_generator,
    register_generator,
    registered_generator_families,
)

__all__ = [
    "MODES",
    "GenerationOutput",
    "GenerationRequest",
    "Generator",
    "GeneratorSpec",
    "WeightsUnavailable",
    "create_generator",
    "register_generator",
    "registered_generator_families",
]
