"""Django admin for cluster and prune runs: read-only (runs are made by jobs and applied by a service).

Decisions reach millions of rows, so they are not listed here (the API pages them); foreign keys to
samples and versions are raw ids and change lists skip the full count.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from curation.pruning.models import Cluster, ClusterRun, PruneRun


class ClusterInline(admin.TabularInline):
    model = Cluster
    fields = ("index", "size", "d_intra", "d_inter", "complexity", "class_mix")
    readonly_fields = fields
    ordering = ("-complexity",)
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(ClusterRun)
class ClusterRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "version", "embedding_set", "n_clusters", "n_samples", "created_by", "created_at")
    list_select_related = ("version__dataset", "embedding_set", "created_by")
    raw_id_fields = ("version", "embedding_set", "job")
    inlines = [ClusterInline]


@admin.register(PruneRun)
class PruneRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "version", "method", "status", "n_candidates", "n_kept", "resulting_version", "created_at")
    list_filter = ("method", "status")
    list_select_related = ("version__dataset", "resulting_version")
    raw_id_fields = ("version", "embedding_set", "cluster_run", "resulting_version", "job")
