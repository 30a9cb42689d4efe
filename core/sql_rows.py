"""Model instances read with fixed SQL text, for the hot API requests (token authentication, next item, vote, submit).

The ORM compiles a queryset into SQL on every call, and for a statement with joins, row locks and subqueries that
costs the web process more than the database spends running it. The hot statements are written once, as text
(their select lists generated here from the models, so a new column needs no edit), and their rows become the
instances the ORM would have built: same attributes, the ORM's converters applied (a JSON field is decoded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model

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
