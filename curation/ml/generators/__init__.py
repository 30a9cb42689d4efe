"""Image generators created by name: ``create_generator("diffusers:<hub id or folder>")``, ``"composite"``.

A family's module is imported when a generator of it is first built (diffusers: torch and diffusers).
"""

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
