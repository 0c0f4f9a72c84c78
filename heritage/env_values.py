"""Numbers from environment variables, with an error that names the variable."""

from __future__ import annotations

from collections.abc import Mapping


def env_number(environ: Mapping[str, str], key: str, default: float) -> float:
    """``environ[key]`` as a number; ``default`` when unset or empty."""
    raw = environ.get(key)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"setting {key}={raw!r} is not a number") from None
