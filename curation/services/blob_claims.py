"""Claims on sample blob keys: what makes deleting an unreferenced blob safe while other imports run.

A blob is shared by every sample whose bytes hash to its key, in any dataset. A writer stores (or is
told it finds) the blob first and inserts the row that references it later (an import's rows wait
for its batch's flush), so "no row references this key" does not mean "nobody needs it": another job
may have been told the blob exists and not have inserted its row yet. The protocol:

- A writer claims the keys before it stores or relies on their blobs (`blob_claims_take`), and drops
  the claims in the transaction that inserts the rows (`blob_claims_drop`).
- The collector (`blobs_collect`) deletes a key's blob only when neither a row nor a claim names it,
  checking and deleting while it holds the key's lock exclusively.
- Taking a claim takes the key's lock shared: the claim either commits before the collector looks
  (which then keeps the blob), or waits until the collector's delete is done (and the writer then
  finds no blob and stores it again).

The lock: on PostgreSQL, a transaction-level advisory lock on a 32-bit hash of the key in its own
namespace (a collision only makes two keys wait for each other); on SQLite every write transaction
is already exclusive (BEGIN IMMEDIATE, config/settings/base.py). The collector only tries the locks,
never waits for one: a key whose lock a writer holds is being claimed, so it is kept. The collector
therefore never deadlocks with a writer, even one whose open transaction holds claims taken in
another order, or when it runs inside a longer transaction (a job's cleanup does). A killed writer's
claims stay until its job's cleanup drops them (`blob_claims_drop_for_job`); until then the blobs
are kept. Every doubt keeps the blob: a leak at worst, never a loss.
"""

import hashlib
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.storage import blobs_delete
from curation.models import BlobClaim, Sample

LOCK_NAMESPACE = 0x57424C42  # "WBLB": the first key of the two-int advisory locks
# Keys per collector transaction, and as many advisory locks held until it commits: the server's lock table holds
# 6,400 by default (max_locks_per_transaction 64 x max_connections 100), shared by every connection, so a few
# deletions at once must leave room for the rest. 500 measured within noise of 1,000 (100k: 6.6 against 7.8 s);
# on S3 it is half a DeleteObjects request (limit 1,000 keys).
COLLECT_CHUNK = 500
SAMPLE_KEY_COLUMNS = ("image_key", "thumbnail_key", "mask_key")
SEPARATOR = "\x1f"  # the ASCII unit separator, which no storage key holds (one that does goes as a list)


def blob_claims_take(keys: Iterable[str], *, job_id: int | None) -> list[int]:
    """Claim `keys` (committed, under their locks) before storing or relying on their blobs; returns the claim ids."""
    wanted = sorted({key for key in keys if key})
    if not wanted:
        return []
    with transaction.atomic():
        _locks_shared(wanted)
        return _claims_insert(wanted, job_id)


def blob_claims_drop(claim_ids: list[int]) -> None:
    """Drop claims (in the transaction that inserts the rows referencing their keys, or after a failure)."""
    if claim_ids:
        BlobClaim.objects.filter(pk__in=claim_ids).delete()


def blob_claims_drop_for_job(job_id: int) -> set[str]:
    """Drop every claim a job still holds (its attempts are over) and return their keys, for collecting."""
    claims = BlobClaim.objects.filter(job_id=job_id)
    keys = set(claims.values_list("key", flat=True))
    claims.delete()
    return keys


def blob_keys_referenced(keys: list[str]) -> set[str]:
    """Those of `keys` that some sample row names as its image, thumbnail or mask (each column is indexed)."""
    if connection.vendor == "postgresql":
        return _keys_named(keys, claims=False, samples=True)
    rows = Sample.objects.filter(Q(image_key__in=keys) | Q(thumbnail_key__in=keys) | Q(mask_key__in=keys))
    named = {key for row in rows.values_list("image_key", "thumbnail_key", "mask_key") for key in row}
    return named.intersection(keys)


def blobs_collect(keys: Iterable[str], *, needed: Callable[[list[str]], set[str]] = blob_keys_referenced) -> list[str]:
    """Delete the blobs of `keys` that nothing needs (by default: no row) and no writer claimed; returns them.

    Args:
        keys: candidate storage keys (blank ones are ignored).
        needed: returns those of the given keys that must stay (default: those sample rows reference).
    """
    pending = sorted({key for key in keys if key})
    deleted: list[str] = []
    for start in range(0, len(pending), COLLECT_CHUNK):
        chunk = pending[start : start + COLLECT_CHUNK]
        with transaction.atomic():
            locked = _locks_try(chunk)  # a key a writer is claiming right now is needed: kept
            deleted += _unneeded_delete([key for key in chunk if key in locked], needed)
    return deleted


def _unneeded_delete(keys: list[str], needed: Callable[[list[str]], set[str]]) -> list[str]:
    if not keys:
        return []
    if connection.vendor != "postgresql":
        kept = _claimed(keys) | needed(keys)
    elif needed is blob_keys_referenced:  # the claims and the sample rows in one statement
        kept = _keys_named(keys, claims=True, samples=True)
    else:
        kept = _keys_named(keys, claims=True, samples=False) | needed(keys)
    unneeded = [key for key in keys if key not in kept]
    blobs_delete(unneeded)
    return unneeded


def _claimed(keys: list[str]) -> set[str]:
    return set(BlobClaim.objects.filter(key__in=keys).values_list("key", flat=True))


def _keys_named(keys: list[str], *, claims: bool, samples: bool) -> set[str]:
    """On PostgreSQL, those of `keys` that a claim names (`claims`) or a sample row as its image, thumbnail or mask.

    One statement: an index scan per column, each probing with the whole array of keys, their rows appended (UNION
    ALL). The array is written once (`_text_array`: with a placeholder per key, planning cost more than running) and
    read as an InitPlan's value, so the planner does not count its keys and always probes the indexes. With the keys
    in the plan and the columns ORed, it read the whole table instead when the table was small against the keys: the
    100k samples a deletion had just removed, 1,000 keys: a parallel seq scan, 85 ms, against 6 ms probed (500 keys:
    bitmap scans, 23.5 µs a key against 6; load 5-7, bench/delete_bench.py).
    """
    # The models' own table and column names; the keys are parameters. `(SELECT a FROM k)::text[]` is an expression:
    # `= ANY (SELECT …)` would compare with the rows of the subquery.
    keyed = "= ANY((SELECT a FROM k)::text[])"
    branches = [f"SELECT key FROM {BlobClaim._meta.db_table} WHERE key {keyed}"] if claims else []  # noqa: S608
    if samples:
        table = Sample._meta.db_table
        branches += [f"SELECT {column} FROM {table} WHERE {column} {keyed}" for column in SAMPLE_KEY_COLUMNS]  # noqa: S608
    array, params = _text_array(keys)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH k AS MATERIALIZED (SELECT {array} AS a) {' UNION ALL '.join(branches)}", params)
        return {row[0] for row in cursor.fetchall()}


def _text_array(values: list[str]) -> tuple[str, list[str]]:
    """SQL for a text[] of `values`, and its parameters: one string that PostgreSQL splits (a constant the planner
    folds, so it still sees the values), not a list parameter, which psycopg's client-side binding quotes element
    by element in Python (3.5 of 20 s when 50k keys were collected, profiled on a loaded machine)."""
    if any(SEPARATOR in value for value in values):
        return "%s::text[]", [values]  # type: ignore[list-item]
    return "string_to_array(%s, %s)", [SEPARATOR.join(values), SEPARATOR]


def _int_array(values: list[int]) -> str:
    """An int[] literal of `values` (a parameter for `%s::int[]`), written here rather than quoted by the client."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def _claims_insert(keys: list[str], job_id: int | None) -> list[int]:
    """One INSERT … RETURNING: an import claims every few files, and bulk_create cost ten times as much CPU."""
    quote = connection.ops.quote_name
    created_at = BlobClaim._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    columns = ", ".join(quote(name) for name in ("key", "job_id", "created_at"))  # the fields' own columns
    rows = ", ".join(["(%s, %s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(BlobClaim._meta.db_table)} ({columns}) VALUES {rows} RETURNING {quote('id')}",  # noqa: S608
            [value for key in keys for value in (key, job_id, created_at)],
        )
        return [row[0] for row in cursor.fetchall()]


def _lock_ids(keys: list[str]) -> dict[int, list[str]]:
    ids: dict[int, list[str]] = {}
    for key in keys:
        digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
        ids.setdefault(int.from_bytes(digest, "big", signed=True), []).append(key)
    return dict(sorted(ids.items()))


def _locks_shared(keys: list[str]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, h) FROM unnest(%s::int[]) AS h",
                [LOCK_NAMESPACE, _int_array(list(_lock_ids(keys)))],
            )


def _locks_try(keys: list[str]) -> set[str]:
    """The keys whose locks this transaction now holds exclusively (all of them on SQLite)."""
    if connection.vendor != "postgresql":
        return set(keys)
    ids = _lock_ids(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h FROM unnest(%s::int[]) AS h WHERE pg_try_advisory_xact_lock(%s, h)",
            [_int_array(list(ids)), LOCK_NAMESPACE],
        )
        return {key for (lock_id,) in cursor.fetchall() for key in ids[lock_id]}
