"""The encoder and generator lists of the start forms: where their weights are looked for, and the policy."""

import pytest
from django.test import override_settings

from frontend.model_choices import OPEN_CLIP_REPOS, default_choice, encoder_choices, generator_choices


def test_the_offered_open_clip_tags_name_the_repositories_open_clip_maps_them_to():
    from open_clip.pretrained import get_pretrained_cfg

    for name, repo in OPEN_CLIP_REPOS.items():
        _, arch, tag = name.split(":")
        assert get_pretrained_cfg(arch, tag)["hf_hub"].rstrip("/") == repo


@pytest.mark.django_db
def test_a_clip_whose_weights_are_in_the_hub_cache_is_available_and_listed_first(curator, tmp_path, monkeypatch):
    # given a hub cache that holds the ViT-B-16 weights only (the layout huggingface_hub writes)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--laion--CLIP-ViT-B-16-laion2B-s34B-b88K"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "open_clip_pytorch_model.bin").write_bytes(b"weights")

    choices = encoder_choices(curator)

    assert [(c.name, c.available, c.note) for c in choices] == [
        ("efficientnet-lite0", True, "weights packaged"),
        ("open_clip:ViT-B-16:laion2b_s34b_b88k", True, "weights in the hub cache"),
        ("open_clip:ViT-B-32:laion2b_s34b_b79k", False, "weights not on this machine"),
    ]
    assert default_choice(choices) == "efficientnet-lite0"


@pytest.mark.django_db
def test_names_the_weights_policy_refuses_are_listed_as_not_allowed(curator, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with override_settings(WEIGHTS_HUB_ALLOWED=["efficientnet-lite0", "open_clip:*:*"]):
        refused = [c for c in generator_choices(curator) if not c.allowed]

    assert [c.name for c in refused] == [
        "diffusers:stabilityai/sd-turbo",
        "diffusers:stable-diffusion-v1-5/stable-diffusion-v1-5",
    ]
    assert all(c.note.startswith("not allowed: ") and not c.available for c in refused)
