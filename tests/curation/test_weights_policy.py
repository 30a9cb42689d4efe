"""Which weights a request may make a worker load: local paths for admins under WINNOW_WEIGHTS_ROOTS only,
hub ids and pretrained tags by the allow-list (default: open_clip's tags, EfficientNet-Lite0, the Stable
Diffusion publishers' repositories). Checked when the embedding or generation job is submitted."""

import pytest
from rest_framework.test import APIClient

from curation.ml.weights_policy import weights_refusal
from jobs.models import Job
from tests.factories import DatasetVersionFactory, VersionSampleFactory

ADMIN_ONLY = "Only admins may load weights from a server path."
OUTSIDE_ROOTS = "Weights paths must lie in the folders allowed for weights (WINNOW_WEIGHTS_ROOTS)."


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("open_clip:ViT-B-32:laion2b_s34b_b79k", None),
        ("open_clip:ViT-L-14:openai", None),
        ("efficientnet-lite0", None),
        ("diffusers:stabilityai/sd-turbo", None),
        ("open_clip:ViT-B-32:/etc/passwd", ADMIN_ONLY),
        ("open_clip:ViT-B-32:~/weights.pt", ADMIN_ONLY),
        ("open_clip:ViT-B-32:model.safetensors", ADMIN_ONLY),
        ("diffusers:/etc", ADMIN_ONLY),
        ("diffusers:./pipeline", ADMIN_ONLY),
        ("diffusers:evil/backdoored-pipeline", "'diffusers:evil/backdoored-pipeline' is not among the allowed hub "
                                               "weights (WINNOW_WEIGHTS_HUB_ALLOWED)."),
        ("efficientnet-lite0:other", "'efficientnet-lite0:other' is not among the allowed hub weights "
                                     "(WINNOW_WEIGHTS_HUB_ALLOWED)."),
        ("slow:0.5:open_clip:x", None),  # a family the policy does not know names no weights of its own
    ],
)  # fmt: skip
def test_a_curators_names(name, refusal):
    assert weights_refusal(name, is_admin=False, roots=["/srv/weights"], hub_allowed=[]) == refusal


def test_an_admins_paths_must_lie_under_a_root_after_links_are_resolved(tmp_path):
    # given a root holding a weights file and a link to a file outside it
    root, outside = tmp_path / "weights", tmp_path / "elsewhere.pt"
    root.mkdir()
    (root / "model.pt").write_bytes(b"w")
    outside.write_bytes(b"w")
    (root / "link.pt").symlink_to(outside)
    roots = [str(root)]

    def refusal(path):
        return weights_refusal(f"open_clip:ViT-B-32:{path}", is_admin=True, roots=roots, hub_allowed=[])

    # then inside is accepted; outside, through a link, missing outside and with no root at all are refused alike
    assert refusal(root / "model.pt") is None
    assert refusal(root / "missing.pt") is None  # the worker reports a missing file inside the roots
    assert [refusal(outside), refusal(root / "link.pt"), refusal("/etc/passwd"), refusal("/no/such.pt")] == [
        OUTSIDE_ROOTS
    ] * 4
    assert weights_refusal("diffusers:/etc", is_admin=True, roots=[], hub_allowed=[]) == OUTSIDE_ROOTS


def test_the_allow_list_setting_replaces_the_defaults():
    allowed = ["diffusers:my-org/*"]
    assert weights_refusal("diffusers:my-org/pipeline", is_admin=False, roots=[], hub_allowed=allowed) is None
    assert weights_refusal("open_clip:ViT-B-32:openai", is_admin=False, roots=[], hub_allowed=allowed) is not None


@pytest.fixture
def version(db):
    version = DatasetVersionFactory(number=1, sample_count=1)
    VersionSampleFactory(version=version)
    return version


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("encoder", ["open_clip:ViT-B-32:/etc/passwd", "open_clip:ViT-B-32:../../etc"])
def test_the_embedding_api_refuses_a_curators_server_path_with_400(curator, version, encoder):
    response = api_as(curator).post(f"/api/versions/{version.pk}/embeddings/", {"encoder": encoder}, format="json")
    assert (response.status_code, response.json()["error"]) == (
        400, {"code": "weights_forbidden", "message": ADMIN_ONLY, "details": None},
    )  # fmt: skip
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_the_embedding_api_takes_a_default_tag_and_an_admins_path_under_the_roots(
    curator, admin_user, version, tmp_path, settings
):
    # given a weights root
    settings.WEIGHTS_ROOTS = [str(tmp_path)]
    url = f"/api/versions/{version.pk}/embeddings/"
    # when a curator names the default tag, an admin a file in the root, then one outside it
    by_tag = api_as(curator).post(url, {"encoder": "open_clip:ViT-B-32:laion2b_s34b_b79k"}, format="json")
    by_path = api_as(admin_user).post(url, {"encoder": f"open_clip:ViT-B-32:{tmp_path / 'm.pt'}"}, format="json")
    outside = api_as(admin_user).post(url, {"encoder": "open_clip:ViT-B-32:/etc/passwd"}, format="json")
    # then the first two start jobs, the third is refused
    assert (by_tag.status_code, by_path.status_code) == (202, 202)
    assert (outside.status_code, outside.json()["error"]["code"]) == (400, "weights_forbidden")
    assert Job.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"generator": "diffusers:/etc"}, ADMIN_ONLY),
        ({"generator": "diffusers:someone/pipeline"}, "not among the allowed hub weights"),
        ({"generator": "diffusers:stabilityai/sd-turbo", "flag_encoder": "open_clip:ViT-B-32:/etc/passwd"}, ADMIN_ONLY),
    ],
)
def test_the_synthetic_api_refuses_generator_and_flag_encoder_weights(curator, version, payload, message):
    body = {"mode": "text2img", "contexts": ["a field"], **payload}
    response = api_as(curator).post(f"/api/versions/{version.pk}/synthetic-batches/", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "weights_forbidden")
    assert message in response.json()["error"]["message"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_the_embed_job_checks_again_before_loading_and_says_nothing_about_existence(curator, version):
    # given embed jobs a curator got created without the submit check, naming an existing and a missing path
    from curation.embeddings.models import EmbeddingSet
    from curation.embeddings.services.embedding_jobs import EMBED_JOB_KIND, EmbedParams
    from jobs.services import job_create, job_execute

    def run(encoder: str) -> Job:
        params = EmbedParams(version_id=version.pk, encoder=encoder, dispatch=False).as_job_params()
        return job_execute(job_create(kind=EMBED_JOB_KIND, params=params, requested_by=curator).pk)

    # when the worker runs them
    jobs = [run("open_clip:ViT-B-32:/etc/passwd"), run("open_clip:ViT-B-32:/no/such/weights.pt")]
    # then both fail with the same reason before any weights are read, and nothing was made
    assert [(job.status, job.error) for job in jobs] == [("failed", ADMIN_ONLY)] * 2
    assert EmbeddingSet.objects.count() == 0
