"""Numbers the embedding map is coloured by that come from this app (registered in PruningConfig.ready)."""

import io

import numpy as np

from core.storage import blob_read
from curation.embeddings.models import EmbeddingMap
from curation.pruning.models import ClusterRun


def map_cluster_numbers(embedding_map: EmbeddingMap) -> dict[int, int]:
    """sample id -> cluster of the set's latest cluster run, when there is one."""
    run = ClusterRun.objects.filter(embedding_set_id=embedding_map.embedding_set_id).order_by("-id").first()
    if run is None:
        return {}
    try:  # one read (a GET on object storage), not exists() and then a read the file may have gone before
        data = blob_read(run.assignment_key)
    except FileNotFoundError:
        return {}
    with np.load(io.BytesIO(data)) as stored:
        return dict(zip(stored["sample_ids"].tolist(), stored["cluster"].tolist(), strict=True))
