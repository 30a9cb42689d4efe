"""Diffusers generation on CUDA: fp16 weights, and the same seed gives the same image on the device.

Run on the device machine (`pytest -m gpu tests/curation/synthetic`); skipped where there is no CUDA.
"""

import numpy as np
import pytest
import torch

from curation.ml.generators import GenerationRequest, create_generator

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_auto_device_and_precision_load_fp16_on_cuda_and_are_reproducible(tiny_sd_folder):
    generator = create_generator(f"diffusers:{tiny_sd_folder}")  # device and precision "auto"

    def make(seed: int) -> np.ndarray:
        request = GenerationRequest(mode="text2img", prompt="a photo of a cat", seed=seed, steps=4)
        return np.asarray(generator.generate(request).image)

    assert (generator.spec.device, generator.spec.dtype) == ("cuda", "float16")
    assert generator.pipeline("text2img").unet.dtype == torch.float16
    first, again = make(3), make(3)
    assert first.shape == (32, 32, 3) and np.array_equal(first, again)
    inpainted = generator.generate(
        GenerationRequest(mode="inpaint", prompt="a cat", image=first, object_mask=np.eye(32, dtype=bool), steps=4)
    )
    assert inpainted.image.size == (32, 32)
