"""When a failed image is due again: the one backoff rule the fetch and the ml stage share."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def retry_due_at(
    attempts: Column, last_attempt_at: Column, retry_after_s: float, retry_cap_s: float
) -> Column:
    """Unix time a failed image may be fetched again: ``retry_after_s * 2^(attempts-1)``
    after its last attempt, the wait capped at ``retry_cap_s``."""
    wait = F.least(
        F.lit(float(retry_cap_s)),
        F.lit(float(retry_after_s)) * F.pow(F.lit(2.0), attempts - 1),
    )
    return F.unix_timestamp(last_attempt_at) + wait
