"""A tiny random-init Stable Diffusion pipeline written to a folder (for tests and the benchmark only).

Every file is written here: a 32-wide UNet, a 2-block VAE, a 2-layer CLIP text encoder and a CLIP
tokenizer built from a small vocab.json and merges.txt (model_max_length 77, as real SD tokenizers).
The folder is loaded back through the production path, `create_generator("diffusers:<folder>")`.
The images it makes are noise-like: it proves the plumbing (seeds, modes, records), not the quality.
"""

import json
from pathlib import Path

import torch

TOKENIZER_MAX_LENGTH = 77
# Lower-case letters and the words the tests use, each as a word-final token, so prompts tokenize to words.
WORDS = [
    "a", "photo", "of", "the", "on", "in", "at", "with", "and", "cat", "dog", "bird", "fruit", "flower", "house",
    "insect", "mammal", "grass", "beach", "forest", "street", "snow", "water", "sand", "field", "sky", "brick",
    "gravel", "background", "object",
]  # fmt: skip


def _tokenizer_files(folder: Path) -> None:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab_tokens = ["<|startoftext|>", "<|endoftext|>", "!", ","] + letters + [f"{c}</w>" for c in letters]
    merges = ["#version: 0.2"]
    for word in WORDS:
        # Merge letters left to right, the last merge producing the word-final token.
        pieces = [*word[:-1], word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            if pieces[0] not in vocab_tokens:
                vocab_tokens.append(pieces[0])
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_tokens))}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("\n".join(dict.fromkeys(merges)) + "\n")


def tiny_sd_pipeline_write(folder: Path, *, seed: int = 0) -> Path:
    """Build the tiny pipeline with `seed` and save it under `folder` (returned)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
    )  # fmt: skip
    tokenizer_dir = folder / "_tokenizer_src"
    _tokenizer_files(tokenizer_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, model_max_length=TOKENIZER_MAX_LENGTH)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, projection_dim=32,
            vocab_size=len(tokenizer), max_position_embeddings=TOKENIZER_MAX_LENGTH,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        )
    )  # fmt: skip
    scheduler = DDIMScheduler(steps_offset=1, clip_sample=False)
    pipeline = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    target = folder / "tiny-sd"
    pipeline.save_pretrained(target)
    return target
