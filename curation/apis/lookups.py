"""The base app's rows that API views look up by an id from the URL: the row, or a 404 (code not_found)."""

from core.api_errors import not_found
from curation.models import DatasetVersion
from curation.selectors import version_get


def version_or_404(version_id: int) -> DatasetVersion:
    """The version (with its dataset and creator loaded), or a 404 naming the id."""
    version = version_get(version_id)
    if version is None:
        raise not_found("Version", version_id)
    return version
