"""A stored package version as a record of the common model, for ``heritage.records``. Pure.

The record is keyed ``package:<package_id>``, its payload is the version's manifest without
the storage details (metadata, version, and per file the path, size, sha256 and format), so
each new version of a package is a new content hash and flows through cleanse, curate and
the export like any other record. The text read from its images and PDFs, and the fields
found in it, are the record's OCR fields. Fields the package does not give stay absent: cleanse
then dead-letters the record with its reasons rather than publishing invented values.

The embargo: the PREMIS rights granted that withhold making the object available
(:func:`~heritage.producers.packages.mets_rights.restriction_end`, which also says how an
``OPEN`` end is read); with several, the one that ends last. Ends are read in the data
provider's zone from the publication policy (PREMIS declares none). The examination checks
them first (:func:`package_embargo_fields`), so a package whose end is no date is
quarantined with the reason and never stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from heritage.ocr.ocr_results import record_ocr
from heritage.producers.embargo_inputs import latest_end_fields, source_embargo_end
from heritage.producers.metadata_mapping import iso639_language
from heritage.producers.packages.mets_rights import RightsStatement, restriction_end
from heritage.publication_settings import PublicationPolicy
from heritage.record_model import SourceRecord

SOURCE = "package"
# MIME top-level type -> Europeana object type; anything else counts as TEXT.
_TYPE_BY_MIME = {"image": "IMAGE", "audio": "SOUND", "video": "VIDEO", "model": "3D"}


def package_record_id(package_id: str) -> str:
    return f"{SOURCE}:{package_id}"


def object_type(files: Sequence[Mapping[str, Any]]) -> str:
    """The Europeana type most of the package's (non-container) files have, by MIME type;
    TEXT when none is known (documents, theses, finding aids)."""
    kinds = Counter(
        _TYPE_BY_MIME.get(str(item.get("mime") or "").partition("/")[0], "TEXT")
        for item in files
        if not item.get("container")
    )
    if not kinds:
        return "TEXT"
    top = max(kinds.values())
    # Ties go to TEXT (a thesis with as many figures as text files is a text).
    return "TEXT" if kinds.get("TEXT") == top else kinds.most_common(1)[0][0]


def package_embargo_fields(
    metadata: Mapping[str, Any], package_id: str, policy: PublicationPolicy
) -> dict[str, str]:
    """The embargo fields of a package from its metadata's ``rights_statements`` (as the
    examination stores them); raises EmbargoDateError naming the package and the right."""
    provider = str(metadata["data_provider"]) if metadata.get("data_provider") else None
    ends = []
    for statement in _rights_statements(metadata.get("rights_statements")):
        end = restriction_end(statement)
        where = (
            f"package {package_id!r} PREMIS rightsGranted (act {statement.act!r}, "
            f"restriction {statement.restriction!r}) endDate"
        )
        ends.append(source_embargo_end(end, policy, provider, None, where))
    return latest_end_fields(ends)


def _rights_statements(values: object) -> list[RightsStatement]:
    """RightsStatements back from their stored dicts (other keys ignored)."""
    names = RightsStatement.__dataclass_fields__
    statements = []
    for value in values if isinstance(values, list | tuple) else []:
        if isinstance(value, Mapping):
            known = {name: value.get(name) for name in names}
            statements.append(
                RightsStatement(**{k: str(v) if v is not None else None for k, v in known.items()})
            )
    return statements


def package_source_record(
    manifest: Mapping[str, Any], policy: PublicationPolicy | None = None
) -> SourceRecord:
    """The record of one stored version (its manifest, as the store event carries it);
    ``policy`` reads the embargo end (None: the built-in policy, UTC)."""
    metadata: Mapping[str, Any] = manifest.get("metadata") or {}
    files: Sequence[Mapping[str, Any]] = manifest.get("files") or []
    package_id = str(manifest["package_id"])
    record: dict[str, Any] = {"id": package_id, "type": object_type(files)}
    _put_list(record, "title", metadata.get("title"))
    _put_list(record, "dcCreator", metadata.get("names"))
    _put_list(record, "dcDate", metadata.get("dates"))
    _put_list(record, "rights", metadata.get("rights"))
    _put_list(
        record, "language", [iso639_language(str(v)) for v in metadata.get("languages") or []]
    )
    if metadata.get("data_provider"):
        record["dataProvider"] = [str(metadata["data_provider"])]
    if manifest.get("stored_at"):
        record["timestamp_update"] = str(manifest["stored_at"])
    record.update(package_embargo_fields(metadata, package_id, policy or PublicationPolicy()))
    record.update(
        record_ocr([(str(item["path"]), item["ocr"]) for item in files if item.get("ocr")])
    )
    payload = {
        "package_id": package_id,
        "version": manifest.get("version"),
        "fingerprint": manifest.get("fingerprint"),
        "metadata": dict(metadata),
        "files": [
            {key: item.get(key) for key in ("path", "size", "sha256", "puid", "mime")}
            for item in files
        ],
    }
    return SourceRecord(record_id=package_record_id(package_id), payload=payload, record=record)


def _put_list(record: dict[str, Any], field: str, values: object) -> None:
    if isinstance(values, list | tuple):
        kept = [str(value).strip() for value in values if str(value).strip()]
        if kept:
            record[field] = kept
