"""The project's test signature database for ClamAV: it detects test files only.

No registry ships ClamAV's official databases, and clamscan refuses to run without one, so
tests and the local stack scan with these signatures: the EICAR test file (by MD5, by
SHA-256 and by its body) and ClamAV's own unit-test file, which Debian's clamav-testfiles
packs and archives 44 ways. They prove the scan runs and looks inside containers; they do
not protect against anything. Production points HERITAGE_CLAMAV_DB at a freshclam folder.

The EICAR string is assembled at run time and never stored whole in the repository: other
scanners on developers' machines and CI hosts would flag the file that held it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Two halves of the EICAR anti-virus test file (eicar.org), joined only in memory.
_EICAR_HEAD = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$"
_EICAR_TAIL = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# The part of the body a signature can match without being the whole test file.
_EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"

# ClamAV's unit-test signature: MD5 and size of clam.exe (clamav-testfiles), as ClamAV's
# own test suite declares it.
CLAMAV_TEST_FILE_SIGNATURE = "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File"

# Signature names; ClamAV appends ".UNOFFICIAL" to every name outside its own databases.
EICAR_MD5_NAME = "Heritage.Test.EICAR-MD5"
EICAR_SHA256_NAME = "Heritage.Test.EICAR-SHA256"
EICAR_BODY_NAME = "Heritage.Test.EICAR-NDB"
CLAMAV_TEST_FILE_NAME = "ClamAV-Test-File"
# The database files, named so nobody mistakes them for real protection.
DATABASE_STEM = "heritage-test-signatures"
# What a caller that scans with these signatures outside tests logs, once.
TEST_SIGNATURES_WARNING = (
    "virus scan uses the project's test signatures, which detect only test files (EICAR, "
    "ClamAV's test files); set HERITAGE_CLAMAV_DB to a freshclam database for real protection"
)


def eicar_test_file() -> bytes:
    """The 68 bytes of the EICAR test file."""
    return (_EICAR_HEAD + _EICAR_TAIL).encode("ascii")


def signature_database_contents() -> dict[str, str]:
    """``{database file suffix: its content}`` of the test database."""
    eicar = eicar_test_file()
    size = len(eicar)
    return {
        ".hdb": (
            f"{hashlib.md5(eicar).hexdigest()}:{size}:{EICAR_MD5_NAME}\n"
            f"{CLAMAV_TEST_FILE_SIGNATURE}\n"
        ),
        ".hsb": f"{hashlib.sha256(eicar).hexdigest()}:{size}:{EICAR_SHA256_NAME}\n",
        ".ndb": f"{EICAR_BODY_NAME}:0:*:{_EICAR_MARKER.hex()}\n",
    }


def write_test_signatures(database_dir: Path) -> list[Path]:
    """Write the test database into ``database_dir`` (created if needed); the files written."""
    database_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, content in signature_database_contents().items():
        path = database_dir / f"{DATABASE_STEM}{suffix}"
        path.write_text(content, encoding="ascii")
        written.append(path)
    return written
