"""The default prepare of a run kind (jobs.runs.kinds.REPORT_PREPARE): a start request checked against the kind's
params dataclass, then the model's and the version's usual checks, before any job or row exists.

- Parameters: core.params (`params_values`): an unknown one is refused (`invalid_parameter`), a value of the
  wrong type or outside its declared bounds or choices with the parameter's own code (`param(code=...)`),
  `details.field` naming it; the defaults come from the dataclass. A run's own field (`row=True`) given inside
  `params` is unknown there.
- The run's own fields: an id is resolved to its row (`not_found` when none has it), a row stays as it is.
- The model on the version, as every run kind checks it: a `split` parameter is resolved like an evaluation's
  ("auto": test, else val, else every member; another name is `invalid_params`), and the split's labels must
  be classes of the model (`classes_mismatch`) and not none (`empty_split`) (robustness.evaluation).
"""

from typing import Any

from core.params import ParamError, param_related_get, params_fields, params_values
from curation.models import DatasetVersion
from jobs.runs.kinds import RunKind, params_defaults
from robustness.evaluation.services.dataset import ALL_SPLITS, evaluation_classes_check, evaluation_split_resolve
from robustness.models import TrainedModel


def model_report_prepare(kind: RunKind, *, params: dict[str, Any] | None = None, **rows: Any) -> dict[str, Any]:
    """The row's fields of a request of `kind` (its row fields by name, `params`), every value checked.

    Returns {"trained_model", "version", other row fields, "params": every parameter, defaults filled in and the
    split resolved}. Raises ParamError (invalid_parameter, a parameter's own code, not_found) or ApplicationError
    (invalid_params, classes_mismatch, empty_split) before anything exists.
    """
    declared = params_fields(kind.params)
    if not isinstance(params, dict | None):
        raise ParamError("params", "params must be an object.")
    values = params_values(kind.params, params or {}, check_required=False)
    row_fields = [f for f in declared if f.spec.row]
    for field in row_fields:
        if field.attr in values:
            raise ParamError(field.name, f"Unknown parameter {field.name!r}: give it beside params, not inside.")
    unknown = sorted(set(rows) - {f.attr for f in row_fields})
    if unknown:
        raise ParamError(unknown[0], f"Unknown field {unknown[0]!r}.")
    fields: dict[str, Any] = {}
    for field in row_fields:
        value = param_related_get(field, rows.get(field.attr, None if field.required else field.default))
        if value is None and field.required:
            raise ParamError(field.name, f"{field.name} is required.")
        fields[field.attr] = value
    trained_model: TrainedModel = fields["trained_model"]
    version: DatasetVersion = fields["version"]
    stored = {**params_defaults(kind.params), **{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}
    if "split" in stored:
        stored["split"] = evaluation_split_resolve(version=version, split=stored["split"])
    evaluation_classes_check(version=version, split=stored.get("split", ALL_SPLITS), classes=trained_model.classes)
    return {**fields, "params": stored}
