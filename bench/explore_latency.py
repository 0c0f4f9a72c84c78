"""Benchmark of the explore page's queries on 1,000,000 records in PostgreSQL.

    python bench/explore_latency.py --records 1000000 --queries 300
    python bench/explore_latency.py --keep --database heritage_bench_explore_kept  # keep it
    python bench/explore_latency.py --database heritage_bench_explore_kept  # reuse, no reload

Creates a namespaced database on the running local stack (`heritage services up`), applies
the schema, COPYs N synthetic but realistic records (providers, types, rights, languages,
dates, titles in several languages, creators, descriptions, tags, duplicate groups,
annotation counts, object_images rows), ANALYZEs, then times page views of the explore page:
for each, the page's own queries with a random mix of search terms, facets and sort orders
(relevance for most), run as the read-only role through one connection, on the first page
or a later one: the match count, the facet counts and the page of results as the page
gets them (explore_counts.explore_results: the planner's estimate, then one pass over the
matches when at most 10,000 match, or a sample of the records and the page on its own
above that, the page walking its order's index a bounded length, else gathered and sorted).
A database named with --database that already holds records is reused as it is (its schema
brought up to date), so a kept one saves the load (about 3 minutes idle). The collection's
total and the facets' value lists, the same for every search and cached by the page, are
not timed. Prints p50/p95/p99 per page view and per sort.
Drops the database afterwards unless --keep. Goal: p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import date

import psycopg2
from psycopg2 import sql

from heritage.dashboard.connection_pool import READER_OPTIONS
from heritage.dashboard.explore_counts import explore_results
from heritage.dashboard.explorer_queries import ExploreFilters, Query
from heritage.postgres_db import apply_schema, connect
from heritage.services.stack import up

PAGE_SIZE = 20  # as explore_page.PAGE_SIZE
# Sort orders as curators pick them: relevance (the default) most of the time.
SORTS = (("relevance", 60), ("date", 10), ("date_desc", 10), ("title", 10), ("provider", 10))
PROVIDERS = (
    "Rijksmuseum", "Mauritshuis", "Nationalmuseum Sweden", "British Library",
    "Bibliothèque nationale de France", "Österreichische Nationalbibliothek", "Museo del Prado",
    "Staatliche Kunstsammlungen Dresden", "Finnish Heritage Agency", "National Library of Wales",
    "Polona", "Deutsche Digitale Bibliothek", "Wellcome Collection", "Het Nieuwe Instituut",
    "Musée des Arts Décoratifs", "Museo Galileo", "Statens Museum for Kunst", "KIK-IRPA",
    "National Gallery of Denmark", "Slovak National Gallery", "Czech National Library",
    "Archives nationales", "Nederlands Instituut voor Beeld en Geluid", "Europeana Sounds",
    "Royal Museums Greenwich", "Amsterdam Museum", "Landesarchiv Baden-Württemberg",
    "Museu Nacional d'Art de Catalunya", "Hungarian National Museum", "Jewish Museum London",
)  # fmt: skip
TYPES = (("IMAGE", 60), ("TEXT", 28), ("SOUND", 6), ("VIDEO", 4), ("3D", 2))
RIGHTS = (
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/licenses/by-sa/4.0/",
    "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "http://rightsstatements.org/vocab/InC-EDU/1.0/",
    "http://rightsstatements.org/vocab/NoC-NC/1.0/",
    "http://rightsstatements.org/vocab/CNE/1.0/",
)
# A subject, then its title in several languages.
SUBJECTS = {
    "portrait": {"en": "Portrait of a {who}", "nl": "Portret van een {who}",
                 "de": "Bildnis eines {who}", "fr": "Portrait d'un {who}"},
    "landscape": {"en": "Landscape with {what}", "nl": "Landschap met {what}",
                  "de": "Landschaft mit {what}", "it": "Paesaggio con {what}"},
    "still life": {"en": "Still life with {what}", "nl": "Stilleven met {what}",
                   "fr": "Nature morte aux {what}", "es": "Bodegón con {what}"},
    "map": {"en": "Map of {where}", "de": "Karte von {where}", "fr": "Carte de {where}",
            "pl": "Mapa {where}"},
    "letter": {"en": "Letter to {who}", "nl": "Brief aan {who}", "sv": "Brev till {who}"},
    "view": {"en": "View of {where}", "nl": "Gezicht op {where}", "it": "Veduta di {where}",
             "fi": "Näkymä {where}"},
    "recording": {"en": "Recording of a {what} song", "de": "Aufnahme eines {what} Liedes"},
    "photograph": {"en": "Photograph of {where}", "cs": "Fotografie {where}",
                   "hu": "Fénykép {where}"},
}  # fmt: skip
WHO = ("young woman", "man", "merchant", "scholar", "child", "nobleman", "sailor", "painter",
       "widow", "bishop", "musician", "family")  # fmt: skip
WHAT = ("flowers", "fruit", "windmills", "cows", "ruins", "skaters", "ships", "a river",
        "hunters", "oysters", "lemons", "a bridge", "folk", "dance")  # fmt: skip
WHERE = ("Amsterdam", "Haarlem", "Delft", "Vienna", "Paris", "Prague", "Kraków", "Helsinki",
         "Stockholm", "Seville", "Venice", "Antwerp", "London", "Budapest", "Lisbon", "Dresden",
         "Utrecht", "Bruges", "Rome", "Leiden")  # fmt: skip
FIRST = ("Johannes", "Rembrandt", "Jan", "Pieter", "Frans", "Anna", "Maria", "Judith", "Albrecht",
         "Carl", "Hendrick", "Gerard", "Rachel", "Clara", "Jacob", "Willem", "Élisabeth",
         "Giovanni", "Diego", "Helene", "Akseli", "Anders", "Zofia", "Katarzyna")  # fmt: skip
LAST = ("Vermeer", "van Rijn", "Steen", "de Hooch", "Hals", "Leyster", "Ruysch", "Dürer",
        "Larsson", "Avercamp", "Dou", "Claesz", "Heda", "Velázquez", "Canaletto", "Schjerfbeck",
        "Gallen-Kallela", "Zorn", "Boznańska", "Vigée Le Brun", "Cuyp", "Ruisdael", "Brueghel",
        "Kalf", "Potter", "Saenredam", "Wtewael", "Maes", "Bol", "Fabritius")  # fmt: skip
DESCRIPTIONS = (
    "Oil on panel; acquired {year} from a private collection.",
    "Engraving after a lost drawing, printed in {year}.",
    "Albumen print mounted on card; the studio stamp is on the verso.",
    "Manuscript on paper, in a later binding; provenance revised in {year}.",
    "Wax cylinder transferred to digital audio in {year}.",
    "Hand-coloured etching from an atlas; the coastline is drawn from older charts.",
)
TAGS = ("portrait", "winter", "ship", "flowers", "architecture", "religion", "children", "music")
LANGS = ("en", "nl", "de", "fr", "it", "es", "pl", "sv", "fi", "cs", "hu")
# Search terms as curators type them: common words, names, phrases, rare words.
SEARCHES = (
    "portrait", "landscape", "still life", '"still life"', "Vermeer", "Rembrandt", "Amsterdam",
    "windmills", "map Venice", "letter", "oysters lemons", "Schjerfbeck", "engraving",
    "Bildnis", "Portret", "Veduta", "manuscript binding", "Delft -map", "skaters", "Kraków",
    "cylinder", "Brueghel", "Gezicht Haarlem", "musician", "Velázquez",
)  # fmt: skip

OBJECT_COLUMNS = (
    "record_id", "source", "title", "titles", "creators", "description", "date_original",
    "date_start", "date_end", "object_type", "rights_uri", "image_url", "data_provider",
    "provider", "country", "languages", "content_hash", "ingested_at", "delta_version",
    "canonical_id", "tags", "annotation_count",
)  # fmt: skip


def pg_array(values: list[str]) -> str:
    """A PostgreSQL array literal, every element quoted."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def synthetic_rows(count: int, seed: int) -> Iterator[tuple[list[str], list[str] | None]]:
    """(objects row, object_images row or None) per record."""
    rng = random.Random(seed)
    provider_weights = [1 / (rank + 1) for rank in range(len(PROVIDERS))]  # Zipf-like
    type_names, type_weights = zip(*TYPES, strict=True)
    subjects = list(SUBJECTS)
    canonical_of_previous = ""
    for index in range(count):
        record_id = f"europeana:/{9000 + index % 997}/item_{index:08d}"
        subject = rng.choice(subjects)
        fill = {"who": rng.choice(WHO), "what": rng.choice(WHAT), "where": rng.choice(WHERE)}
        forms = SUBJECTS[subject]
        languages = rng.sample(sorted(forms), k=rng.randint(1, min(3, len(forms))))
        titles = {lang: [forms[lang].format(**fill)] for lang in languages}
        year = rng.randint(1450, 1950)
        creators = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(0, 2))]
        provider = rng.choices(PROVIDERS, provider_weights)[0]
        # About 3% of records duplicate the previous one (same canonical id).
        duplicate = index > 0 and rng.random() < 0.03
        canonical = canonical_of_previous if duplicate else record_id
        canonical_of_previous = canonical
        annotated = rng.random() < 0.02
        tags = rng.sample(TAGS, k=rng.randint(1, 2)) if annotated else []
        row = [
            record_id,
            "europeana",
            titles[languages[0]][0],
            json.dumps(titles, ensure_ascii=False),
            pg_array(creators),
            rng.choice(DESCRIPTIONS).format(year=rng.randint(1880, 2024)),
            f"ca. {year}" if rng.random() < 0.2 else str(year),
            date(year, 1, 1).isoformat(),
            date(year, 12, 31).isoformat(),
            rng.choices(type_names, type_weights)[0],
            rng.choice(RIGHTS),
            f"https://images.example.org/{index}.jpg",
            provider,
            "Europeana Foundation",
            rng.choice(("Netherlands", "Germany", "France", "Sweden", "Finland", "Poland")),
            pg_array(languages),
            f"{rng.getrandbits(64):016x}",
            "2026-01-01T00:00:00Z",
            "1",
            canonical,
            pg_array(tags),
            str(len(tags) + (1 if annotated and rng.random() < 0.5 else 0)),
        ]
        image = None
        if rng.random() < 0.8:
            sha = f"{rng.getrandbits(128):032x}"
            thumbnail = f"images/thumbnails/{sha}.jpg"
            image = [record_id, row[11], "stored", sha, thumbnail, "1", "2026-01-02T00:00:00Z"]
        yield row, image


# The explorer lists published objects only: one in twenty waits for a curator.
EMBARGOES_FROM_IDS = (
    "INSERT INTO heritage.embargoes (object_id, episode, state, state_version,"
    " embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, data_provider,"
    " updated_at) SELECT record_id, 1, CASE WHEN abs(hashtext(record_id)) % 20 = 0"
    " THEN 'pending_review' ELSE 'published' END, 4, '1970-01-01T00:00:00Z', '', 'UTC',"
    " 'none', rights_uri, data_provider, now() FROM bench_ids"
)


def load(connection: psycopg2.extensions.connection, records: int, seed: int) -> float:
    started = time.perf_counter()
    chunk = 100_000
    rows = synthetic_rows(records, seed)
    with connection.cursor() as cursor:
        done = 0
        while done < records:
            objects_buffer, images_buffer = io.StringIO(), io.StringIO()
            objects_csv, images_csv = csv.writer(objects_buffer), csv.writer(images_buffer)
            ids_buffer = io.StringIO()
            ids_csv = csv.writer(ids_buffer)
            for _ in range(min(chunk, records - done)):
                row, image = next(rows)
                objects_csv.writerow(row)
                ids_csv.writerow((row[0], row[10], row[12]))
                if image:
                    images_csv.writerow(image)
                done += 1
            objects_buffer.seek(0)
            images_buffer.seek(0)
            ids_buffer.seek(0)
            # Embargo states first, as the publication stage leaves them: the objects' rows
            # then take their published flag as they are written.
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_ids"
                " (record_id text, rights_uri text, data_provider text)"
            )
            cursor.copy_expert("COPY bench_ids FROM STDIN WITH (FORMAT csv)", ids_buffer)
            cursor.execute(EMBARGOES_FROM_IDS)
            cursor.execute("TRUNCATE bench_ids")
            cursor.copy_expert(
                sql.SQL("COPY heritage.objects ({}) FROM STDIN WITH (FORMAT csv)").format(
                    sql.SQL(", ").join(map(sql.Identifier, OBJECT_COLUMNS))
                ),
                objects_buffer,
            )
            cursor.copy_expert(
                "COPY heritage.object_images (record_id, image_url, status, sha256, "
                "thumbnail_key, attempts, last_attempt_at) FROM STDIN WITH (FORMAT csv)",
                images_buffer,
            )
            connection.commit()
            print(f"  loaded {done:,} records ({time.perf_counter() - started:.0f}s)", flush=True)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE heritage.objects")
        cursor.execute("VACUUM ANALYZE heritage.object_images")
        cursor.execute("VACUUM ANALYZE heritage.embargoes")
    return time.perf_counter() - started


def random_filters(rng: random.Random) -> ExploreFilters:
    """Most page views search; about half add one or two facets."""
    search = rng.choice(SEARCHES) if rng.random() < 0.85 else ""
    facets: dict[str, object] = {}
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        kind = rng.choice(("provider", "type", "rights", "language", "dates", "dup", "ann"))
        if kind == "provider":
            facets["providers"] = tuple(rng.sample(PROVIDERS[:12], k=rng.randint(1, 2)))
        elif kind == "type":
            facets["object_types"] = (rng.choice(("IMAGE", "TEXT", "SOUND")),)
        elif kind == "rights":
            facets["rights"] = tuple(rng.sample(RIGHTS, k=rng.randint(1, 3)))
        elif kind == "language":
            facets["languages"] = (rng.choice(LANGS),)
        elif kind == "dates":
            start = rng.randint(1450, 1900)
            facets["date_from"] = date(start, 1, 1)
            facets["date_to"] = date(start + rng.choice((10, 50, 100)), 12, 31)
        elif kind == "dup":
            facets["has_duplicates"] = True
        else:
            facets["has_annotations"] = True
    return ExploreFilters(search=search, **facets)  # type: ignore[arg-type]


def page_view(
    cursor: psycopg2.extensions.cursor, filters: ExploreFilters, sort: str, page: int
) -> None:
    """The queries of one explore page view that depend on the search, as the page runs them."""

    def run(query: Query) -> list[dict[str, object]]:
        cursor.execute(*query)
        columns = [column.name for column in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    explore_results(run, filters, sort, page, PAGE_SIZE, None)


def time_page_views(
    connection: psycopg2.extensions.connection, queries: int, seed: int
) -> tuple[list[float], list[tuple[float, str, ExploreFilters]], list[bool], list[str]]:
    """Milliseconds per page view, the five slowest, which views filtered on duplicates and
    each view's sort."""
    rng = random.Random(seed)
    sort_names, sort_weights = zip(*SORTS, strict=True)
    latencies: list[float] = []
    duplicates: list[bool] = []
    sorts: list[str] = []
    slowest: list[tuple[float, str, ExploreFilters]] = []
    with connection.cursor() as cursor:
        for _ in range(queries):
            filters = random_filters(rng)
            sort = rng.choices(sort_names, sort_weights)[0]
            page = rng.randint(2, 5) if rng.random() < 0.3 else 1
            started = time.perf_counter()
            page_view(cursor, filters, sort, page)
            elapsed = (time.perf_counter() - started) * 1000
            latencies.append(elapsed)
            duplicates.append(filters.has_duplicates)
            sorts.append(sort)
            slowest.append((elapsed, sort, filters))
    slowest.sort(key=lambda item: -item[0])
    return latencies, slowest[:5], duplicates, sorts


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def run(records: int, queries: int, seed: int, keep: bool, database: str | None) -> None:
    settings = up(report=lambda _line: None)
    name = database or f"heritage_bench_explore_{uuid.uuid4().hex[:8]}"
    print(
        f"explore latency benchmark: {records:,} records in database {name}, "
        f"{queries} page views; {platform.node()}, {os.cpu_count()} CPUs"
    )
    apply_schema(settings, name)
    admin = connect(settings, name)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM heritage.objects")
            existing = cursor.fetchone()[0]  # type: ignore[index]
        if existing == 0:
            print(f"loaded and analysed in {load(admin, records, seed):.0f}s")
        else:
            print(f"reusing {existing:,} records already in {name}")
            # Statistics the schema added since the load are empty until the next ANALYZE.
            admin.commit()
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute("ANALYZE heritage.objects")
        reader = psycopg2.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            dbname=name,
            user=settings.pg_reader_user,
            password=settings.pg_reader_password.reveal(),
            options=READER_OPTIONS,  # the dashboard pool's session settings
        )
        reader.set_session(readonly=True, autocommit=True)
        try:
            time_page_views(reader, 20, seed + 1)  # warm the cache, as a running app would be
            latencies, slowest, duplicates, sorts = time_page_views(reader, queries, seed)
        finally:
            reader.close()
    finally:
        admin.close()
        if not keep:
            dropper = connect(settings, "postgres")
            dropper.autocommit = True
            with dropper.cursor() as cursor:
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            dropper.close()
    p50, p95, p99 = (percentile(latencies, s) for s in (0.50, 0.95, 0.99))
    print(
        f"page view (estimate, count or sample with facet counts, page), {len(latencies)} views: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
    )
    for label, wanted in (("with", True), ("without", False)):
        subset = [ms for ms, dup in zip(latencies, duplicates, strict=True) if dup is wanted]
        if len(subset) >= 2:
            print(
                f"  {label} 'has duplicates' ({len(subset)} views): "
                f"p50 {percentile(subset, 0.50):.1f} ms, p95 {percentile(subset, 0.95):.1f} ms"
            )
    for sort, _weight in SORTS:
        subset = [ms for ms, name in zip(latencies, sorts, strict=True) if name == sort]
        if len(subset) >= 2:
            print(
                f"  sorted by {sort} ({len(subset)} views): "
                f"p50 {percentile(subset, 0.50):.1f} ms, p95 {percentile(subset, 0.95):.1f} ms"
            )
    print("load average at the end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print("slowest:")
    for elapsed, sort, filters in slowest:
        print(f"  {elapsed:7.1f} ms  sort={sort}  {filters}")
    print(f"goal p95 <= 150 ms: {'met' if p95 <= 150 else f'missed by {p95 - 150:.0f} ms'}")
    if keep:
        print(f"kept database {name} (drop it with: DROP DATABASE {name})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="default 1000000")
    parser.add_argument("--queries", type=int, default=300, help="page views (default 300)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="use (or reuse) this database name")
    args = parser.parse_args()
    run(args.records, args.queries, args.seed, args.keep, args.database)


if __name__ == "__main__":
    main()
