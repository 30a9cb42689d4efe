"""Rows for synthetic tests and the permission matrix: a batch with one pending image on a world's version."""

from typing import Any

from curation.synthetic.models import SyntheticBatch, SyntheticImage


def synthetic_batch_for(version: Any, sample: Any) -> SyntheticBatch:
    """A composite batch of one planned image, realised by `sample` (pending review)."""
    item = {"position": 0, "class": "cat", "mode": "composite", "seed": 0, "parent_sample": None,
            "strength": None, "prompt": "", "negative_prompt": "", "context": "", "background": "bg"}  # fmt: skip
    batch = SyntheticBatch.objects.create(
        version=version, name="matrix", mode="composite", generator="composite", plan=[item]
    )
    SyntheticImage.objects.create(
        batch=batch, position=0, sample=sample, intended_class="cat", mode="composite", model="composite", seed=0,
        background="bg",
    )  # fmt: skip
    return batch


def synthetic_world(world: Any) -> SyntheticBatch:
    """The permission matrix World's batch (created on first use, kept on the world)."""
    found = getattr(world, "synthetic_batch", None)
    if found is None:
        found = world.synthetic_batch = synthetic_batch_for(world.version, world.sample)
    return found


def synthetic_batch_kwargs(world: Any) -> dict[str, int]:
    return {"batch_id": synthetic_world(world).pk}


def synthetic_image_kwargs(world: Any) -> dict[str, int]:
    return {"image_id": synthetic_world(world).images.get().pk}
