"""The registry of run kinds: what a model-run report plugs into the kit (one `run_kind_register` call).

A run kind names its row model, its params dataclass and two functions given as "module:function"
strings, which are imported when first called (job-kind modules are imported by every process at
start-up, and these functions load torch or FAISS):

    EVALUATION = run_kind_register(RunKind(
        name="evaluate", model=EvaluationRun, params=EvaluationParams,
        prepare="robustness.evaluation.services.start:evaluation_run_prepare",
        execute="robustness.evaluation.services.runs:evaluation_run_execute",
        job_param="evaluation_run_id", noun="evaluation run", ...))

Registering also registers the job kind of the same name, whose function loads the row and calls
`execute(run, ctx)`, and whose cleanup deletes the row's files and partial results (services.py).

A report that needs no column of its own names neither a model nor a prepare: its rows are the generic
report rows (`REPORT_MODEL`, robustness.reports: kind, model, version, params, summary) and its request is
checked against its params dataclass by the default prepare (`REPORT_PREPARE`); both are named by label and
path, not imported (the run kit sits below the apps that define them).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, is_dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import QuerySet

from core.params import params_fields
from core.roles import Capability
from jobs.runtime import JobContext, deferred, job_kind

if TYPE_CHECKING:
    from jobs.runs.models import JobRun

RowFunction = Callable[..., Any]
# The defaults of a kind that names no model or prepare (robustness.reports): the generic report row, by its
# app label, and the prepare that checks a request against the kind's params dataclass (given the kind first).
REPORT_MODEL = "reports.ModelReport"
REPORT_PREPARE = "robustness.reports.services:model_report_prepare"


@dataclass(frozen=True, kw_only=True)
class RunKind:
    """One model-run report (see the module docstring).

    name: the job kind's name, also the registry key ("evaluate").
    model: the row (a jobs.runs.models.ModelRun); default: the generic report row (REPORT_MODEL), which
        records the kind's name, the model, the version, the params and the execute function's result.
    params: the params dataclass: every parameter with its default (`params_defaults`) and help.
    prepare: "module:function", keyword arguments of a start request -> the row's fields (params,
        defaults filled in, included); raises ApplicationError, before any job or row exists. Default
        (""): REPORT_PREPARE, the params dataclass's own checks and the model's and version's.
    execute: "module:function", (run, ctx) -> the job's result; the job's body.
    job_param: the key of the row's id in the job's params ("evaluation_run_id"); default "report_id".
    noun: how messages name a row ("evaluation run").
    description: what the job does (the job pages show it).
    label, slug: the pages' title ("Evaluations") and the prefix of their element ids ("evaluation").
    report_url_name: the page of one row ("frontend:evaluation_report"), reversed with its pk; default
        "frontend:<slug>_report" (the generated page of a generic report).
    report_template: the report page; it includes the shared status partial frontend/runs/_status.html.
    select_related: what the job loads with the row.
    cleanup: optional "module:function", run -> None: more to undo after a failure (rows of its own).
    """

    name: str
    model: type["JobRun"] = None  # type: ignore[assignment]  # None: REPORT_MODEL (__post_init__)
    params: type
    prepare: str = ""
    execute: str
    job_param: str = "report_id"
    noun: str
    description: str
    label: str
    slug: str
    report_url_name: str = ""
    report_template: str
    select_related: tuple[str, ...] = ("trained_model", "version__dataset")
    queue: str = "gpu"
    capability: str = Capability.RUN_GPU_JOBS
    cleanup: str = ""
    prepare_function: RowFunction = field(init=False, repr=False, compare=False)
    execute_function: RowFunction = field(init=False, repr=False, compare=False)
    cleanup_function: RowFunction | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.model is None:
            object.__setattr__(self, "model", apps.get_model(REPORT_MODEL))
        if not self.report_url_name:
            object.__setattr__(self, "report_url_name", f"frontend:{self.slug}_report")
        prepare = deferred(self.prepare) if self.prepare else partial(deferred(REPORT_PREPARE), self)
        object.__setattr__(self, "prepare_function", prepare)
        object.__setattr__(self, "execute_function", deferred(self.execute))
        object.__setattr__(self, "cleanup_function", deferred(self.cleanup) if self.cleanup else None)


RUN_KINDS: dict[str, RunKind] = {}
# The job's body and cleanup (services.py), by name: services.py imports this registry, so importing it here
# would be a cycle.
_run_job_execute = deferred("jobs.runs.services:run_job_execute")
_run_cleanup = deferred("jobs.runs.services:run_cleanup")


def run_kind_register(kind: RunKind) -> RunKind:
    """Add `kind` to the registry and register its job kind (same name, queue and capability)."""
    if not is_dataclass(kind.params):
        raise TypeError(f"run kind {kind.name!r}: params must be a dataclass, not {kind.params!r}")
    existing = RUN_KINDS.get(kind.name)
    if existing is not None:
        if existing != kind:
            raise ValueError(f"run kind {kind.name!r} is registered twice")
        return existing
    RUN_KINDS[kind.name] = kind

    def run_job(ctx: JobContext) -> dict[str, Any]:
        result: dict[str, Any] = _run_job_execute(kind, ctx)
        return result

    run_job.__name__ = run_job.__qualname__ = f"{kind.name}_job"
    cleanup = partial(_run_cleanup, kind)
    job_kind(kind.name, queue=kind.queue, description=kind.description, capability=kind.capability, cleanup=cleanup)(
        run_job
    )
    return kind


def run_kind_get(name: str) -> RunKind:
    try:
        return RUN_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown run kind {name!r}; known: {', '.join(sorted(RUN_KINDS))}") from None


def run_rows(kind: RunKind) -> QuerySet:
    """The rows of `kind`: its model's, those of this kind only when several kinds share the table
    (the model's KIND_FIELD)."""
    rows = kind.model._default_manager.all()
    return rows.filter(**{kind.model.KIND_FIELD: kind.name}) if kind.model.KIND_FIELD else rows


def params_defaults(params: type) -> dict[str, Any]:
    """Every parameter of a params dataclass with its default, in declaration order, as job params store them
    (a fresh copy each call; tuples, which frozen dataclasses hold, as lists). The run's own fields (`row=True`:
    the model, the version, ...) are no job parameters and are left out."""
    return {f.attr: _stored(f.default) for f in params_fields(params) if not f.spec.row}


def _stored(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def run_request(kind: RunKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """A start request (what the kind's `prepare` takes) from checked values keyed by field name, as the
    generated form and command give them: each row field (its default where absent) and `params`, the
    parameters given (`prepare` fills in the rest)."""
    request: dict[str, Any] = {"params": {}}
    for f in params_fields(kind.params):
        if f.spec.row and (f.attr in values or not f.required):
            request[f.attr] = _stored(values.get(f.attr, f.default))
        elif not f.spec.row and f.attr in values:
            request["params"][f.attr] = _stored(values[f.attr])
    return request
