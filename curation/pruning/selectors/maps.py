"""Numbers the embedding map is coloured by that come from this app (registered in PruningConfig.ready)."""

import io

import numpy as np
from django.core.files.storage import default_storage

from curation.embeddings.models import EmbeddingMap
from curation.pruning.models import ClusterRun


def map_cluster_numbers(embedding_map: EmbeddingMap) -> dict[int, int]:
    """sample id -> cluster of the set's latest cluster run, when there is one."""
    run = ClusterRun.objects.filter(embedding_set_id=embedding_map.embedding_set_id).order_by("-id").first()
    if run is None or not default_storage.exists(run.assignment_key):
        return {}
    with default_storage.open(run.assignment_key, "rb") as handle, np.load(io.BytesIO(handle.read())) as stored:
        return dict(zip(stored["sample_ids"].tolist(), stored["cluster"].tolist(), strict=True))
