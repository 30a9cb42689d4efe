"""Model instances read with fixed SQL text, for the hot API requests (token authentication, next item, vote, submit).

The ORM compiles a queryset into SQL on every call, and for a statement with joins, row locks and subqueries that
costs the web process more than the database spends running it. The hot statements are written once, as text
(their select lists generated here from the models, so a new column needs no edit), and their rows become the
instances the ORM would have built: same attributes, the ORM's converters applied (a JSON field is decoded).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import JSONField, Model
from django.db.models.fields.json import KeyTransform

M = TypeVar("M", bound=Model)


class ModelColumns(Generic[M]):
    """The concrete columns of ``model`` under a table alias: ``select`` for an SQL select list, ``build`` to make
    an instance from those values (in that order)."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.names = [field.attname for field in self.fields]
        self.select = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self.width = len(self.fields)
        self._converters: list[tuple[int, Any, list[Callable[..., Any]]]] | None = None

    def _converters_of_connection(self) -> list[tuple[int, Any, list[Callable[..., Any]]]]:
        # As SQLCompiler.get_converters: the backend's converters, then the field's (one database per process).
        if self._converters is None:
            converters = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if functions:
                    converters.append((index, column, functions))
            self._converters = converters
        return self._converters

    def build_at(self, row: Sequence[Any], start: int) -> M | None:
        """The instance from ``row``'s values at ``start``; None when they are a LEFT JOIN's nulls (no primary key)."""
        values = row[start : start + self.width]
        return self.build(values) if values[0] is not None else None

    def build(self, values: Sequence[Any]) -> M:
        row = list(values)
        for index, column, functions in self._converters_of_connection():
            for function in functions:
                row[index] = function(row[index], column, connection)
        return self.model.from_db(connection.alias, self.names, row)


# --- querysets compiled once per shape -------------------------------------------------------------------------------

# Values a statement is compiled with in its slots' places, then found among the compiled parameters: ints inside
# every integer column's range (a positive one's too: Django drops a lookup whose value overflows its column), text
# that no caller passes.
_SLOT_INT_BASE = 2_061_000_001
_SLOT_TEXT = "\ue000winnow-slot:{}\ue000"


class Slots:
    """Stand-ins for a statement's values while its queryset is built: ``slots.int("version")`` or
    ``slots.text("label")`` gives the value to build it with (the same one for the same name)."""

    def __init__(self) -> None:
        self.by_value: dict[Any, str] = {}
        self.names: dict[str, Any] = {}

    def int(self, name: str) -> int:
        return self._slot(name, _SLOT_INT_BASE + len(self.names))

    def text(self, name: str) -> str:
        return self._slot(name, _SLOT_TEXT.format(name))

    def _slot(self, name: str, value: Any) -> Any:
        if name not in self.names:
            self.names[name] = value
            self.by_value[value] = name
        return self.names[name]


class CompiledQuery:
    """A queryset's SQL and select list compiled once; ``rows`` runs it with the slots' values (a dict by name),
    its rows converted as the ORM's ``values_list`` converts them (a JSON column decoded...).

    The text is the one the ORM writes for that queryset, so its plan is too; only the parameters change.
    """

    def __init__(self, queryset: Any, slots: Slots) -> None:
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        self.sql: str = sql
        # Each parameter: (slot name, the type the ORM gave its value, None) or (None, None, the constant there). On
        # PostgreSQL the ORM passes some ints as psycopg's Int4 or Int8 (a Value's): a slot's value gets that type too.
        self.params: list[tuple[str | None, Any, Any]] = []
        for param in params:
            name = slots.by_value.get(param) if isinstance(param, int | str) else None
            if name is None and isinstance(param, str) and "\ue000winnow-slot:" in param:
                raise ValueError(f"a slot's value was transformed by its lookup ({param!r}): it cannot be a slot")
            typed = type(param) if type(param) not in (int, str) else None
            self.params.append((name, typed, None) if name is not None else (None, None, param))
        if any(str(value) in sql for value in slots.by_value):
            raise ValueError("a slot's value was written into the SQL text: it cannot be a slot")
        fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
        converters = list(compiler.get_converters(fields).items())
        # A jsonb column's values (PostgreSQL sends each as valid JSON text) are decoded in one json.loads per
        # statement, not one per row: the same values as JSONField.from_db_value gives.
        self.json_columns = [
            position
            for position, (functions, expression) in converters
            if connection.vendor == "postgresql" and _json_column(functions, expression)
        ]
        self.converters = [entry for entry in converters if entry[0] not in self.json_columns]

    def bind(self, values: dict[str, Any]) -> list[Any]:
        """The parameters with each slot's value from ``values``."""
        return [
            constant if name is None else values[name] if typed is None else typed(values[name])
            for name, typed, constant in self.params
        ]

    def rows(self, values: dict[str, Any], *, sql: str | None = None, params: list[Any] | None = None) -> list[Any]:
        """The statement's rows (lists), run with ``values`` in the slots (or with ``sql``/``params`` as given)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql if sql is None else sql, self.bind(values) if params is None else params)
            rows = cursor.fetchall()
        if not self.converters and not self.json_columns:
            return rows
        converted = []
        columns = {position: _json_decoded([row[position] for row in rows]) for position in self.json_columns}
        for index, row in enumerate(map(list, rows)):
            for position, decoded in columns.items():
                row[position] = decoded[index]
            for position, (functions, expression) in self.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted


def _json_column(functions: list[Callable[..., Any]], expression: Any) -> bool:
    """Whether a column's only converter is a plain JSONField's (default decoder) on the column itself."""
    function = functions[0] if len(functions) == 1 else None
    field = getattr(function, "__self__", None)
    return (
        getattr(function, "__func__", None) is JSONField.from_db_value
        and isinstance(field, JSONField)
        and field.decoder is None
        and not isinstance(expression, KeyTransform)
    )


def _json_decoded(values: list[Any]) -> list[Any]:
    """Each value as JSONField.from_db_value gives it (None stays None; text that is not JSON stays text)."""
    texts = [value for value in values if value is not None]
    if all(isinstance(value, str) for value in texts):
        try:
            decoded = json.loads(f"[{','.join(texts)}]")
        except json.JSONDecodeError:
            decoded = None
        if decoded is not None and len(decoded) == len(texts):
            found = iter(decoded)
            return [None if value is None else next(found) for value in values]
    return [_json_value(value) for value in values]


def _json_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


_COMPILED: dict[tuple[str, Any], CompiledQuery] = {}


def compiled_query(key: Any, build: Callable[[Slots], Any]) -> CompiledQuery:
    """The statement of ``build(slots)`` (a queryset), compiled the first time this process asks for ``key`` on this
    database vendor; ``key`` names everything that shapes its text (which filters, the order, a slice's bounds)."""
    cache_key = (connection.vendor, key)
    found = _COMPILED.get(cache_key)
    if found is None:
        slots = Slots()
        found = _COMPILED[cache_key] = CompiledQuery(build(slots), slots)
    return found
