"""The common record contract at the parsing layer: what a producer can know, before it
publishes, about how the cleanse stage will judge a record.

Pure functions only: no I/O.

- :func:`record_shape_problems`: the JSON-type problems of the common record's fields
  (:data:`heritage.record_model.COMMON_RECORD_FIELDS`), so a mapper's slip is named at once;
  other keys are ignored and a JSON ``null`` counts as absent, as the cleanse stage reads it.
  The OCR fields have shapes but no rule: cleanse drops a malformed one, never the record.
- :class:`CommonRecord`: the common record as a Pydantic model: the fields cleanse reads,
  their types, and the rules (required fields, object types, rights and language
  vocabularies, date forms) that decide whether cleanse keeps it.
- :func:`classify_record` / :func:`classify_envelope`: cleanse's verdict and reasons for one
  message, equal to the Spark stage's (tests/spark_apps/test_contract_parity.py), cheap
  enough for every producer to run on every record it publishes.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from heritage.record_model import COMMON_RECORD_FIELDS, MAX_OCR_TEXT, OBJECT_TYPES, Envelope
from heritage.rights import CANONICAL_RIGHTS_PATTERN, LEGACY_EUROPEANA_RIGHTS

# The JSON shape of each common record field, from the type its description starts with:
# "string", "strings" (a list of strings), "strings by language" (an object whose values are
# lists of strings), "number" (not a boolean) or "objects" (a list of JSON objects).
_STRING = "string"
_STRINGS = "strings"
_STRINGS_BY_LANGUAGE = "strings by language"
_NUMBER = "number"
_OBJECTS = "objects"
_SHAPE_BY_TYPE = {
    "str": _STRING,
    "list[str]": _STRINGS,
    "dict[str, list[str]]": _STRINGS_BY_LANGUAGE,
    "number": _NUMBER,
    "int": _NUMBER,
    "list[object]": _OBJECTS,
}

FIELD_SHAPES: dict[str, str] = {
    name: _SHAPE_BY_TYPE[description.partition(":")[0].strip()]
    for name, description in COMMON_RECORD_FIELDS.items()
}

_EXPECTED = {
    _STRING: "a string",
    _STRINGS: "a list of strings",
    _STRINGS_BY_LANGUAGE: "an object of lists of strings by language code",
    _NUMBER: "a number",
    _OBJECTS: "a list of objects",
}


def json_type_name(value: object) -> str:
    """The JSON type of a parsed JSON value, with its article: "a number", "an object"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__} (not JSON)"


def _strings_problem(values: object) -> str | None:
    """Why ``values`` is not a list of strings (null elements are allowed), or None."""
    if not isinstance(values, list | tuple):
        return f"is {json_type_name(values)}"
    for index, value in enumerate(values):
        if value is not None and not isinstance(value, str):
            return f"holds {json_type_name(value)} at position {index}"
    return None


def _objects_problem(values: object) -> str | None:
    """Why ``values`` is not a list of JSON objects (null elements are not), or None."""
    if not isinstance(values, list | tuple):
        return f"is {json_type_name(values)}"
    for index, value in enumerate(values):
        if not isinstance(value, Mapping):
            return f"holds {json_type_name(value)} at position {index}"
    return None


def _field_problem(shape: str, value: object) -> str | None:
    if shape == _STRING:
        return None if isinstance(value, str) else f"is {json_type_name(value)}"
    if shape == _STRINGS:
        return _strings_problem(value)
    if shape == _NUMBER:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else f"is {json_type_name(value)}"
    if shape == _OBJECTS:
        return _objects_problem(value)
    if not isinstance(value, Mapping):
        return f"is {json_type_name(value)}"
    for language, values in value.items():
        if values is None:
            continue
        problem = _strings_problem(values)
        if problem:
            return f"{problem} under {language!r}"
    return None


def record_shape_problems(item: Mapping[str, Any]) -> list[str]:
    """The JSON-type problems of a common record's fields, one line each; empty when its
    shape is right. Total: any parsed JSON value is accepted and never raises."""
    if not isinstance(item, Mapping):
        return [f"item is {json_type_name(item)}, expected a JSON object"]
    problems = []
    for name, shape in FIELD_SHAPES.items():
        value = item.get(name)
        if value is None:
            continue
        problem = _field_problem(shape, value)
        if problem:
            problems.append(f"field {name!r} {problem}, expected {_EXPECTED[shape]}")
    text = item.get("ocr_text")
    if isinstance(text, str) and len(text) > MAX_OCR_TEXT:
        problems.append(
            f"field 'ocr_text' holds {len(text):,} characters, at most {MAX_OCR_TEXT:,} expected"
        )
    return problems


# --- The cleanse stage's verdict, in Python ---------------------------------------------
#
# The rules below are those of spark-apps/record_validation.py (with_parsed_item,
# with_normalised_fields, with_rejection_reasons), read the way Spark reads them: a string
# field takes any JSON value as its JSON text, a list field that is not a list is null,
# `trim` removes spaces only, regular expressions follow java.util.regex (ASCII `\d` and
# `\s`, `$` also before a final line terminator) and dates follow Spark's parsers. A rule
# changed there must change here; tests/spark_apps/test_contract_parity.py holds them equal.

# java.util.regex `$` without MULTILINE: the end, or before a line terminator that ends it.
_JAVA_END = r"(?:\r\n|[\n\r\u0085\u2028\u2029])?\Z"
# java.util.regex `.`: any character but a line terminator.
_JAVA_DOT = r"[^\n\r\u0085\u2028\u2029]"
_JAVA_SPACE = r"[ \t\n\x0b\f\r]"

_LANGUAGE_CODE = re.compile(rf"[a-z]{{2,3}}{_JAVA_END}")
_HTTP_URL = re.compile(r"https?://[^ \t\n\x0b\f\r/]")
_YEAR = re.compile(rf"[0-9]{{4}}{_JAVA_END}")
_CIRCA = re.compile(
    rf"(?:c\.?|ca\.?|circa|um|vers|hacia){_JAVA_SPACE}*([0-9]{{4}}){_JAVA_END}", re.I | re.A
)
_RANGE = re.compile(rf"([0-9]{{4}}){_JAVA_SPACE}*[-\u2013/]{_JAVA_SPACE}*([0-9]{{4}}){_JAVA_END}")
_DAY = re.compile(rf"([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}}){_JAVA_END}")
_DAY_FIRST = re.compile(rf"([0-9]{{2}})/([0-9]{{2}})/([0-9]{{4}}){_JAVA_END}")
_ISO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_YEAR_STRICT = re.compile(r"[0-9]{4}")
_DAY_STRICT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAY_FIRST_STRICT = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")

_RIGHTS_SCHEME = re.compile(r"^https?://(www\.)?", re.I | re.A)
_RIGHTS_QUERY = re.compile(rf"[?#]{_JAVA_DOT}*(?={_JAVA_END})")
_RIGHTS_DEED = re.compile(rf"/(deed|legalcode)(\.[a-zA-Z_-]+)?(?={_JAVA_END})")
_RIGHTS_PAGE = re.compile(rf"rightsstatements{_JAVA_DOT}org/page/")
_RIGHTS_CANONICAL = re.compile(CANONICAL_RIGHTS_PATTERN.removesuffix("$") + _JAVA_END)


def _spark_trim(value: str) -> str:
    """Spark's `trim`: spaces only, not tabs or line breaks."""
    return value.strip(" ")


def _json_text(value: object) -> str:
    """What Spark's JSON reader puts in a string field for a non-string JSON value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _spark_string(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _json_text(value)


def _spark_strings(value: object) -> list[str | None] | None:
    if not isinstance(value, list):
        return None
    if all(type(v) is str for v in value):
        return value  # the usual case: nothing to convert
    return [_spark_string(v) for v in value]


def _spark_strings_by_language(value: object) -> dict[str, list[str | None] | None] | None:
    if not isinstance(value, Mapping):
        return None
    if any(v is not None and not isinstance(v, list) for v in value.values()):
        return None
    return {str(k): _spark_strings(v) for k, v in value.items()}


@functools.lru_cache(maxsize=4096)
def spark_canonical_rights(uri: str) -> str | None:
    """record_validation.canonical_rights as Spark evaluates it (None if unknown). Unlike
    :func:`heritage.rights.canonical_rights_uri` it trims spaces only, as Spark does."""
    text = _RIGHTS_SCHEME.sub("http://", _spark_trim(uri), count=1)
    text = _RIGHTS_QUERY.sub("", text)
    text = _RIGHTS_DEED.sub("/", text)
    text = _RIGHTS_PAGE.sub("rightsstatements.org/vocab/", text)
    if not text.endswith("/"):
        text += "/"
    www = "http://www." + text.removeprefix("http://") if text.startswith("http://") else text
    candidate = LEGACY_EUROPEANA_RIGHTS.get(www) or text
    return candidate if _RIGHTS_CANONICAL.match(candidate) else None


def _is_calendar_day(year: int, month: int, day: int) -> bool:
    """A proleptic Gregorian day, year 0 included (Spark accepts it; Python's date does
    not: year 0 is a leap year like 2000)."""
    if not 1 <= month <= 12 or day < 1:
        return False
    return day <= calendar.monthrange(year or 2000, month)[1]


# java.time.ZoneId.SHORT_IDS, which Spark accepts as zone ids.
_SHORT_ZONE_IDS = frozenset(
    ("ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT", "ECT",
     "IET", "IST", "JST", "MIT", "NET", "NST", "PLT", "PNT", "PRT", "PST", "SST", "VST", "EST",
     "MST", "HST")
)  # fmt: skip
_OFFSET = re.compile(r"[+-](\d)|[+-](\d\d)(?::?(\d\d)(?::?(\d\d))?)?", re.A)
_REGION_ID = re.compile(r"[A-Za-z][A-Za-z0-9~/._+-]+")


def _is_zone_offset(text: str) -> bool:
    """java.time.ZoneOffset.of: +h, +hh, +hh:mm, +hhmm, +hh:mm:ss, +hhmmss up to 18:00."""
    if len(text) not in (2, 3, 5, 6, 7, 9):
        return False
    match = _OFFSET.fullmatch(text)
    if not match or (len(text) == 6 and text[3] != ":") or (len(text) == 9 and text[6] != ":"):
        return False
    if len(text) in (5, 7) and ":" in text:
        return False
    hours = int(match.group(1) or match.group(2))
    minutes, seconds = int(match.group(3) or 0), int(match.group(4) or 0)
    return (
        hours <= 18 and minutes <= 59 and seconds <= 59 and (hours, minutes, seconds) <= (18, 0, 0)
    )


def _is_zone_id(zone: str) -> bool:
    """Spark's DateTimeUtils.getZoneId accepts ``zone`` (java.time.ZoneId.of with SHORT_IDS)."""
    zone = re.sub(r"(\+|-)(\d):", r"\g<1>0\2:", zone, count=1, flags=re.A)
    zone = re.sub(r"(\+|-)(\d\d):(\d)$", r"\1\2:0\3", zone, count=1, flags=re.A)
    if zone in _SHORT_ZONE_IDS or zone in ("Z", "UTC", "GMT", "UT"):
        return True
    if zone.startswith(("+", "-")):
        return _is_zone_offset(zone)
    for prefix in ("UTC", "GMT", "UT"):
        if zone.startswith(prefix) and zone[len(prefix) : len(prefix) + 1] in ("+", "-"):
            return _is_zone_offset(zone[len(prefix) :])
    return bool(_REGION_ID.fullmatch(zone)) and zone in _region_ids()


@functools.cache
def _region_ids() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# What java.lang.String.trim removes, and what Spark's timestamp parser trims.
_JAVA_TRIMMED = "".join(chr(c) for c in range(33))
_SPARK_TIMESTAMP_TRIMMED = _JAVA_TRIMMED + "\x7f"


def _spark_trim_all(text: str) -> str:
    """Spark's timestamp parser trims ASCII whitespace and control characters."""
    return text.strip(_SPARK_TIMESTAMP_TRIMMED)


def spark_timestamp_parses(text: str) -> bool:
    """Spark's cast of a string to a timestamp (DateTimeUtils.stringToTimestamp) gives a
    value for ``text``, for the inputs date_bounds hands it (``yyyy-MM-ddT...``)."""
    text = _spark_trim_all(text)
    match = re.match(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T", text)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    if not _is_calendar_day(year, month, day):
        return False
    rest = text[match.end() :]
    time = re.match(r"([0-9]{1,2})(?::([0-9]{1,2})(?::([0-9]{1,2})(\.[0-9]*)?)?)?", rest, re.A)
    if not time:
        return False
    zone = rest[time.end() :]
    if zone and (time.group(3) is None or zone[0].isdigit()):
        return False  # a zone may only follow the seconds or their fraction
    hour, minute, second = (int(g or 0) for g in time.group(1, 2, 3))
    if hour > 23 or minute > 59 or second > 59:
        return False
    return not zone or _is_zone_id(zone.strip(_JAVA_TRIMMED))


@functools.lru_cache(maxsize=16384)
def date_start_known(original: str) -> bool:
    """record_validation.date_bounds gives a start date for ``original``. Each form is
    picked by a java.util.regex test and then parsed strictly, so "1665\\n" is picked as a
    year and fails as one, just as in Spark."""
    text = _spark_trim(original)
    if _YEAR.match(text):
        return _YEAR_STRICT.fullmatch(text) is not None
    if _CIRCA.match(text) or _RANGE.match(text):
        return True  # the four digits extracted always make a year
    if _DAY.match(text):
        day = _DAY_STRICT.fullmatch(text)
        return day is not None and _is_calendar_day(*(int(g) for g in day.groups()))
    if _DAY_FIRST.match(text):
        day_first = _DAY_FIRST_STRICT.fullmatch(text)
        if day_first is None:
            return False
        d, m, y = (int(g) for g in day_first.groups())
        return _is_calendar_day(y, m, d)
    if _ISO_TIMESTAMP.match(text):
        return spark_timestamp_parses(text)
    return False


@functools.lru_cache(maxsize=4096)
def is_language_code(value: str) -> bool:
    """The language rule of cleanse, on a value already trimmed and lower-cased."""
    return bool(_LANGUAGE_CODE.match(value))


def _json_object(value: object) -> Mapping[str, Any] | None:
    """The common record as cleanse finds it: a JSON object, or a string holding one (the
    raw stage keeps payloads as text); None for anything else (XML, a truncated payload)."""
    if type(value) is dict or isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


Strings = list[str | None] | None

_OBJECT_TYPE_SET = frozenset(OBJECT_TYPES)
# How Spark's JSON reader fills each field the cleanse stage reads (EUROPEANA_ITEM).
_SPARK_READERS: dict[str, Callable[[object], Any]] = {
    "id": _spark_string,
    "type": _spark_string,
    "timestamp_update": _spark_string,
    "embargo_until": _spark_string,
    "embargo_zone": _spark_string,
    "embargo_rule": _spark_string,
    "embargo_end_utc": _spark_string,
    "dcTitleLangAware": _spark_strings_by_language,
    **dict.fromkeys(
        (
            "title",
            "dcCreator",
            "dcDescription",
            "dcDate",
            "year",
            "rights",
            "edmIsShownBy",
            "dataProvider",
            "provider",
            "country",
            "language",
        ),
        _spark_strings,
    ),
}


def _read_text(value: object) -> str | None:
    """One element of a string list as Spark reads it."""
    if value is None or type(value) is str:
        return value
    return _json_text(value)


def first_nonblank(values: object) -> str | None:
    """record_validation.first_nonblank of a list field as Spark reads it: the first value
    not blank, trimmed; None if none, or when the field is not a list."""
    if not isinstance(values, list):
        return None
    if values:
        first = values[0]
        # The usual case, cheaply: a first value that is a string with no spaces around it.
        if type(first) is str and first and first[0] != " " and first[-1] != " ":
            return first
    for value in values:
        text = _read_text(value)
        if text is not None:
            text = _spark_trim(text)
            if text:
                return text
    return None


def title_text(title: object, by_language: object) -> str | None:
    """cleanse's ``title``: the first title, else the first title of any language."""
    found = first_nonblank(title)
    if found is not None or not by_language or not isinstance(by_language, Mapping):
        return found
    titles = by_language.values()
    if not all(isinstance(values, list) for values in titles):
        # A language without a list makes the whole map null (not a list) or Spark's
        # flatten null (a null list).
        return None
    return first_nonblank([v for values in titles for v in values])


def object_type(value: object) -> str | None:
    """cleanse's ``object_type``: trimmed and upper-cased."""
    if type(value) is str and value in _OBJECT_TYPE_SET:
        return value
    text = _read_text(value)
    return None if text is None else _spark_trim(text).upper()


def first_bad_language(languages: object) -> str | None:
    """The first language that is not an ISO 639 code, trimmed and lower-cased."""
    if not isinstance(languages, list):
        return None
    for value in languages:
        text = _read_text(value)
        if text is not None:
            code = _spark_trim(text).lower()
            if not is_language_code(code):
                return code
    return None


def cleanse_reasons(item: Mapping[str, Any], identified: bool = True) -> list[str]:
    """Every reason cleanse rejects a record for, in cleanse's order (empty: valid).

    ``item`` is the record's JSON object as it is, or as :class:`CommonRecord` read it:
    each rule reads a field the way Spark's JSON reader does. ``identified`` is False for a
    record keyed ``<source>:unidentified:<hash>``.
    """
    get = item.get
    reasons = []
    if not identified or get("id") is None:
        reasons.append(
            "record has no id: a Europeana item needs `id` of the form /DATASET/LOCAL_ID"
        )
    if title_text(get("title"), get("dcTitleLangAware")) is None:
        reasons.append("no title in `title` or `dcTitleLangAware`")
    if first_nonblank(get("dataProvider")) is None:
        reasons.append("no `dataProvider`")
    kind = get("type")
    if object_type(kind) not in OBJECT_TYPES:
        shown = _read_text(kind) or ""
        reasons.append(f"type '{shown}' is not one of {', '.join(OBJECT_TYPES)}")
    rights = first_nonblank(get("rights"))
    if rights is None:
        reasons.append("no `rights` statement")
    elif spark_canonical_rights(rights) is None:
        reasons.append(
            f"rights '{rights}' is not a rightsstatements.org or creativecommons.org URI"
        )
    image_url = first_nonblank(get("edmIsShownBy"))
    if image_url is not None and not _HTTP_URL.match(image_url):
        reasons.append(f"edmIsShownBy '{image_url}' is not an http(s) URL")
    date = first_nonblank(get("dcDate")) or first_nonblank(get("year"))
    if date is not None and not date_start_known(date):
        reasons.append(f"date '{date}' is not a recognised date")
    bad_language = first_bad_language(get("language"))
    if bad_language is not None:
        reasons.append(f"language '{bad_language}' is not an ISO 639 code")
    return reasons + embargo_reasons(item)


# record_validation.EMBARGO_RULES and _INSTANT_WITH_OFFSET.
EMBARGO_RULES = ("instant", "through_named_day", "through_named_month", "through_named_year")
_INSTANT_WITH_OFFSET = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    rf"(Z|[+-][0-9]{{2}}:?[0-9]{{2}}){_JAVA_END}"
)


def _nonblank(value: object) -> str | None:
    """record_validation's blank-to-null of a string field, as Spark reads it."""
    text = _spark_string(value)
    if text is None:
        return None
    return _spark_trim(text) or None


def embargo_reasons(item: Mapping[str, Any]) -> list[str]:
    """record_validation.embargo_reasons: an embargo the producer sent that cannot be used."""
    until = _nonblank(item.get("embargo_until"))
    end = _nonblank(item.get("embargo_end_utc"))
    rule = _nonblank(item.get("embargo_rule"))
    reasons = []
    if until is not None and end is None:
        reasons.append(
            f"embargo_until '{until}' has no embargo_end_utc: producers convert it with"
            " heritage.embargo_time"
        )
    if end is not None and not (_INSTANT_WITH_OFFSET.match(end) and spark_timestamp_parses(end)):
        reasons.append(
            f"embargo_end_utc '{end}' is not an ISO 8601 instant with its offset"
            " (2031-01-01T00:00:00Z)"
        )
    if end is not None and rule not in EMBARGO_RULES:
        reasons.append(f"embargo_rule '{rule or ''}' is not one of {', '.join(EMBARGO_RULES)}")
    return reasons


class CommonRecord(BaseModel):
    """The common record (COMMON_RECORD_FIELDS, plus Europeana's ``year``) as the cleanse
    stage reads it, with the rules that decide whether cleanse keeps it.

    Built from any JSON object; values are read the way Spark's JSON reader fills the
    stage's schema (a number in a string field is its JSON text, a list field that is not a
    list is absent), so :meth:`rejection_reasons` gives cleanse's reasons, in its order.
    Every producer's check, :func:`classify_record`, goes through it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    # The source's own identifier; required.
    id: str | None = None
    # One of OBJECT_TYPES after trimming and upper-casing; required.
    type: str | None = None
    # Titles, preferred first; a title here or in dcTitleLangAware is required.
    title: Strings = None
    # Titles by ISO 639 language code.
    dcTitleLangAware: dict[str, Strings] | None = None
    dcCreator: Strings = None
    dcDescription: Strings = None
    # Dates as written; the first non-blank one must be a form date_bounds understands.
    dcDate: Strings = None
    # Europeana's year facet: the date when dcDate has none.
    year: Strings = None
    # Rights statement URIs; the first must be a rightsstatements.org or creativecommons.org
    # statement (canonical or a known legacy form); required.
    rights: Strings = None
    # URLs of the digital object; the first must be http(s).
    edmIsShownBy: Strings = None
    # The institution holding the object; required.
    dataProvider: Strings = None
    provider: Strings = None
    country: Strings = None
    # ISO 639 codes: two or three letters once trimmed and lower-cased.
    language: Strings = None
    # ISO 8601 time of the source's last change.
    timestamp_update: str | None = None
    # The embargo as the producer converted it (heritage.embargo_time): the verbatim end,
    # its zone and rule, and the UTC instant with its offset; an end needs a known rule.
    embargo_until: str | None = None
    embargo_zone: str | None = None
    embargo_rule: str | None = None
    embargo_end_utc: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_as_spark_does(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"item is {json_type_name(data)}, expected a JSON object")
        return {
            name: reader(data[name])
            for name, reader in _SPARK_READERS.items()
            if data.get(name) is not None
        }

    @property
    def title_text(self) -> str | None:
        return title_text(self.title, self.dcTitleLangAware)

    @property
    def object_type(self) -> str | None:
        return object_type(self.type)

    def rejection_reasons(self, identified: bool = True) -> list[str]:
        """Every reason cleanse rejects this record for, in cleanse's order (empty: valid)."""
        return cleanse_reasons(dict(self), identified)


@dataclass(frozen=True)
class RecordVerdict:
    """Whether the cleanse stage will keep a record, and every reason when it will not."""

    valid: bool
    reasons: tuple[str, ...] = ()


VALID = RecordVerdict(True)


def _rejected(*reasons: str) -> RecordVerdict:
    return RecordVerdict(False, reasons)


def classify_record(record_id: str, record: Any, deleted: bool = False) -> RecordVerdict:
    """The cleanse stage's verdict on one message: ``record`` is what cleanse reads (the
    envelope's ``record``, or its ``payload`` when there is none). Pure and total."""
    identified = isinstance(record_id, str) and ":unidentified:" not in record_id
    if deleted and identified:
        return VALID  # a tombstone needs only the id of what it deletes
    if not isinstance(record_id, str):
        return _rejected("message is not a heritage envelope (JSON with record_id, payload)")
    if deleted:
        return _rejected("deletion without a usable record id")
    item = _json_object(record)
    if item is None:
        return _rejected("payload is not a JSON object (truncated, or not JSON)")
    reasons = CommonRecord.model_validate(item).rejection_reasons(identified)
    return RecordVerdict(not reasons, tuple(reasons))


def classify_envelope(envelope: Envelope) -> RecordVerdict:
    """:func:`classify_record` of what a published envelope gives cleanse to read."""
    record = envelope.record if envelope.record is not None else envelope.payload
    return classify_record(envelope.record_id, record, envelope.deleted)
