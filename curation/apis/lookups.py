"""The base app's rows that API views look up by an id from the URL: the row, or a 404 (code not_found)."""

from django.contrib.auth import get_user_model
from django.db import connection

from core.api_errors import not_found
from core.sql_rows import ModelColumns
from curation.models import Dataset, DatasetVersion

_VERSION, _DATASET, _USER = ModelColumns(DatasetVersion, "v"), ModelColumns(Dataset, "d"), None
_VERSION_SQL: str | None = None


def _version_sql() -> str:
    # Built on first use: the user model is only known once the apps are loaded.
    global _VERSION_SQL, _USER
    if _VERSION_SQL is None:
        user_model = get_user_model()
        _USER = ModelColumns(user_model, "u")
        _VERSION_SQL = (
            f"SELECT {_VERSION.select}, {_DATASET.select}, {_USER.select} "  # noqa: S608 - names from the models
            f'FROM "{DatasetVersion._meta.db_table}" v JOIN "{Dataset._meta.db_table}" d ON d."id" = v."dataset_id" '
            f'LEFT JOIN "{user_model._meta.db_table}" u ON u."id" = v."created_by_id" WHERE v."id" = %s'
        )
    return _VERSION_SQL


def version_get_fixed(version_id: int) -> DatasetVersion | None:
    """What `curation.selectors.version_get` returns (the version with its dataset and creator loaded), read by one
    statement of fixed text: the ORM compiled that join on every API call."""
    sql = _version_sql()
    low, high = connection.ops.integer_field_range("BigAutoField")
    if not low <= version_id <= high:
        return None  # (the ORM finds no row for an id out of the column's range, without asking)
    with connection.cursor() as cursor:
        cursor.execute(sql, [version_id])
        row = cursor.fetchone()
    if row is None or _USER is None:
        return None
    version = _VERSION.build(row[: _VERSION.width])
    # As select_related caches them: no query when the view reads version.dataset or version.created_by.
    DatasetVersion.dataset.field.set_cached_value(version, _DATASET.build(row[_VERSION.width : -_USER.width]))
    DatasetVersion.created_by.field.set_cached_value(version, _USER.build_at(row, _VERSION.width + _DATASET.width))
    return version


def version_or_404(version_id: int) -> DatasetVersion:
    """The version (with its dataset and creator loaded), or a 404 naming the id."""
    version = version_get_fixed(version_id)
    if version is None:
        raise not_found("Version", version_id)
    return version
