"""The label-proposal form of the new-queue page, generated from ProposalParams (core.params).

The page draws the version, the source, the embedding set, the cluster run, the trained model and the splits
itself (lists of the version's own rows); every other parameter is a generated field shown for the sources
that use it (SOURCE_FIELDS), with its help, bounds and default.
"""

from typing import Any

from core.params import params_form
from curation.review.services.proposal_params import SOURCE_FIELDS, ProposalParams

ProposalForm = params_form(ProposalParams, name="ProposalForm")
DRAWN_BY_THE_PAGE = ("version", "source", "embedding_set", "cluster_run", "trained_model", "splits")


def proposal_parameter_fields(form: Any) -> list[tuple[Any, str]]:
    """(bound field, the sources that use it, space-separated) for the parameters the page does not draw."""
    by_attr = {name.removesuffix("_id"): sources for name, sources in _sources_by_field().items()}
    return [(form[name], by_attr.get(name, "")) for name in form.fields if name not in DRAWN_BY_THE_PAGE]


def _sources_by_field() -> dict[str, str]:
    fields: dict[str, list[str]] = {}
    for source, names in SOURCE_FIELDS.items():
        for name in names:
            fields.setdefault(name, []).append(str(source))
    return {name: " ".join(sources) for name, sources in fields.items()}
