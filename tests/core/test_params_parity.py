"""Issue #18: every job kind's parameters are declared once (a core.params dataclass), and the API
serializer, the page form and the management command built from it accept the same fields with the
same defaults. The test walks every registered job kind: each is either checked here (SURFACES) or
listed, with the reason, in PENDING or WITHOUT_SURFACES."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class
from rest_framework.fields import empty

from core.params import ParamField, params_fields
from jobs.runs.forms import run_start_form
from jobs.runs.kinds import run_kind_get
from jobs.runtime import JOB_KINDS
from robustness.reports.apis import report_apis


@dataclasses.dataclass(frozen=True)
class Surfaces:
    params: str  # "module:Class" of the params dataclass
    serializer: str  # the API's input serializer
    form: str  # the page's form
    command: str  # the management command
    command_extras: tuple[str, ...] = ()  # the command's own options that are no parameter of the job
    form_extras: tuple[str, ...] = ()  # the form's own fields that are no parameter of the job
    api_extras: tuple[str, ...] = ()  # the API's own fields that are no parameter of the job


SURFACES: dict[str, Surfaces] = {
    "cluster": Surfaces(
        "curation.pruning.services.params:ClusterParams",
        "curation.pruning.apis.serializers:ClusterRunInputSerializer",
        "frontend.pages.pruning_forms:ClusterStartForm",
        "cluster",
    ),
    "prune": Surfaces(
        "curation.pruning.services.params:PruneParams",
        "curation.pruning.apis.serializers:PruneRunInputSerializer",
        "frontend.pages.pruning_forms:PruneStartForm",
        "prune",
    ),
    "embed": Surfaces(
        "curation.embeddings.services.embedding_jobs:EmbedParams",
        "curation.embeddings.apis.serializers:EmbedInputSerializer",
        "frontend.pages.embedding_forms:EmbedForm",
        "embed",
    ),
    "find_duplicates": Surfaces(
        "curation.embeddings.services.duplicates:DuplicateParams",
        "curation.embeddings.apis.serializers:DuplicateRunInputSerializer",
        "frontend.pages.embedding_forms:DuplicatesForm",
        "find_duplicates",
    ),
    "label_proposals": Surfaces(
        "curation.review.services.proposal_params:ProposalParams",
        "curation.review.apis.serializers:ProposalRunInputSerializer",
        "frontend.pages.review_forms:ProposalForm",
        "propose_labels",
    ),
    "train": Surfaces(
        "robustness.params:TrainParams",
        "robustness.apis.views:TrainingRunStartApi.InputSerializer",
        "robustness.forms:TrainingStartForm",
        "train",
    ),
    "estimate_masks": Surfaces(
        "curation.masks.params:MaskParams",
        "curation.masks.apis.serializers:MaskSetStartInputSerializer",
        "frontend.pages.masks:MaskForm",
        "estimate_masks",
    ),
    "export_version": Surfaces(
        "curation.exports.params:ExportParams",
        "curation.exports.apis.serializers:ExportCreateInputSerializer",
        "frontend.pages.exports:ExportForm",
        "export",
        command_extras=("out",),  # where the command copies the files it made
    ),
    "import_dataset": Surfaces(
        "curation.services.imports.params:ImportParams",
        "curation.apis.imports:ImportServerInputSerializer",  # (the upload's: the same but its file for the source)
        "frontend.pages.imports:DatasetImportForm",
        "import_dataset",
        form_extras=("file",),  # the page's upload, beside the server path
    ),
    "embedding_map": Surfaces(
        "curation.embeddings.services.maps:MapParams",
        "curation.embeddings.apis.serializers:EmbeddingMapInputSerializer",
        "frontend.pages.embedding_forms:MapForm",
        "embedding_map",
    ),
    "synthetic_generate": Surfaces(
        "curation.synthetic.services.plans:PlanParams",
        "curation.synthetic.apis.serializers:BatchInputSerializer",
        "frontend.pages.synthetic:SyntheticPlanForm",
        "generate",
        # The batch's own fields: its name and the source of a plan (a spurious report's avoid lists, a failure
        # slice and where its parents come from), which sits between the settings given and their defaults.
        command_extras=("name", "from_report", "from_slice", "parents"),
        form_extras=("name", "report"),
        api_extras=("name", "spurious_report", "slice_report", "slice", "parents"),
    ),
}

# The run kit's kinds (jobs.runs): the start API's input serializer (its `params` object documented from the
# dataclass), the start page's form (jobs.runs.forms.run_start_form, "kit:<kind>") and the command's options
# are generated from the kind's params dataclass.
SURFACES |= {
    "evaluate": Surfaces(
        "robustness.evaluation.params:EvaluationParams",
        "robustness.evaluation.apis.views:EvaluationStartApi.input_serializer",
        "kit:evaluate",
        "evaluate",
    ),
    "explain": Surfaces(
        "explain.params:ExplanationParams",
        "explain.apis.views:ExplanationStartApi.input_serializer",
        "kit:explain",
        "explain",
        command_extras=("filter",),  # the command's shorthand of --split, --classes and --max-samples
    ),
    "find_spurious": Surfaces(
        "explain.spurious.params:SpuriousParams",
        "explain.spurious.apis.views:SpuriousReportStartApi.input_serializer",
        "kit:find_spurious",
        "find_spurious",
    ),
    "find_slices": Surfaces(
        "explain.slices.params:SliceParams",
        "explain.slices.apis.views:SliceReportStartApi.input_serializer",
        "kit:find_slices",
        "find_slices",
        command_extras=("compare_with",),  # a second model that re-scores the report's slices
    ),
    # A generic report (robustness.reports): its start API is generated per kind ("report-api:<kind>") and its
    # command is a subcommand of `manage.py report`.
    "confidence_report": Surfaces(
        "robustness.reports.params:ConfidenceParams",
        "report-api:confidence_report",
        "kit:confidence_report",
        "report confidence_report",
    ),
}

# Job kinds whose parameters are not declared with core.params yet: each still has its own hand-written
# serializer, form and command options. The lead empties this set as the kinds are converted.
PENDING: dict[str, str] = {}

# Job kinds that no person starts with parameters of their own: another job or service submits them.
WITHOUT_SURFACES: dict[str, str] = {
    "score_slices": "a slice report's scoring, started for a stored report (no parameters)",
    "delete": "params {deletion: id}: a deletion planned and confirmed on the API or a page",
}

# Options every JobCommand has besides the parameters.
COMMAND_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color"}
COMMAND_OPTIONS |= {"skip_checks", "enqueue", "user"}


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    if module == "kit":  # a run kind's start form (jobs.runs.forms), as the run kit's start page makes it
        return run_start_form(run_kind_get(attribute))
    if module == "report-api":  # a generic report's start API input (robustness.reports.apis, generated per kind)
        return report_apis(run_kind_get(attribute))[1].input_serializer
    found = importlib.import_module(module)
    for name in attribute.split("."):  # a view's nested serializer: "View.InputSerializer"
        found = getattr(found, name)
    return found


def _expected(field: ParamField) -> Any:
    """The declared default as a surface holds it (None for a required parameter, a list for a tuple)."""
    if field.required:
        return None
    return list(field.default) if isinstance(field.default, tuple) else field.default


def _serializer_surface(serializer_class: type) -> dict[str, Any]:
    fields = serializer_class().fields
    aliases = getattr(serializer_class, "param_aliases", {})
    surface = {  # (a mapping's default is a callable: get_default calls it)
        name: None if f.default is empty else f.get_default() for name, f in fields.items() if name not in aliases
    }
    for name, field in fields.items():  # a run kind's `params` object: its documented fields
        if hasattr(field, "params_serializer"):
            del surface[name]
            surface |= _serializer_surface(field.params_serializer)
    return surface


def _form_surface(form_class: type) -> dict[str, Any]:
    return {name: field.initial for name, field in form_class.base_fields.items()}


def _command_parser(command_name: str) -> argparse.ArgumentParser:
    """The command's parser; "report <kind>": the subcommand's own."""
    command_name, _, subcommand = command_name.partition(" ")
    command = load_command_class(get_commands()[command_name], command_name)
    parser = command.create_parser("manage.py", command_name)
    if subcommand:
        (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = subparsers.choices[subcommand]
    return parser


def _command_surface(command_name: str, extras: tuple[str, ...]) -> dict[str, Any]:
    parser = _command_parser(command_name)
    own = COMMAND_OPTIONS | set(extras)  # (a run kind's positional `version` is no Django --version)
    return {a.dest: a.default for a in parser._actions if not (a.dest in own and a.option_strings)}


def test_every_job_kind_is_checked_or_listed():
    listed = set(SURFACES) | set(PENDING) | set(WITHOUT_SURFACES)
    # Kinds that tests register for themselves (tests/jobs/conftest.py) are not the product's.
    product_kinds = {name for name, kind in JOB_KINDS.items() if not kind.function.__module__.startswith("tests.")}

    assert sorted(product_kinds - listed) == []  # a new job kind declares its params and joins SURFACES
    assert sorted(set(SURFACES) - product_kinds) == []
    assert not set(SURFACES) & set(PENDING) and not set(SURFACES) & set(WITHOUT_SURFACES)


@pytest.mark.parametrize("kind", sorted(SURFACES))
def test_api_form_and_command_accept_the_same_parameters_with_the_same_defaults(kind):
    surfaces = SURFACES[kind]
    declared = params_fields(_load(surfaces.params))

    api = {k: v for k, v in _serializer_surface(_load(surfaces.serializer)).items() if k not in surfaces.api_extras}
    form = {k: v for k, v in _form_surface(_load(surfaces.form)).items() if k not in surfaces.form_extras}
    command = _command_surface(surfaces.command, surfaces.command_extras)

    assert api == {f.name: _expected(f) for f in declared if f.spec.api}
    assert form == {f.name: _expected(f) for f in declared if f.spec.page}
    assert command == {f.attr: _expected(f) for f in declared if f.spec.command}
    # What one surface leaves out is declared (the page takes the version from its URL), never forgotten.
    left_out = {f.name for f in declared if not (f.spec.api and f.spec.page and f.spec.command)}
    assert set(api) ^ set(form) <= left_out
    assert {f.name for f in declared if f.attr in command} ^ set(api) <= left_out


@pytest.mark.parametrize("kind", sorted(SURFACES))
def test_old_names_are_accepted_by_the_api_and_the_command(kind):
    surfaces = SURFACES[kind]
    declared = params_fields(_load(surfaces.params))
    serializer_class = _load(surfaces.serializer)
    flags = {s for a in _command_parser(surfaces.command)._actions for s in a.option_strings}

    for field in declared:
        for alias in field.spec.aliases:
            assert serializer_class.param_aliases[alias] == field.name
            assert f"--{alias.replace('_', '-')}" in flags
