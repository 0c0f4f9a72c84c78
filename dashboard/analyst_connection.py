"""How analysts connect with psql, as the SQL page shows it (importable, so a test runs it)."""

from __future__ import annotations

# `services env --role reader` writes the reader's service and password files and prints the
# lines that point psql at them; the password itself is never on a command line. Run from the
# project folder.
PSQL_AS_READER = 'eval "$(.venv/bin/heritage services env --role reader)" && psql'
