"""A composite probe stored as Winnow's import stores an ImageFolder: one sample per distinct bytes, an alias per
file, each file's split and label from its path; and removed again (samples are protected from a dataset's delete)."""

from pathlib import Path

from core.storage import sha256_bytes
from curation.embeddings.models import EmbeddingSet
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, VersionSample
from jobs.models import Job
from tests.curation.embeddings.conftest import add_member
from tests.probes.composite_probe import ProbeTruth


def probe_store(version: DatasetVersion, root: Path, truth: ProbeTruth) -> dict[str, int]:
    """Store the probe written under ``root`` as members of ``version``; returns each file's sample id."""
    by_hash: dict[str, Sample] = {}
    by_name: dict[str, int] = {}
    for path in sorted(truth.files):
        data = (root / "images" / path).read_bytes()
        digest = sha256_bytes(data)
        if digest not in by_hash:
            split, label, _ = path.split("/")
            by_hash[digest] = add_member(version, data, name=path, label=label, split=split)
        SampleAlias.objects.create(dataset=version.dataset, sample=by_hash[digest], original_name=path)
        by_name[path] = by_hash[digest].pk
    return by_name


def probe_dataset_delete(version: DatasetVersion) -> None:
    """Embedding sets, members, aliases, samples, then the dataset; and the jobs the tests ran."""
    EmbeddingSet.objects.filter(version__dataset_id=version.dataset_id).delete()
    VersionSample.objects.filter(version__dataset_id=version.dataset_id).delete()
    SampleAlias.objects.filter(dataset_id=version.dataset_id).delete()
    Sample.objects.filter(dataset_id=version.dataset_id).delete()
    Dataset.objects.filter(pk=version.dataset_id).delete()
    Job.objects.all().delete()
