"""Row factories for tests. Samples get real image bytes in storage, like imported ones."""

import hashlib
import io
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from core.roles import Role, user_role_assign
from core.storage import blob_key, blob_save, sha256_bytes
from curation.exports.models import Export
from curation.models import Dataset, DatasetVersion, LabelOrigin, Sample, VersionOperation, VersionSample
from jobs.models import Job


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs: object) -> None:
        self.save()
        if create and extracted:
            user_role_assign(user=self, role=extracted)


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"dataset-{n}")
    classes = factory.LazyFunction(lambda: ["cat", "dog"])


class DatasetVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetVersion

    dataset = factory.SubFactory(DatasetFactory)
    number = factory.Sequence(lambda n: n + 1)
    operation = VersionOperation.IMPORT


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """An 8-bit mask PNG of `size` (255 = object) whose object fills `box` (left, top, right, bottom)."""
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


class SampleFactory(factory.django.DjangoModelFactory):
    """A sample whose image and thumbnail really exist in storage (a solid colour per sequence)."""

    class Meta:
        model = Sample
        skip_postgeneration_save = True  # `mask_box` saves what it changes

    dataset = factory.SubFactory(DatasetFactory)
    width = 32
    height = 24
    format = "PNG"
    mode = "RGB"
    original_name = factory.Sequence(lambda n: f"img_{n}.png")

    @factory.lazy_attribute_sequence
    def sha256(self, n: int) -> str:
        data = png_bytes((n * 37 % 256, n * 91 % 256, n * 13 % 256))
        digest = sha256_bytes(data)
        blob_save(key=blob_key(sha256=digest, kind="images", extension="png"), data=data)
        blob_save(key=blob_key(sha256=digest, kind="thumbnails", extension="png"), data=data)
        return digest

    image_key = factory.LazyAttribute(lambda o: blob_key(sha256=o.sha256, kind="images", extension="png"))
    thumbnail_key = factory.LazyAttribute(lambda o: blob_key(sha256=o.sha256, kind="thumbnails", extension="png"))
    file_size = 100

    @factory.post_generation
    def mask_box(self, create: bool, extracted: tuple[int, int, int, int] | None, **kwargs: object) -> None:
        """`SampleFactory(mask_box=(left, top, right, bottom))` stores a mask with that object box."""
        if create and extracted:
            data = mask_png((self.width, self.height), extracted)
            self.mask_key = blob_key(sha256=sha256_bytes(data), kind="masks", extension="png")
            blob_save(key=self.mask_key, data=data)
            self.save(update_fields=["mask_key"])


class VersionSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VersionSample

    version = factory.SubFactory(DatasetVersionFactory)
    sample = factory.SubFactory(SampleFactory, dataset=factory.SelfAttribute("..version.dataset"))
    split = "train"
    label = "cat"
    label_origin = LabelOrigin.IMPORT
    labels = factory.LazyAttribute(lambda o: [{"label": o.label, "origin": o.label_origin}] if o.label else [])


class JobFactory(factory.django.DjangoModelFactory):
    """A job row as job_create leaves it (queued, never sent); set status and timestamps to taste."""

    class Meta:
        model = Job

    kind = "test_job"
    params = factory.LazyFunction(dict)


class ExportFactory(factory.django.DjangoModelFactory):
    """A succeeded JSONL export whose file (`manifest.jsonl`) and SHA256SUMS really exist in storage."""

    class Meta:
        model = Export
        skip_postgeneration_save = True  # `stored_files` saves what it changes

    version = factory.SubFactory(DatasetVersionFactory)
    format = "jsonl"
    job = factory.SubFactory(JobFactory, kind="export_version", status="succeeded")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))

    @factory.post_generation
    def stored_files(self, create: bool, extracted: bytes | None, **kwargs: object) -> None:
        """`ExportFactory(stored_files=b"...")` sets the manifest's bytes."""
        if not create:
            return
        data = extracted if extracted is not None else b'{"path": "train/cat/a.png"}\n'
        digest = hashlib.sha256(data).hexdigest()
        key, checksum_key = f"exports/{self.pk}/manifest.jsonl", f"exports/{self.pk}/SHA256SUMS"
        default_storage.save(key, ContentFile(data))
        default_storage.save(checksum_key, ContentFile(f"{digest}  manifest.jsonl\n".encode()))
        self.files = [{"name": "manifest.jsonl", "key": key, "size": len(data), "sha256": digest}]
        self.checksum_key, self.size, self.sample_count = checksum_key, len(data), 1
        self.save(update_fields=["files", "checksum_key", "size", "sample_count"])
