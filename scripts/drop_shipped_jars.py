"""Remove jars from a folder when the pyspark wheel already ships the same artifact.

Maven resolves Delta's, Kafka's and hadoop-aws's own (often older) versions of Jackson,
Parquet, Hadoop client, Scala and logging jars; two versions of a class on Spark's classpath
fail at run time in ways that are hard to trace, so the wheel's version wins.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyspark

_VERSION_SUFFIX = re.compile(r"-\d[\w.\-]*\.jar$")


def artifact_name(jar_file_name: str) -> str:
    """`jackson-core-2.13.5.jar` -> `jackson-core`."""
    return _VERSION_SUFFIX.sub("", jar_file_name)


def main(folder: str) -> None:
    shipped = {
        artifact_name(p.name) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")
    }
    for jar in sorted(Path(folder).glob("*.jar")):
        if artifact_name(jar.name) in shipped:
            jar.unlink()
    kept = sorted(p.name for p in Path(folder).glob("*.jar"))
    print(f"setup: kept {len(kept)} jars not shipped by pyspark: {', '.join(kept)}")


if __name__ == "__main__":
    main(sys.argv[1])
