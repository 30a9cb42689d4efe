"""The run kit (jobs.runs): run_create enqueues on commit only, the job's cleanup deletes exactly the run's
files, storage_delete_prefix keeps sibling prefixes, and every registered run kind supplies what the kit needs."""

from collections.abc import Iterator
from dataclasses import dataclass, is_dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import get_commands, load_command_class
from django.template.loader import get_template
from django.urls import get_resolver

from core.api_errors import ApplicationError
from core.params import params_fields
from core.storage import blob_save, storage_delete_prefix
from explain.spurious.models import SpuriousReport
from jobs.models import Job, JobStatus
from jobs.runs.apis import RunStartApi
from jobs.runs.cli import RunCommand
from jobs.runs.forms import run_start_form
from jobs.runs.kinds import REPORT_PREPARE, RUN_KINDS, RunKind, params_defaults, run_kind_register
from jobs.runs.models import ModelRun
from jobs.runs.services import run_create
from jobs.runtime import JOB_KINDS, JobContext, JobFailed, job_kind_get
from jobs.services import job_execute
from robustness.reports.cli import report_command
from tests.factories import DatasetVersionFactory
from tests.robustness.factories import TrainedModelFactory

PRODUCTION_KINDS = ("evaluate", "explain", "find_spurious", "find_slices", "confidence_report")
# Kinds on the generic report row (robustness.reports): no model or prepare of their own, and their command is a
# subcommand of `manage.py report`.
GENERIC_KINDS = ("confidence_report",)


@dataclass(frozen=True)
class ProbeParams:
    fail: bool = False


def probe_prepare(*, trained_model, version, params=None):
    """A probe kind's checks: {"refuse": true} is refused, as a family refuses a bad request."""
    if (params or {}).get("refuse"):
        raise ApplicationError("refused by the probe", code="invalid_params")
    return {"trained_model": trained_model, "version": version, "split": "all", "params": params or {}}


def probe_execute(run: SpuriousReport, ctx: JobContext) -> dict:
    """Writes one file under the run's folder and its results, then fails when asked to."""
    blob_save(key=f"{run.storage_prefix}/examples/0.png", data=b"png")
    run.results, run.examples = {"done": True}, {"0": f"{run.storage_prefix}/examples/0.png"}
    run.save(update_fields=["results", "examples"])
    if run.params.get("fail"):
        raise JobFailed("the probe fails")
    return {"report": run.pk}


@pytest.fixture(scope="module")
def probe_kind() -> Iterator[RunKind]:
    """A run kind on the spurious-report table (its storage prefix and result fields), with the functions above;
    unregistered afterwards (the parity test of job kinds lists every registered one)."""
    kind = run_kind_register(
        RunKind(
            name="run_kit_probe", model=SpuriousReport, params=ProbeParams,
            prepare="tests.jobs.test_runs:probe_prepare", execute="tests.jobs.test_runs:probe_execute",
            job_param="spurious_report_id", noun="probe report", description="The run kit's probe.",
            label="Probes", slug="probe", report_url_name="frontend:spurious_report",
            report_template="frontend/spurious/spurious_report.html", queue="default", capability="curate",
        )
    )  # fmt: skip
    yield kind
    RUN_KINDS.pop(kind.name)
    JOB_KINDS.pop(kind.name)


@pytest.fixture
def subjects(db):
    version = DatasetVersionFactory()
    return {"trained_model": TrainedModelFactory(trained_on=version), "version": version}


def test_run_create_sends_the_job_only_when_the_transaction_commits(
    probe_kind, subjects, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = run_create(kind=probe_kind, requested_by=admin_user, **subjects)

    job = Job.objects.get(kind="run_kit_probe")
    assert len(callbacks) == 1  # the publish, held until the outermost transaction commits
    assert (job.kind, job.params, job.status, job.queue) == ("run_kit_probe", {"spurious_report_id": run.pk}, "queued",
                                                             "default")  # fmt: skip
    assert (run.job_id, run.requested_by, run.status) == (job.pk, admin_user, "queued")


def test_run_create_without_enqueue_sends_nothing(probe_kind, subjects, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = run_create(kind="run_kit_probe", requested_by=admin_user, enqueue=False, **subjects)

    assert callbacks == [] and run.job.status == JobStatus.QUEUED


def test_a_refused_request_creates_neither_job_nor_row(probe_kind, subjects, admin_user):
    with pytest.raises(ApplicationError, match="refused by the probe"):
        run_create(kind=probe_kind, requested_by=admin_user, params={"refuse": True}, **subjects)

    assert not Job.objects.filter(kind="run_kit_probe").exists() and SpuriousReport.objects.count() == 0


def test_a_failed_run_keeps_its_row_and_loses_its_files_and_results_but_not_its_neighbours(
    probe_kind, subjects, admin_user
):
    good = run_create(kind=probe_kind, requested_by=admin_user, enqueue=False, **subjects)
    job_execute(good.job_id)
    bad = run_create(kind=probe_kind, requested_by=admin_user, enqueue=False, params={"fail": True}, **subjects)

    job = job_execute(bad.job_id)

    bad.refresh_from_db()
    good.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "the probe fails")
    assert (bad.results, bad.examples, bad.finished_at) == ({}, {}, None)
    assert not default_storage.exists(f"{bad.storage_prefix}/examples/0.png")
    assert good.results == {"done": True} and default_storage.exists(f"{good.storage_prefix}/examples/0.png")


def test_a_run_whose_row_vanished_fails_its_job_with_the_reason(probe_kind, subjects, admin_user):
    run = run_create(kind=probe_kind, requested_by=admin_user, enqueue=False, **subjects)
    SpuriousReport.objects.filter(pk=run.pk).delete()

    job = job_execute(run.job_id)

    assert (job.status, job.error) == (JobStatus.FAILED, f"probe report {run.pk} no longer exists")


def test_storage_delete_prefix_deletes_exactly_the_prefix_not_a_sibling_that_starts_alike(isolated_media):
    for key in ("runs/1/a.png", "runs/1/deep/er/b.npz", "runs/10/c.png", "runs/1.png", "runs/2/d.png"):
        default_storage.save(key, ContentFile(b"x"))

    deleted = storage_delete_prefix("runs/1")

    assert deleted == 2
    assert [default_storage.exists(k) for k in ("runs/10/c.png", "runs/1.png", "runs/2/d.png")] == [True] * 3
    assert not default_storage.exists("runs/1/a.png") and not default_storage.exists("runs/1/deep/er/b.npz")
    assert not (isolated_media / "runs" / "1").exists()  # the emptied folders go too
    assert storage_delete_prefix("runs/1") == 0 and storage_delete_prefix("nothing/here") == 0


def test_storage_delete_prefix_refuses_to_empty_the_whole_storage():
    with pytest.raises(ValueError):
        storage_delete_prefix("/")


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


@pytest.mark.parametrize("name", PRODUCTION_KINDS)
def test_every_run_kind_supplies_params_functions_a_template_and_its_job_kind(name):
    kind = RUN_KINDS[name]
    job_kind = job_kind_get(name)
    declared = params_fields(kind.params)

    assert is_dataclass(kind.params) and kind.params.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert {"trained_model", "version"} <= {f.attr for f in declared if f.spec.row}  # the run's own fields
    assert list(params_defaults(kind.params)) == [f.attr for f in declared if not f.spec.row]
    assert issubclass(kind.model, ModelRun)
    assert (kind.prepare == "") == (name in GENERIC_KINDS)  # the default prepare: REPORT_PREPARE
    for target in (kind.prepare or REPORT_PREPARE, kind.execute, *([kind.cleanup] if kind.cleanup else [])):
        module, _, function = target.partition(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), target
    source = get_template(kind.report_template).template.source
    if name in GENERIC_KINDS:  # one template block in the generic report frame, which has the status partial
        assert source.startswith('{% extends "frontend/runs/report.html" %}') and "{% block report %}" in source
        source = get_template("frontend/runs/report.html").template.source
    assert "frontend/runs/_status.html" in source
    assert (job_kind.queue, job_kind.capability, job_kind.cleanup is not None) == ("gpu", "run_gpu_jobs", True)
    assert job_kind.description == kind.description


@pytest.mark.parametrize("name", PRODUCTION_KINDS)
def test_every_run_kinds_start_api_form_and_command_are_generated_from_its_params(name):
    kind = RUN_KINDS[name]
    assert get_resolver().url_patterns  # imports every API module
    declared = params_fields(kind.params)
    row = [f.name for f in declared if f.spec.row]

    (start_api,) = [api for api in _subclasses(RunStartApi) if getattr(api, "run_kind", None) is kind]
    api_fields = start_api.input_serializer().fields
    form_fields = run_start_form(kind).base_fields
    command = _command(kind)

    assert list(api_fields) == [*row, "params"]
    assert list(api_fields["params"].params_serializer().fields) == [f.name for f in declared if not f.spec.row]
    assert list(form_fields) == [f.name for f in declared]
    assert isinstance(command, RunCommand) and command.run_kind is kind


def _command(kind: RunKind) -> RunCommand:
    """The kind's command: its own (named after it), or for a generic report `manage.py report <kind>`'s."""
    if kind.name not in GENERIC_KINDS:
        return load_command_class(get_commands()[kind.name], kind.name)
    report = load_command_class(get_commands()["report"], "report")
    assert report.create_parser("manage.py", "report").parse_args([kind.name, "1", "2"]).kind == kind.name
    return report_command(kind)()


START_PAGES = {"evaluate": "/evaluations/start/", "explain": "/explanations/start/",
               "find_spurious": "/spurious/start/", "find_slices": "/slices/start/",
               "confidence_report": "/reports/confidence/start/"}  # fmt: skip


@pytest.mark.parametrize("name", PRODUCTION_KINDS)
def test_every_run_kinds_start_page_renders_each_generated_field(name, admin_user, client):
    client.force_login(admin_user)

    page = client.get(START_PAGES[name]).content.decode()

    assert all(f'name="{f.name}"' in page for f in params_fields(RUN_KINDS[name].params))
