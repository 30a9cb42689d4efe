"""Input and output serializers of the clusters and pruning API."""

from typing import Any

from rest_framework import serializers

from curation.ml.pruning import PruneReason
from curation.pruning.models import PruneDecision, PruneMethod
from curation.pruning.services.splits import SPLITS


class ClusterRunInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Id of the version to cluster.")
    embedding_set = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Default: the version's newest ready set."
    )
    k = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Default round(sqrt(n/2)).")
    niter = serializers.IntegerField(required=False, default=20)
    seed = serializers.IntegerField(required=False, default=1234)


class ClusterOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    size = serializers.IntegerField()
    d_intra = serializers.FloatField(allow_null=True)
    d_inter = serializers.FloatField(allow_null=True)
    complexity = serializers.FloatField()
    class_mix = serializers.DictField(child=serializers.IntegerField())


class ClusterRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id")
    embedding_set = serializers.IntegerField(source="embedding_set_id")
    n_clusters = serializers.IntegerField()
    n_samples = serializers.IntegerField()
    params = serializers.JSONField()
    summary = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class ClusterRunDetailOutputSerializer(ClusterRunOutputSerializer):
    clusters = ClusterOutputSerializer(many=True, source="cluster_rows")


class PruneRunInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Id of the version to prune.")
    method = serializers.ChoiceField(choices=PruneMethod.values)
    keep_fraction = serializers.FloatField(
        required=False, allow_null=True, help_text="Fraction KEPT, in (0, 1]. SemDeDup: optional, picks eps."
    )
    eps = serializers.FloatField(required=False, allow_null=True, help_text="SemDeDup: in (0, 1); default 0.05.")
    tau = serializers.FloatField(required=False, allow_null=True, help_text="DBP temperature; default 0.1.")
    cls_bal_ratio = serializers.FloatField(required=False, allow_null=True, help_text="DBP; default 0.5.")
    which_to_keep = serializers.CharField(required=False, allow_null=True, help_text="hard, easy or random.")
    k = serializers.IntegerField(required=False, allow_null=True, help_text="k-means clusters; default sqrt(n/2).")
    dbp_k = serializers.IntegerField(required=False, allow_null=True, help_text="semdedup+dbp: DBP's k.")
    min_cluster_share = serializers.FloatField(required=False, allow_null=True, help_text="SSP; default 0.")
    per_class = serializers.BooleanField(required=False, allow_null=True, help_text="Budget within each class.")
    exact_first = serializers.BooleanField(required=False, allow_null=True, help_text="semdedup+dbp; default true.")
    seed = serializers.IntegerField(required=False, allow_null=True)
    embedding_set = serializers.IntegerField(required=False, allow_null=True)
    cluster_run = serializers.IntegerField(required=False, allow_null=True, help_text="Reuse a clustering.")
    splits = serializers.ListField(
        child=serializers.ChoiceField(choices=SPLITS),
        required=False,
        allow_null=True,
        help_text='Splits whose samples may be removed; default ["train"] (the others are kept). '
        "keep_fraction applies to the samples of these splits.",
    )

    def as_params(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.validated_data)
        renames: dict[str, str] = {"version": "version_id", "k": "n_clusters", "dbp_k": "dbp_n_clusters"}
        renames |= {"embedding_set": "embedding_set_id", "cluster_run": "cluster_run_id"}
        return {renames.get(key, key): value for key, value in data.items()}


class PruneRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id")
    method = serializers.CharField()
    status = serializers.CharField()
    params = serializers.JSONField()
    n_candidates = serializers.IntegerField()
    n_kept = serializers.IntegerField()
    n_removed = serializers.IntegerField()
    summary = serializers.JSONField()
    sweep = serializers.JSONField()
    embedding_set = serializers.IntegerField(source="embedding_set_id", allow_null=True)
    cluster_run = serializers.IntegerField(source="cluster_run_id", allow_null=True)
    resulting_version = serializers.IntegerField(source="resulting_version_id", allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class DecisionOutputSerializer(serializers.Serializer):
    sample = serializers.IntegerField(source="sample_id")
    keep = serializers.BooleanField()
    reason = serializers.SerializerMethodField()
    score = serializers.FloatField(allow_null=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    cluster = serializers.IntegerField(allow_null=True)

    def get_reason(self, decision: PruneDecision) -> str:
        return PruneReason(decision.reason).name.lower()


class DecisionPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DecisionOutputSerializer(many=True)


class AppliedOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Id of the version made from the run.")
    number = serializers.IntegerField()
    parent = serializers.IntegerField()  # type: ignore[assignment]
    sample_count = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when the run had already been applied.")


class DiffRowOutputSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    split = serializers.CharField()
    before = serializers.IntegerField()
    after = serializers.IntegerField()
    change = serializers.IntegerField()


class VersionDiffOutputSerializer(serializers.Serializer):
    before = serializers.IntegerField()
    after = serializers.IntegerField()
    total_before = serializers.IntegerField()
    total_after = serializers.IntegerField()
    rows = DiffRowOutputSerializer(many=True)


class MethodDefaultsOutputSerializer(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    defaults = serializers.JSONField()
