"""The explore page's view as URL query parameters: a search, its facets, the sort, the view
and the page survive the browser's Back button and can be shared as a link.

Pure functions, no Streamlit: the page reads ``st.query_params`` into an :class:`ExploreView`
and writes it back; the object page builds its "Back to results" link from the same
parameters. The URL of a view looks like::

    /?q=portrait&provider=Rijksmuseum&provider=Mauritshuis&type=IMAGE&from=1600&to=1700
      &sort=date&view=grid&page=3

Only what differs from the default view is written, so the plain page is ``/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

# Sort orders the page offers, in the order of its choice box, with their labels.
SORT_LABELS = {
    "relevance": "Relevance",
    "date": "Date, oldest first",
    "date_desc": "Date, newest first",
    "title": "Title A-Z",
    "provider": "Provider A-Z",
}
DEFAULT_SORT = "relevance"
VIEWS = ("list", "grid")
# The object page's parameter that carries the explore view it was opened from.
BACK_PARAM = "back"
# Query parameter names of the multi-valued facets, by ExploreView field.
_FACET_PARAMS = {
    "providers": "provider",
    "object_types": "type",
    "rights": "rights",
    "languages": "lang",
}
_FLAG_PARAMS = {
    "has_duplicates": "dup",
    "has_annotations": "ann",
    "include_unpublished": "unpublished",
}
QueryParamsIn = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class ExploreView:
    """Everything the explore page shows depends on; the defaults are the plain page."""

    search: str = ""
    providers: tuple[str, ...] = ()
    object_types: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    has_duplicates: bool = False
    has_annotations: bool = False
    include_unpublished: bool = False
    sort: str = DEFAULT_SORT
    view: str = "list"
    page: int = 1

    def first_page(self) -> ExploreView:
        return replace(self, page=1)


def _values(params: QueryParamsIn, name: str) -> list[str]:
    """Every value of a parameter (a repeated one gives several), blanks dropped."""
    raw = params.get(name)
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else list(raw)
    return [value for value in values if value.strip()]


def _last(params: QueryParamsIn, name: str) -> str:
    values = _values(params, name)
    return values[-1].strip() if values else ""


def _whole_number(text: str) -> int | None:
    stripped = text.strip()
    sign = -1 if stripped.startswith("-") else 1
    digits = stripped.removeprefix("-")
    return sign * int(digits) if digits.isdigit() and len(digits) <= 6 else None


def view_from_params(params: QueryParamsIn) -> ExploreView:
    """The view a URL asks for. Anything malformed (an unknown sort, a page "x") falls back to
    the default instead of failing: a hand-edited or truncated link still opens."""
    facets = {
        field: tuple(dict.fromkeys(_values(params, name))) for field, name in _FACET_PARAMS.items()
    }
    flags = {field: _last(params, name) in ("1", "true") for field, name in _FLAG_PARAMS.items()}
    sort = _last(params, "sort")
    view = _last(params, "view")
    page = _whole_number(_last(params, "page")) or 1
    return ExploreView(
        search=" ".join(_last(params, "q").split()),
        year_from=_whole_number(_last(params, "from")),
        year_to=_whole_number(_last(params, "to")),
        sort=sort if sort in SORT_LABELS else DEFAULT_SORT,
        view=view if view in VIEWS else "list",
        page=max(page, 1),
        **facets,  # type: ignore[arg-type]
        **flags,  # type: ignore[arg-type]
    )


def view_to_params(view: ExploreView) -> dict[str, str | list[str]]:
    """Query parameters of a view: only what differs from the default, in a stable order."""
    params: dict[str, str | list[str]] = {}
    if view.search:
        params["q"] = view.search
    for field, name in _FACET_PARAMS.items():
        values: tuple[str, ...] = getattr(view, field)
        if values:
            params[name] = list(values)
    if view.year_from is not None:
        params["from"] = str(view.year_from)
    if view.year_to is not None:
        params["to"] = str(view.year_to)
    for field, name in _FLAG_PARAMS.items():
        if getattr(view, field):
            params[name] = "1"
    if view.sort != DEFAULT_SORT:
        params["sort"] = view.sort
    if view.view != "list":
        params["view"] = view.view
    if view.page != 1:
        params["page"] = str(view.page)
    return params


def query_string(view: ExploreView) -> str:
    """``q=portrait&provider=A&provider=B...``: repeated names for several values."""
    return urlencode(view_to_params(view), doseq=True)


def view_from_query_string(text: str) -> ExploreView:
    return view_from_params(parse_qs(text.removeprefix("?"), keep_blank_values=False))


def explore_url(view: ExploreView | str) -> str:
    """The explore page's URL (relative to the app's root) for a view, or for the query string
    an object page carries in its ``back`` parameter: ``/?q=portrait&page=2``."""
    parsed = view_from_query_string(view) if isinstance(view, str) else view
    text = query_string(parsed)
    return "/?" + text if text else "/"


def object_params(record_id: str, view: ExploreView) -> dict[str, str]:
    """The object page's query parameters for a record opened from ``view``."""
    return {"record_id": record_id, BACK_PARAM: query_string(view)}


def back_params(object_page_params: QueryParamsIn) -> dict[str, str | list[str]] | None:
    """The explore page's query parameters to go back to, from an object page's parameters;
    None when the object was not opened from the explore page (no ``back`` parameter)."""
    raw = object_page_params.get(BACK_PARAM)
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else (list(raw)[-1] if raw else "")
    return view_to_params(view_from_query_string(text))
