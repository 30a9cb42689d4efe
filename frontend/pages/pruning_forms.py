"""Forms of the clusters and pruning pages: every parameter with its default and a line of help."""

from typing import Any

from django import forms

from curation.embeddings.models import EmbeddingSet, EmbeddingSetStatus
from curation.models import DatasetVersion
from curation.pruning.models import PruneMethod
from curation.pruning.services.params import method_defaults
from curation.pruning.services.splits import DEFAULT_SPLITS, SPLITS

PARAMETER_HELP = {
    "keep_fraction": (
        "Fraction of the samples of the pruned splits KEPT, in (0, 1]. DBP keeps floor(fraction × n), as its "
        "reference; SemDeDup picks eps from it and warns when exact copies make it unreachable."
    ),
    "eps": "Remove a sample whose cosine similarity to an earlier one in its cluster exceeds 1 − eps.",
    "which_to_keep": (
        "hard: keep the farthest from the centroid; easy: the nearest; random. Of exact copies, hard keeps the "
        "earlier sample and easy the later, as the reference code."
    ),
    "tau": "Softmax temperature over cluster complexity; smaller gives complex clusters more.",
    "cls_bal_ratio": (
        "Each cluster keeps at least int(N / k × ratio), at most |c| − 1 (lower bound); 0 means at least 1, as "
        "in the reference. Each cluster's complexity is its own, singletons included."
    ),
    "n_clusters": "k of the k-means; empty: round(√(n / 2)).",
    "dbp_n_clusters": "k of DBP's k-means on SemDeDup's survivors; empty: round(√(n / 2)).",
    "niter": "k-means iterations.",
    "min_cluster_share": "Per-cluster minimum as a share of N / k (0: none).",
    "per_class": "Apply the budget within each class.",
    "exact_first": "Drop byte-identical embeddings before SemDeDup.",
    "seed": "Seed of the random choices.",
}
ERROR_FIELDS = {
    "invalid_keep_fraction": "keep_fraction",
    "invalid_eps": "eps",
    "invalid_tau": "tau",
    "invalid_k": "n_clusters",
    "k_too_large": "n_clusters",
    "embeddings_mismatch": "embedding_set",
    "embeddings_required": "embedding_set",
    "embeddings_not_ready": "embedding_set",
    "invalid_splits": "splits",
    "no_samples_in_splits": "splits",
}
SPLITS_HELP = (
    "Only samples of these splits may be removed; the others are kept as they are. The keep fraction applies "
    "to the samples of these splits. Default: train only, so evaluation data is never pruned unless chosen."
)


def embedding_set_choices(version: DatasetVersion) -> list[tuple[str, str]]:
    sets = EmbeddingSet.objects.filter(dataset_id=version.dataset_id, status=EmbeddingSetStatus.READY).order_by("-id")
    choices = [("", "Newest ready set of this version")]
    return choices + [(str(s.pk), f"#{s.pk} · {s.encoder_name} · v{s.version.number} · {s.rows} rows") for s in sets]


class ClusterStartForm(forms.Form):
    embedding_set = forms.ChoiceField(required=False, label="Embedding set")
    n_clusters = forms.IntegerField(required=False, min_value=1, label="k", help_text=PARAMETER_HELP["n_clusters"])
    niter = forms.IntegerField(min_value=1, initial=20, label="Iterations", help_text=PARAMETER_HELP["niter"])

    def __init__(self, *args: Any, version: DatasetVersion, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["embedding_set"].choices = embedding_set_choices(version)  # type: ignore[attr-defined]


class PruneStartForm(forms.Form):
    """Every parameter of every method; the page shows the chosen method's (see `method_defaults`)."""

    method = forms.ChoiceField(choices=PruneMethod.choices)
    embedding_set = forms.ChoiceField(required=False, label="Embedding set")
    splits = forms.MultipleChoiceField(
        choices=[(name, name) for name in SPLITS],
        widget=forms.CheckboxSelectMultiple,
        label="Splits to prune",
        help_text=SPLITS_HELP,
        error_messages={"required": "Choose at least one split to prune."},
    )
    keep_fraction = forms.FloatField(required=False, label="Keep fraction")
    eps = forms.FloatField(required=False, label="eps")
    which_to_keep = forms.ChoiceField(
        required=False, choices=[("hard", "hard"), ("easy", "easy"), ("random", "random")], label="Which to keep"
    )
    tau = forms.FloatField(required=False, label="Temperature τ")
    cls_bal_ratio = forms.FloatField(required=False, label="Class-balance ratio")
    n_clusters = forms.IntegerField(required=False, min_value=1, label="k")
    dbp_n_clusters = forms.IntegerField(required=False, min_value=1, label="DBP k")
    niter = forms.IntegerField(required=False, min_value=1, label="k-means iterations")
    min_cluster_share = forms.FloatField(required=False, label="Per-cluster minimum share")
    per_class = forms.BooleanField(required=False, label="Per class")
    exact_first = forms.BooleanField(required=False, label="Exact dedup first")
    seed = forms.IntegerField(required=False, label="Seed")

    def __init__(self, data: Any, *, version: DatasetVersion, method: str, typed: Any = None):
        """`typed`: the values of the form as it stood when the user switched method (a QueryDict); a
        parameter the new method shares keeps what was typed instead of its default."""
        defaults = method_defaults(method)
        initial = {name: value for name, value in defaults.items() if value is not None}
        initial["splits"] = list(DEFAULT_SPLITS)
        if typed is not None:
            initial |= {name: typed[name] for name in (*defaults, "embedding_set") if typed.get(name, "") != ""}
            if typed.getlist("splits"):
                initial["splits"] = typed.getlist("splits")
        super().__init__(data, initial={**initial, "method": method})
        self.fields["embedding_set"].choices = embedding_set_choices(version)  # type: ignore[attr-defined]
        self.defaults = defaults

    def parameter_fields(self) -> list[tuple[forms.BoundField, str, str]]:
        """(field, default as shown, help) for the method's parameters, in display order."""
        return [
            (self[name], _default_text(name, value), PARAMETER_HELP.get(name, ""))
            for name, value in self.defaults.items()
        ]

    def params(self) -> dict[str, Any]:
        """The cleaned values of the method's parameters (None: the default)."""
        data = self.cleaned_data
        chosen = {name: data.get(name) for name in self.defaults}
        for flag in ("per_class", "exact_first"):
            if flag in chosen:
                chosen[flag] = bool(data.get(flag))
        if chosen.get("which_to_keep") == "":
            chosen["which_to_keep"] = None
        return {**chosen, "embedding_set_id": int(data.get("embedding_set") or 0) or None, "splits": data["splits"]}


def _default_text(name: str, value: Any) -> str:
    if value is None:
        return "none (eps decides)" if name == "keep_fraction" else "automatic"
    return str(value).lower() if isinstance(value, bool) else str(value)
