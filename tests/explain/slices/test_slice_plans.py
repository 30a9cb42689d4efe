"""A failure slice becomes a synthetic plan (docs/METHODS.md §13): the slice's class in the usual surroundings of
the other classes (those the slice is mistaken for first), from the class's training images (or the slice's own
held-out images when asked), through the API, the slice page's button and `manage.py generate --from-slice`.
The batch's images wait in review like every batch's."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from core.api_errors import ApplicationError
from curation.models import VersionSample
from curation.synthetic.models import SyntheticBatch
from curation.synthetic.services.plans import DEFAULT_CONTEXTS
from curation.synthetic.services.report_plans import SLICE_CONTEXT_TEMPLATE, plan_from_slice, slice_contexts
from explain.slices.services import slice_report_create
from jobs.models import JobStatus
from jobs.services import job_execute
from tests.robustness.evaluation.conftest import add_member

pytestmark = pytest.mark.django_db
WEIGHTS_ROOT = "/nowhere"
GENERATOR = f"diffusers:{WEIGHTS_ROOT}/tiny-sd"  # the plan is checked and stored; no test here runs its job


@pytest.fixture(autouse=True)
def _weights_root(settings):
    settings.WEIGHTS_ROOTS = [WEIGHTS_ROOT]


@pytest.fixture
def report(eval_version, stored_model, admin_user):
    """A finished report on 6 + 6 test samples of a version that also has 3 + 3 train samples."""
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    for index, label in enumerate(["cat"] * 3 + ["dog"] * 3):
        add_member(version, label=label, split="train", index=100 + index)
    report = slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version,
                                 params={"device": "cpu", "min_size": 2}, requested_by=admin_user,
                                 enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_contexts_are_the_other_classes_surroundings_those_the_slice_is_mistaken_for_first():
    found = {"class": "cat", "predicted_as": [{"class": "cat"}, {"class": "fish"}]}

    contexts = slice_contexts(found, ["bird", "cat", "dog", "fish"])

    assert contexts == [SLICE_CONTEXT_TEMPLATE.format(other=o) for o in ("fish", "bird", "dog")]


def test_a_slice_fixes_class_contexts_size_and_parents(report):
    entry = report.results["slices"][0]

    train = plan_from_slice(report.pk, entry["number"], mode="img2img")
    own = plan_from_slice(report.pk, entry["number"], mode="img2img", parents="slice")
    text = plan_from_slice(report.pk, entry["number"], mode="text2img", parents="slice")

    assert train["classes"] == [entry["class"]] and train["version_id"] == report.version_id
    assert train["per_class"] == max(8, 2 * entry["size"]) and train["strength"] == 0.75
    assert train["parent_split"] == "train" and "parent_samples" not in train
    assert all(entry["class"] not in c for c in train["contexts"]) and len(train["contexts"]) == 1
    assert own["parent_samples"] == entry["sample_ids"] and own["parent_split"] == "all"
    assert "strength" not in text and "parent_samples" not in text
    with pytest.raises(ApplicationError) as unknown:
        plan_from_slice(report.pk, 99, mode="img2img")
    assert unknown.value.code == "not_found"


def test_api_plans_a_batch_from_a_slice_with_train_parents(report, admin_user):
    entry = report.results["slices"][0]
    payload = {"mode": "img2img", "generator": GENERATOR, "slice_report": report.pk, "slice": entry["number"],
               "per_class": 5, "steps": 2}  # fmt: skip

    # (admins: only they may load weights from a server path, the weights policy's rule)
    response = signed_in(admin_user).post(f"/api/versions/{report.version_id}/synthetic-batches/", payload,
                                          content_type="application/json")  # fmt: skip

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["plan_source"], body["slice_report"], body["slice"]) == ("slice_report", report.pk, entry["number"])
    batch = SyntheticBatch.objects.get(pk=body["id"])
    train_ids = set(VersionSample.objects.filter(version=report.version, split="train", label=entry["class"])
                    .values_list("sample_id", flat=True))  # fmt: skip
    assert len(batch.plan) == 5 and batch.params["strength"] == 0.75
    for item in batch.plan:
        assert item["class"] == entry["class"] and item["mode"] == "img2img" and item["parent_sample"] in train_ids
        assert item["prompt"] == f"a photo of a {entry['class']} {item['context']}"
        assert item["context"].startswith("in the usual surroundings of a ")
        assert entry["class"] not in item["context"]


def test_api_refuses_half_a_slice_and_two_sources(report, curator):
    url = f"/api/versions/{report.version_id}/synthetic-batches/"
    half = signed_in(curator).post(url, {"mode": "img2img", "generator": GENERATOR, "slice_report": report.pk},
                                   content_type="application/json")  # fmt: skip
    unknown = signed_in(curator).post(url, {"mode": "img2img", "generator": GENERATOR, "slice_report": report.pk,
                                            "slice": 99}, content_type="application/json")  # fmt: skip

    assert half.status_code == 400 and unknown.status_code == 404
    assert SyntheticBatch.objects.count() == 0


def test_the_slice_page_button_plans_from_the_slices_own_images_and_opens_the_batch(report, admin_user, viewer):
    entry = report.results["slices"][0]
    url = f"/slices/{report.pk}/{entry['number']}/synthetic/"
    form = {"generator": GENERATOR, "mode": "img2img", "parents": "slice", "per_class": "", "steps": "2"}

    page = signed_in(admin_user).get(f"/slices/{report.pk}/{entry['number']}/").content.decode()
    refused = signed_in(viewer).post(url, form)
    response = signed_in(admin_user).post(url, form)

    assert 'id="slice-plan-form"' in page and f'action="{url}"' in page
    assert refused.status_code == 403
    batch = SyntheticBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/synthetic/{batch.pk}/"
    assert (batch.plan_source, batch.slice_report_id, batch.slice_number) == ("slice_report", report.pk,
                                                                               entry["number"])  # fmt: skip
    assert len(batch.plan) == max(8, 2 * entry["size"])
    assert [item["parent_sample"] for item in batch.plan[: entry["size"]]] == entry["sample_ids"]


def test_generate_command_takes_from_slice(report, curator, capsys):
    entry = report.results["slices"][0]

    call_command("generate", str(report.version_id), "--mode", "text2img", "--generator", GENERATOR,
                 "--from-slice", f"{report.pk}:{entry['number']}", "--per-class", "3", "--enqueue",
                 "--user", curator.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    batch = SyntheticBatch.objects.get(pk=summary["batch"])
    assert summary["planned"] == 3 and batch.slice_report_id == report.pk and batch.slice_number == entry["number"]
    assert all(item["class"] == entry["class"] and item["parent_sample"] is None for item in batch.plan)


def test_generate_on_a_slice_plan_keeps_its_settings_unless_given_and_takes_contexts_and_avoid_lists(
    report, curator, capsys
):
    entry, version = report.results["slices"][0], str(report.version_id)
    cls, slice_option = entry["class"], f"{report.pk}:{entry['number']}"

    def generate(*argv: str) -> SyntheticBatch:
        call_command("generate", version, "--mode", "text2img", "--generator", GENERATOR, "--from-slice",
                     slice_option, *argv, "--enqueue", "--user", curator.username)  # fmt: skip
        return SyntheticBatch.objects.get(pk=json.loads(capsys.readouterr().out.strip().splitlines()[-1])["batch"])

    # Nothing given: the slice's own settings, not the declared defaults (every class, the default contexts)
    plain = generate()
    fixed = plan_from_slice(report.pk, entry["number"], mode="text2img")
    assert (plain.params["classes"], plain.params["contexts"]) == ([cls], fixed["contexts"])
    assert fixed["contexts"] != list(DEFAULT_CONTEXTS) and plain.params["per_class"] == fixed["per_class"]

    # Given: contexts whole (commas kept) replace the slice's; a class's --avoid repeated adds up its terms
    given = generate("--context", "on a beach, at dusk", "--context", '["in the snow", "on a lawn"]',
                     "--avoid", f"{cls}=beach", "--avoid", f"{cls}=snow", "--per-class", "2")  # fmt: skip
    assert given.params["contexts"] == ["on a beach, at dusk", "in the snow", "on a lawn"]
    assert given.params["avoid"] == {cls: ["beach", "snow"]} and given.params["classes"] == [cls]
    assert [item["context"] for item in given.plan] == ["on a lawn", "on a lawn"]

    # The avoid list applies to the slice's own contexts too: avoiding them all leaves nothing to plan
    with pytest.raises(SystemExit):
        generate("--avoid", f"{cls}=usual surroundings")
    assert "every context is on the avoid list" in capsys.readouterr().err
