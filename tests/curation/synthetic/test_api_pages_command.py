"""The synthetic API, pages and `manage.py generate`: thin callers of the same services."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from curation.models import DatasetVersion
from curation.synthetic.models import SyntheticBatch, SyntheticImage
from jobs.models import Job, JobStatus
from jobs.services import job_execute

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_plans_a_batch_reads_it_reviews_and_applies(masked_version, curator, viewer):
    api = client_for(curator)
    version = masked_version.version

    # Create: 202 with the plan fixed, a queued job on the gpu kind
    created = api.post(
        f"/api/versions/{version.pk}/synthetic-batches/",
        {"mode": "composite", "per_class": 1, "seed": 5, "name": "api batch"},
        content_type="application/json",
    )
    assert created.status_code == 202, created.content
    body = created.json()
    assert (body["mode"], body["generator"], body["planned"]) == ("composite", "composite", 2)
    assert body["name"] == "api batch"
    assert body["params"]["seed"] == 5 and body["job_status"] == "queued"
    job = Job.objects.get(pk=body["job"])
    assert job.kind == "synthetic_generate" and job.params == {"batch_id": body["id"]}
    assert job_execute(job.pk).status == JobStatus.SUCCEEDED

    # Read: the batch and its images with their records (viewers may read)
    reader = client_for(viewer)
    detail = reader.get(f"/api/synthetic-batches/{body['id']}/").json()
    assert detail["counts"] == {"pending": 2, "approved": 0, "rejected": 0, "images": 2, "flagged": 0, "planned": 2,
                                "skipped": 0}  # fmt: skip
    images = reader.get(f"/api/synthetic-batches/{body['id']}/images/").json()["results"]
    assert [(i["position"], i["intended_class"], i["seed"], i["model"], i["status"]) for i in images] == [
        (0, "cat", 5, "composite", "pending"), (1, "dog", 6, "composite", "pending")
    ]  # fmt: skip
    assert images[0]["thumbnail_url"] == f"/media/samples/{images[0]['sample']}/thumbnail"
    assert reader.post(f"/api/synthetic-images/{images[0]['id']}/review/", {"decision": "approved"}).status_code == 403

    # Review one, then the rest in bulk; apply into a new version
    one = api.post(f"/api/synthetic-images/{images[0]['id']}/review/", {"decision": "approved"},
                   content_type="application/json")  # fmt: skip
    assert one.status_code == 200 and one.json()["status"] == "approved"
    bulk = api.post(f"/api/synthetic-batches/{body['id']}/review/", {"decision": "rejected"},
                    content_type="application/json")  # fmt: skip
    assert bulk.json() == {"changed": 1}
    applied = api.post(f"/api/synthetic-batches/{body['id']}/apply/", {}, content_type="application/json")
    assert applied.status_code == 201
    assert applied.json()["operation_params"]["added"] == 1 and applied.json()["number"] == 2
    late = api.post(f"/api/synthetic-images/{images[1]['id']}/review/", {"decision": "approved"},
                    content_type="application/json")  # fmt: skip
    assert late.status_code == 409 and late.json()["error"]["code"] == "batch_applied"


def test_api_refuses_a_bad_plan_with_a_structured_error_and_stores_nothing(unmasked_version, curator):
    response = client_for(curator).post(
        f"/api/versions/{unmasked_version.version.pk}/synthetic-batches/", {"mode": "composite"},
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_plan"
    assert SyntheticBatch.objects.count() == 0 and Job.objects.count() == 0


def test_generate_command_runs_inline_and_prints_one_json_line(masked_version, admin_user):
    out = io.StringIO()

    call_command("generate", str(masked_version.version.pk), "--mode", "composite", "--per-class", "2",
                 "--avoid", "cat=nothing", "--user", admin_user.username, stdout=out, stderr=io.StringIO())  # fmt: skip

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    batch = SyntheticBatch.objects.get(pk=summary["batch"])
    assert summary == {"batch": batch.pk, "planned": 4, "skipped_in_plan": 0, "job": batch.job_id, "images": 4,
                       "skipped": 0, "warnings": 0, "version": masked_version.version.pk}  # fmt: skip
    assert batch.params["avoid"] == {"cat": ["nothing"]}


def test_generate_command_enqueues_and_fails_with_one_line(masked_version, admin_user, capsys):
    out = io.StringIO()
    call_command("generate", str(masked_version.version.pk), "--mode", "composite", "--enqueue",
                 "--user", admin_user.username, stdout=out)  # fmt: skip
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["status"] == "queued" and Job.objects.get(pk=summary["job"]).kind == "synthetic_generate"

    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("generate", str(masked_version.version.pk), "--mode", "text2img", "--user", admin_user.username,
                     stderr=err)  # fmt: skip
    assert exit_info.value.code == 1
    assert err.getvalue().strip() == "error: text2img needs a diffusers generator: diffusers:<hub id or local folder>."


def test_pages_list_plan_show_review_bulk_and_apply(masked_version, curator):
    client = client_for(curator)
    version = masked_version.version

    planned = client.post("/synthetic/new/", {"version": version.pk, "mode": "composite", "per_class": "1",
                                              "seed": "0", "avoid": "cat: nothing\n"})  # fmt: skip
    batch = SyntheticBatch.objects.get()
    assert planned.status_code == 302 and planned["Location"] == f"/synthetic/{batch.pk}/"
    assert batch.params["avoid"] == {"cat": ["nothing"]}
    job_execute(batch.job_id)

    listing = client.get("/synthetic/").content.decode()
    assert f"/synthetic/{batch.pk}/" in listing
    page = client.get(f"/synthetic/{batch.pk}/").content.decode()
    assert "2 pending · 0 approved · 0 rejected" in page and "Review with the keyboard" in page
    review = client.get(f"/synthetic/{batch.pk}/review/").content.decode()
    first = SyntheticImage.objects.get(batch=batch, position=0)
    assert f'data-review-url="/api/synthetic-images/{first.pk}/review/"' in review and "synthetic_review.js" in review
    after = client.get(f"/synthetic/{batch.pk}/review/?partial=1&after=0").content.decode()
    assert 'data-position="1"' in after and "<html" not in after

    client.post(f"/synthetic/{batch.pk}/bulk/", {"scope": "pending", "decision": "approved"})
    applied = client.post(f"/synthetic/{batch.pk}/apply/", {"split": "train"})
    new = DatasetVersion.objects.get(parent=version)
    assert applied.status_code == 302
    assert applied["Location"] == f"/datasets/{version.dataset_id}/v/{new.number}/samples/"
    assert new.operation_params["added"] == 2


def test_plan_form_shows_the_reason_of_a_refused_plan(unmasked_version, curator):
    response = client_for(curator).post("/synthetic/new/", {"version": unmasked_version.version.pk,
                                                            "mode": "composite"})  # fmt: skip

    assert response.status_code == 200
    error = response.content.decode().split('id="plan-error">')[1].split("</p>")[0]
    assert error.startswith("Nothing to generate: ")
    assert "cat: no sample with an object mask in split train; 8 not planned" in error
    assert SyntheticBatch.objects.count() == 0


@pytest.mark.parametrize(
    ("plan", "field", "message"),
    [
        ({"mode": "composite", "per_class": 0}, "per_class", "per_class must lie in [1, 1000], got 0."),
        ({"mode": "composite", "strength": 0.5}, "strength", "strength applies to img2img and inpaint only."),
        ({"mode": "text2img", "generator": "diffusers:x", "contexts": []}, "contexts", "contexts must not be empty."),
    ],
)
def test_api_and_page_refuse_a_setting_with_invalid_params_naming_it(masked_version, curator, plan, field, message):
    version = masked_version.version

    answer = client_for(curator).post(f"/api/versions/{version.pk}/synthetic-batches/", plan,
                                      content_type="application/json")  # fmt: skip
    posted = {"version": version.pk, **plan, "contexts": "none" if plan.get("contexts") == [] else ""}
    page = client_for(curator).post("/synthetic/new/", posted).content.decode()

    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": "invalid_params", "message": message, "details": {"field": field}}
    shown = page.split(f'data-parameter="{field}"')[1].split("</div>")[0]  # beside the field it names
    assert f'<p class="field-error">{message}</p>' in shown
    assert SyntheticBatch.objects.count() == 0


def test_generate_takes_whole_contexts_and_a_repeated_avoid(masked_version, admin_user):
    out = io.StringIO()

    call_command("generate", str(masked_version.version.pk), "--mode", "text2img", "--generator", "diffusers:x",
                 "--context", "on a beach, at dusk", "--context", '["in the snow"]', "--avoid", "cat=snow",
                 "--avoid", "cat=lawn", "--per-class", "2", "--enqueue", "--user", admin_user.username,
                 stdout=out)  # fmt: skip

    batch = SyntheticBatch.objects.get(pk=json.loads(out.getvalue().strip().splitlines()[-1])["batch"])
    assert batch.params["contexts"] == ["on a beach, at dusk", "in the snow"]
    assert batch.params["avoid"] == {"cat": ["snow", "lawn"]}
    assert [(i["class"], i["context"]) for i in batch.plan] == [
        ("cat", "on a beach, at dusk"), ("cat", "on a beach, at dusk"), ("dog", "on a beach, at dusk"),
        ("dog", "in the snow"),
    ]  # fmt: skip
