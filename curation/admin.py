"""Django admin for the curation models.

Only a dataset's own fields and a sample's caption are editable here. Versions and their member
rows are immutable (pruning and relabeling make new versions); samples and aliases are created
by ingest. Nothing that owns stored blobs is deleted here row by row: the "delete as a job" action of
datasets and versions starts the deletion job (curation/deletion), which also removes the blobs nothing
needs any more. Sample tables reach millions of rows: foreign keys to them are raw ids and the change
lists skip the full count.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from core.admin import NoAddDeleteAdmin, ReadOnly, ReadOnlyAdmin
from curation.deletion.admin import deletion_action
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, VersionSample


class VersionInline(ReadOnly, admin.TabularInline):
    model = DatasetVersion
    fk_name = "dataset"
    fields = ("number", "operation", "parent", "sample_count", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-number",)
    show_change_link = True
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "class_count", "version_count", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name", "description")
    list_filter = ("created_at",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created_at",)
    fields = ("name", "description", "owner", "classes", "created_at")
    inlines = [VersionInline]
    actions = [deletion_action("dataset")]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return super().get_queryset(request).annotate(version_total=Count("versions"))

    @admin.display(description="classes")
    def class_count(self, dataset: Dataset) -> int:
        return len(dataset.classes or [])

    @admin.display(description="versions", ordering="version_total")
    def version_count(self, dataset: Any) -> int:
        return dataset.version_total


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "dataset", "number", "operation", "parent", "sample_count", "created_by", "created_at")
    list_select_related = ("dataset", "parent__dataset", "created_by")
    list_filter = ("operation", "dataset")
    search_fields = ("dataset__name", "note")
    raw_id_fields = ("dataset", "parent", "created_by", "job")
    actions = [deletion_action("version")]


@admin.register(Sample)
class SampleAdmin(NoAddDeleteAdmin):
    list_display = ("id", "dataset", "original_name", "source", "format", "width", "height", "file_size", "created_at")
    list_select_related = ("dataset",)
    list_filter = ("source", "format", "dataset")
    search_fields = ("=sha256", "original_name")
    raw_id_fields = ("dataset", "import_job")
    readonly_fields = tuple(f.name for f in Sample._meta.get_fields() if f.concrete and f.name not in ("id", "caption"))


@admin.register(VersionSample)
class VersionSampleAdmin(ReadOnlyAdmin):
    list_display = ("id", "version", "sample", "split", "label", "label_origin")
    list_select_related = ("version__dataset", "sample__dataset")
    list_filter = ("split", "label_origin", "version__dataset")
    search_fields = ("=label", "=sample__sha256", "sample__original_name")
    raw_id_fields = ("version", "sample")


@admin.register(SampleAlias)
class SampleAliasAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "sample", "dataset", "job")
    list_select_related = ("sample__dataset", "dataset")
    list_filter = ("dataset",)
    search_fields = ("original_name", "=sample__sha256")
    raw_id_fields = ("dataset", "sample", "job")
