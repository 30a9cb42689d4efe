"""Forms of the clusters and pruning pages, generated from ClusterParams and PruneParams (core.params).

The fields, labels, help and defaults are the dataclasses' (the API and the commands take the same);
these forms only turn the embedding set and the cluster run into choices among the version's own.
"""

from typing import Any

from django import forms

from core.params import ParamField, param_help, params_fields, params_form
from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.models import DatasetVersion
from curation.pruning.selectors.clusters import cluster_runs_of_version
from curation.pruning.services.params import CAN_REUSE_CLUSTERS, ClusterParams, PruneParams, method_defaults
from curation.pruning.services.splits import DEFAULT_SPLITS

# Codes of the services' refusals that belong to one field (a ParamError names its field itself).
ERROR_FIELDS = {
    "k_too_large": "n_clusters",
    "embeddings_mismatch": "embedding_set",
    "embeddings_required": "embedding_set",
    "embeddings_not_ready": "embedding_set",
    "cluster_run_mismatch": "cluster_run",
    "invalid_splits": "splits",
    "no_samples_in_splits": "splits",
}
PRUNE_FIELDS: dict[str, ParamField] = {f.attr: f for f in params_fields(PruneParams)}


def error_field(form: forms.Form, exc: Exception) -> str | None:
    """The form field an ApplicationError is about, or None for a form-wide error."""
    name = getattr(exc, "field", None) or ERROR_FIELDS.get(getattr(exc, "code", ""))
    return name if name in form.fields else None


def embedding_set_choices(version: DatasetVersion) -> list[tuple[str, str]]:
    sets = EmbeddingSet.objects.filter(dataset_id=version.dataset_id, status=EmbeddingSetStatus.READY).order_by("-id")
    choices = [("", "Newest ready set of this version")]
    return choices + [(str(s.pk), f"#{s.pk} · {s.encoder_name} · v{s.version.number} · {s.rows} rows") for s in sets]


def cluster_run_choices(version: DatasetVersion) -> list[tuple[str, str]]:
    runs = cluster_runs_of_version(version)
    choices = [("", "Cluster anew")]
    return choices + [
        (str(r.pk), f"#{r.pk} · k = {r.n_clusters} · embedding set #{r.embedding_set_id} · {r.created_at:%Y-%m-%d}")
        for r in runs
    ]


def _version_choice(field: forms.Field, choices: list[tuple[str, str]]) -> forms.TypedChoiceField:
    """The generated integer field as a choice among the version's own (same label and help)."""
    return forms.TypedChoiceField(
        choices=choices,
        coerce=int,
        empty_value=None,
        required=False,
        label=field.label,
        help_text=field.help_text,
    )


class ClusterStartForm(params_form(ClusterParams, name="ClusterParamsForm")):  # type: ignore[misc]
    """ClusterParams but the version (from the URL); the embedding set is one of the dataset's ready sets."""

    def __init__(self, *args: Any, version: DatasetVersion, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["embedding_set"] = _version_choice(self.fields["embedding_set"], embedding_set_choices(version))


class PruneStartForm(params_form(PruneParams, name="PruneParamsForm")):  # type: ignore[misc]
    """Every parameter of every method; the page shows the chosen method's (see `method_defaults`)."""

    def __init__(self, data: Any, *, version: DatasetVersion, method: str, typed: Any = None):
        """`typed`: the values of the form as it stood when the user switched method (a QueryDict); a
        parameter the new method shares keeps what was typed instead of its default."""
        defaults = method_defaults(method)
        initial = {name: value for name, value in defaults.items() if value is not None}
        initial["splits"] = list(DEFAULT_SPLITS)
        if typed is not None:
            kept = (*defaults, "embedding_set", "cluster_run")
            initial |= {name: typed[name] for name in kept if typed.get(name, "") != ""}
            if typed.getlist("splits"):
                initial["splits"] = typed.getlist("splits")
        super().__init__(data, initial={**initial, "method": method})
        self.fields["embedding_set"] = _version_choice(self.fields["embedding_set"], embedding_set_choices(version))
        self.fields["cluster_run"] = _version_choice(self.fields["cluster_run"], cluster_run_choices(version))
        splits = self.fields["splits"]
        splits.required = True  # none chosen is refused, not read as the default
        splits.error_messages["required"] = "Choose at least one split to prune."
        splits.help_text = param_help(PRUNE_FIELDS["splits"])
        self.defaults = defaults
        self.method = method

    @property
    def reuses_clusters(self) -> bool:
        """Whether the method can reuse a stored cluster run (the page offers the choice then)."""
        return self.method in CAN_REUSE_CLUSTERS

    def parameter_fields(self) -> list[tuple[forms.BoundField, str, str]]:
        """(field, default as shown, help) for the method's parameters, in display order."""
        return [
            (self[name], _default_text(name, value), param_help(PRUNE_FIELDS[name], with_default=False))
            for name, value in self.defaults.items()
        ]

    def method_values(self) -> dict[str, Any]:
        """The cleaned values of the method's parameters, the embedding set, the cluster run and the splits
        (None: the default)."""
        data = self.cleaned_data
        chosen = {name: data.get(name) for name in self.defaults}
        for flag in ("per_class", "exact_first"):
            if flag in chosen:
                chosen[flag] = bool(data.get(flag))
        if chosen.get("which_to_keep") == "":
            chosen["which_to_keep"] = None
        cluster_run = data.get("cluster_run") if self.reuses_clusters else None
        return {
            **chosen,
            "embedding_set_id": data.get("embedding_set"),
            "cluster_run_id": cluster_run,
            "splits": data["splits"],
        }


def _default_text(name: str, value: Any) -> str:
    if value is None:
        return "none (eps decides)" if name == "keep_fraction" else "automatic"
    return str(value).lower() if isinstance(value, bool) else str(value)
