"""Input and output serializers of the embeddings API: embedding sets, neighbours and text search, duplicate runs
and their groups, embedding maps. The job inputs are generated from the params dataclasses (core.params)."""

from rest_framework import serializers

from core.params import params_serializer
from curation.embeddings.models import DuplicateKind, EmbeddingSetStatus
from curation.embeddings.selectors import DEFAULT_NEIGHBOURS, MAX_NEIGHBOURS
from curation.embeddings.services.duplicates import DuplicateParams
from curation.embeddings.services.embedding_jobs import EmbedParams
from curation.embeddings.services.maps import MapParams


class EmbeddingSetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    version = serializers.IntegerField(source="version_id")
    job = serializers.IntegerField(source="job_id", allow_null=True)
    status = serializers.ChoiceField(choices=EmbeddingSetStatus.choices)
    encoder_name = serializers.CharField()
    encoder_spec = serializers.JSONField(help_text="EncoderSpec: arch, weights, dim, preprocessing, text tower.")
    dim = serializers.IntegerField()
    dtype = serializers.CharField()
    planned_rows = serializers.IntegerField()
    rows = serializers.IntegerField()
    skipped = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    index_kind = serializers.CharField()
    checksum = serializers.CharField(help_text="sha256 of the float16 embeddings .npy")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class EmbeddingSetPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EmbeddingSetOutputSerializer(many=True)


class EmbeddingSetFilterSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(required=False)
    version = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=EmbeddingSetStatus.choices, required=False)


# Generated from EmbedParams (core.params): the fields, help and defaults of the page form and `manage.py embed`.
EmbedInputSerializer = params_serializer(EmbedParams, name="EmbedInputSerializer")


class NeighbourOutputSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField()
    score = serializers.FloatField(help_text="Cosine similarity.")


class NeighbourListOutputSerializer(serializers.Serializer):
    embedding_set = serializers.IntegerField()
    results = NeighbourOutputSerializer(many=True)


class NeighboursInputSerializer(serializers.Serializer):
    sample_id = serializers.IntegerField(help_text="The sample whose neighbours are wanted.")
    k = serializers.IntegerField(default=DEFAULT_NEIGHBOURS, min_value=1, max_value=MAX_NEIGHBOURS)
    query_set = serializers.IntegerField(
        required=False, help_text="Read the sample's vector from this set (same encoder), e.g. of another version."
    )


class TextSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=500, help_text="What to look for, e.g. 'a dog on grass'.")
    k = serializers.IntegerField(default=DEFAULT_NEIGHBOURS, min_value=1, max_value=MAX_NEIGHBOURS)


# Generated from DuplicateParams (core.params): the fields, help and defaults of the page form and the command.
DuplicateRunInputSerializer = params_serializer(DuplicateParams, name="DuplicateRunInputSerializer")


class DuplicateRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    embedding_set = serializers.IntegerField(source="embedding_set_id")
    version = serializers.IntegerField(source="version_id")
    job = serializers.IntegerField(source="job_id", allow_null=True)
    threshold = serializers.FloatField(help_text="Cosine of semantic near duplicates.")
    threshold_source = serializers.CharField(help_text="user or calibrated")
    verify_threshold = serializers.FloatField(allow_null=True, help_text="Pixel verification score of a copy.")
    params = serializers.JSONField()
    calibration = serializers.JSONField(
        help_text="Cosine and pixel-verification calibration (histograms of perturbed pairs and nearest neighbours); "
        "cached: reused from an earlier run on the set."
    )
    warnings = serializers.JSONField(help_text="[{code, message}], e.g. encoder_cannot_separate.")
    search = serializers.JSONField(help_text="Pair search method, time, and recall vs exact on a sample.")
    truth = serializers.JSONField(allow_null=True, help_text="Precision/recall vs the demo truth.")
    exact_group_count = serializers.IntegerField()
    near_group_count = serializers.IntegerField()
    near_duplicate_samples = serializers.IntegerField()
    semantic_group_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class DuplicateGroupsInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DuplicateKind.choices, required=False)
    after = serializers.IntegerField(required=False, help_text="Group number of the previous page's last group.")
    page_size = serializers.IntegerField(default=50, min_value=1, max_value=500)


class DuplicateGroupOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DuplicateKind.choices)
    size = serializers.IntegerField()
    sample_ids = serializers.ListField(child=serializers.IntegerField())
    pairs = serializers.JSONField(
        help_text="[[sample a, sample b, cosine, pixel verification score]] of near and semantic groups."
    )
    file_names = serializers.ListField(child=serializers.CharField(), help_text="Names of an exact group's bytes.")
    max_similarity = serializers.FloatField()


class DuplicateGroupPageOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True, help_text="Pass as `after` for the next page.")
    results = DuplicateGroupOutputSerializer(many=True)


# MapParams (core.params); the set comes from the URL.
EmbeddingMapInputSerializer = params_serializer(MapParams, name="EmbeddingMapInputSerializer")
