"""Start forms in a real browser: encoders, generators and architectures are lists that say whether they work
on this machine, rows are chosen from dropdowns (never typed as ids), and method-specific fields show only
for the chosen method. Every page visited is checked for console errors and 4xx/5xx responses."""

from fractions import Fraction

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from curation.pruning.models import ClusterRun
from curation.synthetic.services.plans import DEFAULT_CONTEXTS
from jobs.models import Job
from robustness.evaluation.models import EvaluationRun
from robustness.models import TrainingRun
from tests.browser import log_in
from tests.curation.pruning.factories import embedding_set_create, version_with_samples
from tests.e2e.test_browse import keep_screenshot, watch_for_errors
from tests.frontend.loop_rows import trained_model_row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    """A machine whose hub cache holds no weights (the CLIP encoders and diffusers pipelines are not here)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def test_the_embed_form_lists_encoders_and_defaults_to_one_whose_weights_are_here(
    live_server, page: Page, curator, empty_hub_cache, tmp_path
):
    version = version_with_samples(4)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/datasets/{version.dataset_id}/v/1/embeddings/")

    encoder = page.get_by_label("Encoder")
    expect(encoder).to_have_value("efficientnet-lite0")
    expect(encoder.locator("option")).to_have_text(
        [
            "efficientnet-lite0 (weights packaged)",
            "open_clip:ViT-B-32:laion2b_s34b_b79k (weights not on this machine)",
            "open_clip:ViT-B-16:laion2b_s34b_b88k (weights not on this machine)",
        ]
    )
    shot = tmp_path / "embed-form.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)

    page.get_by_role("button", name="Embed v1").click()
    page.wait_for_url("**/jobs/*/")
    assert Job.objects.get(kind="embed").params["encoder"] == "efficientnet-lite0"
    assert errors == []


def test_the_training_form_defaults_to_a_cpu_run_until_a_gpu_worker_has_trained(live_server, page: Page, admin_user):
    version = version_with_samples(4)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username, next_path=f"/training/?version={version.pk}")

    expect(page.locator("#cpu-defaults-note")).to_be_visible()
    expect(page.get_by_label("Architecture")).to_have_value("small-cnn")
    expect(page.get_by_label("Architecture").locator("option[value='small-cnn']")).to_have_text(
        "small-cnn (random init; trains on a CPU in minutes)"
    )
    expect(page.get_by_label("Epochs")).to_have_value("5")
    expect(page.get_by_label("Image size")).to_have_value("64")
    expect(page.get_by_label("Version")).to_have_value(str(version.pk))

    # once a worker has trained on CUDA, the form offers the full defaults
    model = trained_model_row(version, admin_user)
    TrainingRun.objects.filter(pk=model.run_id).update(device_used="cuda:0")
    page.reload()
    expect(page.locator("#cpu-defaults-note")).to_have_count(0)
    expect(page.get_by_label("Epochs")).to_have_value("10")
    assert errors == []


def test_the_synthetic_form_shows_the_parameters_of_the_chosen_mode(
    live_server, page: Page, curator, admin_user, empty_hub_cache, tmp_path
):
    version = version_with_samples(4)
    model = trained_model_row(version, admin_user)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/synthetic/new/?version={version.pk}")

    expect(page.get_by_label("Contexts for prompts")).to_have_value("\n".join(DEFAULT_CONTEXTS))
    page.get_by_label("Mode", exact=True).select_option("composite")
    expect(page.get_by_label("Steps")).to_be_hidden()
    expect(page.get_by_label("Contexts for prompts")).to_be_hidden()
    expect(page.get_by_label("Generator")).to_have_value("composite")

    page.get_by_label("Mode", exact=True).select_option("img2img")
    expect(page.get_by_label("Steps")).to_be_visible()
    expect(page.get_by_label("Strength")).to_be_visible()
    expect(page.get_by_label("Generator")).to_have_value("diffusers:stabilityai/sd-turbo")
    expect(page.get_by_label("Generator").locator("option:not([hidden])")).to_have_text(
        [
            "diffusers:stabilityai/sd-turbo (weights not on this machine)",
            "diffusers:stable-diffusion-v1-5/stable-diffusion-v1-5 (weights not on this machine)",
        ]
    )
    page.get_by_label("Mode", exact=True).select_option("text2img")
    expect(page.get_by_label("Strength")).to_be_hidden()
    page.get_by_label("Trained model for agreement flags").select_option(str(model.pk))
    shot = tmp_path / "synthetic-form.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)
    assert page.locator("input[name='flag_model'], input[name='generator'], input[name='flag_encoder']").count() == 0
    assert errors == []


def test_the_review_forms_choose_sets_cluster_runs_and_models_from_lists(live_server, page: Page, curator, tmp_path):
    version = version_with_samples(8)
    embedding_set = embedding_set_create(version=version, vectors=np.eye(8, 4))
    cluster_run = ClusterRun.objects.create(version=version, embedding_set=embedding_set, n_clusters=2, n_samples=8)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/review/new/?version={version.pk}")

    source = page.locator("#proposal-source")
    source.select_option("mixed_cluster")
    expect(page.locator("#proposal-cluster-run")).to_be_visible()
    expect(page.locator("#proposal-cluster-run")).to_have_value(str(cluster_run.pk))
    expect(page.locator("#proposal-embedding-set")).to_be_hidden()
    expect(page.locator("#proposal-trained-model")).to_be_hidden()
    source.select_option("confident_learning")
    expect(page.locator("#proposal-embedding-set option")).to_have_text(
        ["newest ready set", f"Set {embedding_set.pk} · test:pixels"]
    )
    expect(page.locator("#proposal-cluster-run")).to_be_hidden()
    expect(page.locator("#queue-form select[name='cluster_run'] option")).to_have_text(
        ["any", f"Cluster run {cluster_run.pk} · 2 clusters"]
    )
    shot = tmp_path / "review-create-form.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)
    assert page.locator("input[type='number'][name$='_id'], input[name='cluster_run']").count() == 0
    assert errors == []


def test_the_evaluation_form_limits_corruptions_severities_and_epsilons(live_server, page: Page, admin_user, tmp_path):
    version = version_with_samples(4)
    model = trained_model_row(version, admin_user)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, admin_user.username, next_path="/evaluations/")
    page.goto(f"{live_server.url}/evaluations/start/?trained_model={model.pk}&version={version.pk}")

    expect(page.get_by_role("group", name="Corruptions", exact=True)).to_be_hidden()
    page.get_by_label("Corruptions (15 × 5 severities)").check()
    page.get_by_label("Adversarial (FGSM, PGD)").check()
    corruptions = page.get_by_role("group", name="Corruptions", exact=True)
    expect(corruptions).to_be_visible()
    for box in corruptions.get_by_role("checkbox").all():
        if box.get_attribute("value") not in ("fog", "contrast"):
            box.uncheck()
    severities = page.get_by_role("group", name="Severities")
    for level in ("3", "4", "5"):
        severities.get_by_label(level, exact=True).uncheck()
    page.get_by_label("Attack ε values").fill("0, 2/255")
    shot = tmp_path / "evaluation-form.png"
    page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot)
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/evaluations/*/")

    params = EvaluationRun.objects.get().params
    assert (params["corruptions"], params["severities"]) == (["fog", "contrast"], [1, 2])  # in the benchmark order
    assert params["eps"] == [0.0, float(Fraction(2, 255))]
    assert errors == []
