"""Input and output serializers of the clusters and pruning API."""

from rest_framework import serializers

from core.params import params_serializer
from curation.ml.pruning import PruneReason
from curation.pruning.models import PruneDecision
from curation.pruning.services.params import ClusterParams, PruneParams

# Generated from the params dataclasses (core.params): the same fields, help and defaults as the page
# forms and the commands. The API's old names `k` and `dbp_k` are accepted as aliases; the prune API took
# null for any optional parameter (the default), and still does.
ClusterRunInputSerializer = params_serializer(ClusterParams, name="ClusterRunInputSerializer")
PruneRunInputSerializer = params_serializer(PruneParams, name="PruneRunInputSerializer", null_means_default=True)


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
