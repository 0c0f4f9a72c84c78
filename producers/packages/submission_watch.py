"""``heritage ingest watch``: packages dropped under the ``submissions/`` prefix of the object
store go through the workflow.

Each poll lists the objects directly under the prefix (one object = one package: a zip, a
tarball, a gzip; a bag is uploaded inside one of these), downloads them, runs the workflow on
them in the order of their keys, and then deletes each processed object: the package is then
in the store, or in the quarantine, and its events say which. A watcher killed before the
delete finds the object again: the rerun finds the stored version (a duplicate) and deletes
it then. Objects still being uploaded are not listed (S3 shows an object once it is whole).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from heritage.object_store import ensure_bucket, object_store_client
from heritage.producers.packages.package_examination import ExaminationConfig
from heritage.producers.packages.package_workflow import IngestReport, ingest_packages
from heritage.stage_contract import StageContext

log = logging.getLogger(__name__)


def pending_submissions(context: StageContext) -> list[str]:
    """Keys of the objects waiting directly under the submissions prefix, sorted."""
    client = object_store_client(context.settings)
    prefix = f"{context.layout.submissions_prefix}/"
    return sorted(
        item.object_name
        for item in client.list_objects(context.settings.bucket, prefix=prefix)
        if item.object_name and not item.is_dir
    )


def ingest_submissions_once(
    context: StageContext, config: ExaminationConfig, workers: int = 1
) -> IngestReport | None:
    """One poll: ingest what is waiting; None when nothing was."""
    ensure_bucket(context.settings)
    keys = pending_submissions(context)
    if not keys:
        return None
    client = object_store_client(context.settings)
    with tempfile.TemporaryDirectory(prefix="heritage-submissions-") as folder:
        paths = []
        for index, key in enumerate(keys):
            # One folder per object: two keys may end in the same file name.
            target = Path(folder, str(index), key.rsplit("/", 1)[-1])
            client.fget_object(context.settings.bucket, key, str(target))
            paths.append(target)
        report = ingest_packages(context, paths, config, workers)
    for key in keys:
        client.remove_object(context.settings.bucket, key)
    return report


def watch_submissions(
    context: StageContext,
    config: ExaminationConfig,
    interval_s: float,
    workers: int = 1,
    on_report: Callable[[IngestReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll every ``interval_s`` seconds until ``should_stop`` (or Ctrl-C)."""
    while not should_stop():
        report = ingest_submissions_once(context, config, workers)
        if report is not None:
            log.info("submissions ingested", extra={"summary": report.summary()})
            if on_report is not None:
                on_report(report)
        time.sleep(interval_s)
