"""The one base class of every rejection a source's input can cause.

A parser or mapper that cannot read what a museum, an aggregator or a harvest endpoint sent
raises a subclass of :class:`SourceRejection` (or returns a rejection value); nothing else
may escape a parsing or mapping entry point. The message names the input (a file and line,
a record id, a URL) and the reason, and says what the sender can do about it, so a caller
can print it as it is or put it in a dead-letter message.
"""

from __future__ import annotations


class SourceRejection(ValueError):
    """Input from a source that cannot be read or mapped; ``str()`` names the input, the
    reason and the fix."""
