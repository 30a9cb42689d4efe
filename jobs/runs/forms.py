"""The start form of a run kind, generated from its params dataclass (core.params): the run's own fields
(the model, the version, ...) and every parameter, each empty entry at its default."""

from functools import cache
from typing import Any

from core.params import params_form
from jobs.runs.kinds import RunKind, run_request


@cache
def run_start_form(kind: RunKind) -> type:
    """The form class of `kind` (one per kind); a valid form's `start_request()` is what `run_create` takes."""

    def start_request(self: Any) -> dict[str, Any]:
        """The kind's start request: the row fields and `params`, from the cleaned form (see `run_request`)."""
        return run_request(kind, self.values())

    base = params_form(kind.params, name=f"{kind.params.__name__}Form", empty_multiple_default=True)
    return type(f"{kind.slug.title().replace('_', '')}StartForm", (base,), {"start_request": start_request})
