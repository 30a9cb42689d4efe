"""REST API of deletions: views.py (DELETE of a run, the audit list, and the DELETE mixins the curation base's
dataset and version views take), serializers.py."""

from curation.deletion.apis.views import DatasetDeleteMixin, VersionDeleteMixin

__all__ = ["DatasetDeleteMixin", "VersionDeleteMixin"]
