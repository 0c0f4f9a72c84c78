"""The one error a field-rules file (config/ocr/fields.toml and the gazetteers it names) can
cause."""

from __future__ import annotations


class FieldRulesError(ValueError):
    """A field-rules file that cannot be used; ``str()`` names the file, the key or line, and
    what to write instead."""
