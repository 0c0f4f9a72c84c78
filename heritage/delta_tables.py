"""Small Delta helpers shared by the stages: create from a schema (and add the columns a
table created earlier lacks), read the version, run a write under an idempotency guard, and
upsert a change without shuffling the whole table."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from heritage.hadoop_paths import delete_tree, exists, read_text

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"
USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def ensure_delta_table(
    spark: SparkSession,
    path: str,
    schema: StructType,
    change_data_feed: bool = False,
    deletion_vectors: bool = False,
) -> None:
    """Create the table at ``path`` with ``schema`` if absent (version 0); else nothing
    (the check reads the Delta log only; a create call runs Spark jobs even when the table
    exists).

    ``deletion_vectors`` suits MERGE targets: a MERGE that changes a few rows then marks
    them in small deletion-vector files instead of rewriting every Parquet file holding one
    of them, so an incremental run costs in proportion to the change, not to the table.
    """
    if table_version(spark, path) >= 0:
        return
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    if change_data_feed:
        builder = builder.property("delta.enableChangeDataFeed", "true")
    if deletion_vectors:
        builder = builder.property("delta.enableDeletionVectors", "true")
    try:
        builder.execute()
    except AnalysisException as error:
        if "DELTA_TABLE_NOT_FOUND" not in str(error) or not _remove_uncommitted_table(spark, path):
            raise
        builder.execute()


def _remove_uncommitted_table(spark: SparkSession, path: str) -> bool:
    """A process killed while creating a table can leave files at its location but no first
    commit; Delta then neither reads nor creates it. With no commit there is nothing to
    keep: remove the leftovers. Returns False (and removes nothing) if a commit exists."""
    if exists(spark, f"{path}/_delta_log/{0:020d}.json"):
        return False
    delete_tree(spark, path)
    return True


def table_version(spark: SparkSession, path: str) -> int:
    """The table's newest version, -1 when there is no table at ``path``.

    Read from the Delta log on the driver (a listing of ``_delta_log``): 20 ms, where
    ``history(1)`` ran a Spark job of 0.1 to 0.4 s, and the stages ask this several times
    per run (docs/benchmarks.md)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    none = jvm.scala.Option.empty()
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    return int(delta_log.update(False, none, none).version())


def commit_info(spark: SparkSession, path: str, version: int) -> dict[str, Any] | None:
    """The commitInfo action of commit ``version`` of the table at ``path``, read from its
    log file on the driver (``history()`` runs Spark jobs, 0.2 to 0.4 s, for what is one
    small file); None when the file is not there (removed by log cleanup)."""
    text = read_text(spark, f"{path}/_delta_log/{version:020d}.json")
    return None if text is None else parse_commit_info(text)


def parse_commit_info(commit: str) -> dict[str, Any]:
    """The commitInfo action of a Delta commit file (one JSON action per line); {} if none."""
    for line in commit.splitlines():
        if line.strip():
            action = json.loads(line)
            if "commitInfo" in action:
                info: dict[str, Any] = action["commitInfo"]
                return info
    return {}


def read_version(spark: SparkSession, path: str, version: int) -> DataFrame:
    """The Delta table at ``path`` as of ``version``. The newest version is read as the
    table itself: time travel to it builds its snapshot again (Spark jobs, 0.5 to 1 s at
    1M rows), where the newest one is already in memory."""
    reader = spark.read.format("delta")
    if version != table_version(spark, path):
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def run_idempotent(
    spark: SparkSession, app_id: str, version: int, write: Callable[[], object]
) -> None:
    """Run a Delta write (a MERGE, say) at most once per (app_id, version).

    Delta records the pair in the commit and skips any later write that carries the same
    pair, so a micro-batch replayed after a crash does not apply twice. The pair is set on
    ``spark``, so ``write`` must run in that session: a MERGE of ``DeltaTable.forPath(spark,
    ...)`` does; a DataFrame write runs in the DataFrame's session (use ``append_once``).
    """
    spark.conf.set(TXN_APP_ID, app_id)
    spark.conf.set(TXN_VERSION, str(version))
    try:
        write()
    finally:
        spark.conf.unset(TXN_APP_ID)
        spark.conf.unset(TXN_VERSION)


def append_once(
    frame: DataFrame, path: str, guard: tuple[str, int] | None, metadata: str | None = None
) -> None:
    """Append ``frame`` to the Delta table at ``path``, at most once per ``guard`` (txn app
    id, version), with ``metadata`` as the commit's userMetadata.

    Both go in as writer options, not session settings: the write runs in the session of
    ``frame``, which inside foreachBatch is the stream's own clone of the session, where
    settings made on the outer session are not seen.
    """
    writer = frame.write.format("delta").mode("append")
    if guard is not None:
        writer = writer.option("txnAppId", guard[0]).option("txnVersion", str(guard[1]))
    if metadata is not None:
        writer = writer.option("userMetadata", metadata)
    writer.save(path)


MatchedClauses = Callable[[DeltaMergeBuilder], DeltaMergeBuilder]


def merge_then_append(
    spark: SparkSession,
    path: str,
    source: DataFrame,
    keys: tuple[str, str],
    matched: MatchedClauses,
    insert_when: Column,
    guard: tuple[str, int] | None = None,
    last_commit_metadata: str | None = None,
) -> int:
    """MERGE ``source`` into the table at ``path``: the WHEN MATCHED clauses that
    ``matched`` adds, then the source rows that match no target row and satisfy
    ``insert_when`` appended, in the table's columns (taken from the source by name).

    ``keys`` is (target column, source column) of the join. One MERGE with WHEN NOT MATCHED
    joins the source *outer* with the whole target, so Spark shuffles every target row with
    all its columns, which made a 1% change cost a third of a full run. Matched clauses
    alone need only an inner join, which broadcasts a small source; the rows to insert are
    found first with a join on the key column only. That is two commits, the matched
    changes then the inserts, each its own whole consistent table version (as if the batch
    had come in two parts); nothing disappears in between.

    ``source`` is read several times (keys, matches, inserts): pass it persisted, and not
    derived from the target (a commit would make Spark rebuild it).
    ``guard`` (txn app id, version) makes each commit happen at most once, so a batch
    replayed after a crash between the two does not apply twice. ``last_commit_metadata``
    goes into the commit info of whichever commit comes last. Returns the number of
    source rows (counted in the same job that decides what to write).
    """
    target_key, source_key = keys
    target = DeltaTable.forPath(spark, path)
    source_keys = source.select(F.col(source_key).alias("_key"))
    table = target.toDF()
    # Checkpointed, not persisted: after a commit Spark rebuilds every cached plan that reads
    # the target, so a persisted lookup was planned and computed again after the MERGE (a
    # snapshot state rebuild and a second scan of the key column, 1 to 2 s at 1M rows per
    # upsert), and what the append then read was the lookup of the *new* table version.
    # A checkpoint keeps the rows found before the MERGE and no plan to rebuild.
    existing = (
        table.select(F.col(target_key).alias("_key")).join(source_keys, "_key", "left_semi")
    ).localCheckpoint(eager=False)
    key_match = F.col(source_key) == F.col("_key")
    found = F.col("_key").isNotNull()
    insertable = F.coalesce(insert_when, F.lit(False))
    try:
        # One job counts the source and says whether there is anything to MERGE and
        # anything to append. Each source row is joined with its key in the table, or null
        # when the id is new.
        flags = (
            source.join(existing, key_match, how="left")
            .agg(
                F.count(F.lit(1)).alias("rows"),
                F.count(F.col("_key")).alias("found"),
                F.max(~found & insertable).alias("inserts"),
            )
            .first()
        )
        found_rows = int(flags["found"]) if flags else 0
        inserts = bool(flags and flags["inserts"])
        app, version = guard if guard else (None, 0)
        if found_rows:
            merge = matched(
                target.alias("t").merge(source.alias("s"), f"t.{target_key} = s.{source_key}")
            )
            _commit(spark, app, version, merge.execute, None if inserts else last_commit_metadata)
        if inserts:
            new_rows = _rows_to_append(source, existing, key_match, found, insertable, found_rows)
            append_once(
                new_rows.select(
                    *[F.col(f.name).cast(f.dataType).alias(f.name) for f in table.schema.fields]
                ),
                path,
                (f"{app}:inserts", version) if app else None,
                last_commit_metadata,
            )
    finally:
        _release_checkpoint(existing)
    return int(flags["rows"]) if flags else 0


# Up to this many keys found, the lookup is broadcast to the append's join. A checkpoint
# has no size statistics of its own (Spark keeps the estimate of the plan it came from, the
# target's whole key column), so without the hint a large table would make Spark shuffle
# every source row with all its columns to join them with a few found keys.
_BROADCAST_LOOKUP_ROWS = 200_000


def _rows_to_append(
    source: DataFrame,
    existing: DataFrame,
    key_match: Column,
    found: Column,
    insertable: Column,
    found_rows: int,
) -> DataFrame:
    """The source rows whose key is not in the table and that ``insertable`` lets in."""
    if found_rows == 0:  # no key of the source is in the table (a first load): no join
        return source.filter(insertable)
    lookup = F.broadcast(existing) if found_rows <= _BROADCAST_LOOKUP_ROWS else existing
    return source.join(lookup, key_match, how="left").filter(~found & insertable)


def _release_checkpoint(frame: DataFrame) -> None:
    """Drop the blocks of a local checkpoint now rather than when the JVM collects it."""
    frame._jdf.queryExecution().logical().rdd().unpersist(False)


def _commit(
    spark: SparkSession,
    app: str | None,
    version: int,
    write: Callable[[], object],
    metadata: str | None,
) -> None:
    if metadata is not None:
        spark.conf.set(USER_METADATA, metadata)
    try:
        if app is None:
            write()
        else:
            run_idempotent(spark, app, version, write)
    finally:
        if metadata is not None:
            spark.conf.unset(USER_METADATA)


def commit_marker(spark: SparkSession, path: str, metadata: str, value: str) -> None:
    """A commit that changes no row and carries ``metadata`` as its userMetadata: a stage
    whose run changed nothing still records what it consumed, or it would redo the same
    work on every run. It sets the table property ``heritage.marker`` to ``value``."""
    spark.conf.set(USER_METADATA, metadata)
    try:
        quoted = value.replace("'", "")
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('heritage.marker' = '{quoted}')")
    finally:
        spark.conf.unset(USER_METADATA)


def add_missing_columns(spark: SparkSession, path: str, schema: StructType) -> list[str]:
    """Add to the existing table at ``path`` the columns of ``schema`` it lacks, each in
    its place in ``schema`` (after the column before it), so a table created before a
    column was added ends with the schema a new one has. Returns the names added.

    The table's schema is read from its Delta log on the driver, no Spark job: nothing is
    written, and nothing read beyond the log, when no column is missing. Only nullable
    columns can be added (the rows already there have no value for them).
    """
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    none = jvm.scala.Option.empty()
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    current = StructType.fromJson(json.loads(delta_log.update(False, none, none).schema().json()))
    missing = missing_columns(current, schema)
    if not missing:
        return []
    not_nullable = [column for column, _ in missing if not column.nullable]
    if not_nullable:
        names = ", ".join(column.name for column in not_nullable)
        raise ValueError(f"{path} lacks columns that may not hold null: {names}")
    additions = ", ".join(
        f"`{column.name}` {column.dataType.simpleString()}"
        + (f" AFTER `{after}`" if after else " FIRST")
        for column, after in missing
    )
    spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({additions})")
    return [column.name for column, _ in missing]


def missing_columns(
    current: StructType, schema: StructType
) -> list[tuple[StructField, str | None]]:
    """The fields of ``schema`` that ``current`` lacks, each with the name of the column it
    goes after (None: first), in the order of ``schema``."""
    present = set(current.fieldNames())
    missing = []
    before: str | None = None
    for field in schema.fields:
        if field.name not in present:
            missing.append((field, before))
        before = field.name
    return missing
