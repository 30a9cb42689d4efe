"""Deleting rows that foreign keys point at with one set-based check per batch instead of one trigger per row.

PostgreSQL checks a foreign key on the referenced side with an RI trigger per deleted row and per constraint
(Django's constraints are DEFERRABLE INITIALLY DEFERRED: the triggers queue up and run at COMMIT). Eleven
constraints point at `curation_sample`, so deleting 1M samples ran 11M triggers: 509 s of a bare DELETE's
530 s (README, delete_bench). The constraints stay for every ordinary write; only the deletion job's batches of
a referenced table take this path, in the batch's transaction:

1. lock the batch's rows (`SELECT … FOR UPDATE`): a concurrent insert or update of a row referencing one of
   them takes FOR KEY SHARE on it (immediately, or at its COMMIT for a deferred constraint), so it waits for
   this transaction and then fails its own foreign-key check, as it would against a plain DELETE;
2. check, with one range-bounded semi-join per constraint found in the catalog at run time (a constraint added
   later is never missed), that no row references the batch: the plan deleted the children first, so a row
   found here was written after the plan (or by a table the plan does not know) and the batch is refused
   (`ReferencedError`, the transaction rolled back: nothing of the batch goes);
3. `SET LOCAL session_replication_role = replica` for the batch's DELETE only (the RI triggers do not fire),
   then back.

Setting session_replication_role takes a superuser, or on PostgreSQL 15+ `GRANT SET ON PARAMETER
session_replication_role TO <role>` (docs/DEPLOYMENT.md). Without it, or for a table with triggers of its own
(the replica role would skip them too) or a multi-column foreign key pointing at it, the job deletes as before,
every row checked by its triggers: correct, slower. `Mode` names the path; the job records it in the audit row.
"""

# SQL here is built from catalog names (quoted by format('%I')/quote_ident) and the models' own tables; every
# value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from django.db import connection

SHOWN = 10


class Mode(StrEnum):
    """How the rows of a referenced table were deleted (Deletion.integrity)."""

    SET_CHECK = "set_check"  # set-based check per batch, RI triggers skipped (session_replication_role)
    TRIGGERS = "triggers"  # per-row RI triggers (the role may not set session_replication_role)


@dataclass(frozen=True)
class Reference:
    """A foreign-key constraint `name` of `table`.`column` (quoted) pointing at the deleted table."""

    name: str
    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


class ReferencedError(Exception):
    """Rows outside the deletion reference rows of the batch about to be deleted."""


def references_to(table: str, pk: str | None = "id") -> list[Reference] | None:
    """The foreign-key constraints pointing at `table` (primary key column `pk`), read from the catalog; None when the
    set-based check cannot stand in for them: a multi-column key, a key to another column than `pk`, or triggers of
    the table's own, which the replica role would skip."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table])
        if cursor.fetchone()[0]:
            return None
        cursor.execute(
            "SELECT c.conname, c.conrelid::regclass::text, array_length(c.conkey, 1), "
            "(SELECT quote_ident(a.attname) FROM pg_attribute a "
            "WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]), "
            "(SELECT p.attname FROM pg_attribute p WHERE p.attrelid = c.confrelid AND p.attnum = c.confkey[1]) "
            "FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = %s::regclass ORDER BY 2, 4",
            [table],
        )
        rows = cursor.fetchall()
    if any(columns != 1 or referenced != pk for _, _, columns, _, referenced in rows):
        return None
    return [Reference(name, referencing, column) for name, referencing, _, column, _ in rows]


def replica_role_allowed() -> bool:
    """Whether this connection's role may set session_replication_role (a superuser, or granted SET on it)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        if cursor.fetchone()[0] >= 150000:  # GRANT SET ON PARAMETER came with PostgreSQL 15
            cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        else:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


def batch_lock(table: str, pk: str, doomed: str, low: int, high: int) -> int:
    """Lock the rows of `table` whose ids the SELECT `doomed` gives in (low, high], in id order; how many."""
    where = f"t.{pk} > %s AND t.{pk} <= %s AND t.{pk} IN ({doomed})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT t.{pk} FROM {table} t WHERE {where} ORDER BY t.{pk} FOR UPDATE) l",
            [low, high, low, high],
        )
        return int(cursor.fetchone()[0])


def batch_unreferenced_check(references: list[Reference], doomed: str, low: int, high: int) -> None:
    """Raise ReferencedError when a row of a referencing table names one of the ids `doomed` gives in (low, high].

    Each check reads the referencing column's index over the batch's range only (Django indexes every foreign key),
    then semi-joins it to the batch: a referencing table's rows outside the range are never read.
    """
    found = []
    with connection.cursor() as cursor:
        for reference in references:
            column = f"c.{reference.column}"
            cursor.execute(
                f"SELECT DISTINCT {column} FROM {reference.table} c "
                f"WHERE {column} > %s AND {column} <= %s AND {column} IN ({doomed}) ORDER BY 1 LIMIT %s",
                [low, high, low, high, SHOWN + 1],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                shown = ", ".join(str(pk) for pk in ids[:SHOWN]) + (", …" if len(ids) > SHOWN else "")
                found.append(f"{reference} (constraint {reference.name}) references id {shown}")
    if found:
        raise ReferencedError("; ".join(found))


@contextmanager
def replica_role() -> Iterator[None]:
    """session_replication_role = replica for the statements inside (RI triggers off), restored after. SET LOCAL:
    after an error the transaction (or savepoint) is rolled back, which restores it too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('session_replication_role', %s, true)", [previous])
