"""A generation job on a real worker process, and plans whose avoid lists come from a spurious-feature report."""

import pytest

from curation.synthetic.models import PlanSource, SyntheticImage
from curation.synthetic.services.plans import plan_params_validate
from curation.synthetic.services.report_plans import avoid_from_spurious_report
from curation.synthetic.services.submit import synthetic_batch_start
from explain.spurious.models import SpuriousReport
from jobs.models import JobStatus
from tests.curation.synthetic.conftest import small_version
from tests.robustness.factories import TrainedModelFactory
from tests.worker import wait_for_job


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_diffusion_batch_is_generated_by_a_worker_process(
    celery_worker, admin_user, tiny_generator_name, tiny_sd_folder, settings
):
    # Given a worker consuming the default and gpu queues, and a text2img plan on the tiny pipeline (a local
    # folder: an admin's, under the weights roots)
    settings.WEIGHTS_ROOTS = [str(tiny_sd_folder)]
    worker = celery_worker()
    version = small_version(masked=True).version
    params = plan_params_validate(
        version_id=version.pk, mode="text2img", generator=tiny_generator_name, per_class=1, steps=2, device="cpu"
    )

    # When the batch is started as the API does (plan + job sent after commit)
    batch = synthetic_batch_start(params=params, user=admin_user)
    job = wait_for_job(batch.job_id, lambda j: j.is_finished, timeout=180)

    # Then the worker made both images with their records
    assert job.status == JobStatus.SUCCEEDED, (job.error, worker.log()[-2000:])
    images = SyntheticImage.objects.filter(batch=batch).order_by("position")
    assert [(i.intended_class, i.seed, i.steps, i.model) for i in images] == [
        ("cat", 0, 2, tiny_generator_name), ("dog", 1, 2, tiny_generator_name)
    ]  # fmt: skip


def report_with_rankings(version, rankings: dict) -> SpuriousReport:
    trained = TrainedModelFactory(run__version=version)
    results = {"rankings": rankings, "background_bank": {"descriptions": {"skimage:grass": "grass texture"}}}
    return SpuriousReport.objects.create(trained_model=trained, version=version, split="train", results=results)


def feature(kind: str, value: str, *, suspected: bool, rank: int) -> dict:
    return {"kind": kind, "value": value, "flip_rate": 0.8, "null_flip_rate": 0.05, "support": 12, "rank": rank,
            "suspected": suspected}  # fmt: skip


@pytest.mark.django_db
def test_a_report_s_suspected_backgrounds_become_the_avoid_lists(curator):
    # Given a report suspecting grass for cat (and an object feature, and an unsuspected background)
    version = small_version(masked=True).version
    report = report_with_rankings(
        version,
        {
            "cat": {"ranked": [feature("background", "skimage:grass", suspected=True, rank=1),
                               feature("object", "ball", suspected=True, rank=2),
                               feature("background", "skimage:brick", suspected=False, rank=3)]},
            "dog": {"ranked": [feature("background", "skimage:brick", suspected=False, rank=1)]},
        },
    )  # fmt: skip

    # When the avoid lists are read and a composite plan is made from them
    avoid = avoid_from_spurious_report(report.pk)
    params = plan_params_validate(version_id=version.pk, mode="composite", per_class=4, avoid=avoid)
    batch = synthetic_batch_start(params=params, user=curator, plan_source=PlanSource.SPURIOUS_REPORT,
                                  report_id=report.pk)  # fmt: skip

    # Then only suspected background features are avoided, by id and by description
    assert avoid == {"cat": ["skimage:grass", "grass texture"]}
    assert batch.plan_source == "spurious_report" and batch.spurious_report_id == report.pk
    cat_backgrounds = {item["background"] for item in batch.plan if item["class"] == "cat"}
    assert len(cat_backgrounds) == 4 and "skimage:grass" not in cat_backgrounds


@pytest.mark.django_db
def test_an_unknown_report_is_a_not_found_error():
    from core.api_errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        avoid_from_spurious_report(10**9)

    assert (refused.value.code, refused.value.status_code) == ("not_found", 404)


@pytest.mark.django_db
def test_the_plan_form_takes_the_avoid_lists_from_a_report(curator):
    from django.test import Client

    from curation.synthetic.models import SyntheticBatch

    version = small_version(masked=True).version
    report = report_with_rankings(version, {"dog": {"ranked": [feature("background", "skimage:brick", suspected=True,
                                                                      rank=1)]}})  # fmt: skip
    client = Client()
    client.force_login(curator)

    form = client.get(f"/synthetic/new/?version={version.pk}&report={report.pk}").content.decode()
    response = client.post("/synthetic/new/", {"version": version.pk, "mode": "composite", "per_class": "2",
                                               "report": report.pk, "avoid": "cat: skimage:grass"})  # fmt: skip

    assert f'<option value="{report.pk}"' in form
    batch = SyntheticBatch.objects.get()
    assert response.status_code == 302
    assert batch.params["avoid"] == {"dog": ["skimage:brick"], "cat": ["skimage:grass"]}
    assert (batch.plan_source, batch.spurious_report_id) == ("spurious_report", report.pk)
