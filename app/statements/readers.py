"""The formats bank statement files come in, picked by their content: one reader per format.

Each reader says how it recognises its bytes and opens them into the parsed statements of ``parsed.py``;
storing, matching and everything after are the same whatever the format. Adding a format (another bank's
XML, a feed's JSON) is adding a reader to ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from app.statements.parsed import ParsedFile, ParsedStatement, StatementWarning


class OpenedFile(Protocol):
    """A file being read one statement at a time (memory follows the largest statement, not the file)."""

    #: The text encoding it was read in, stored with the file.
    encoding: str
    #: File-level warnings; reading the statements may add to them.
    warnings: list[StatementWarning]

    def movement_records(self) -> int:
        """How many movements the file holds, known before its first statement is read."""
        ...

    def statements(self) -> Iterator[ParsedStatement]:
        """Each statement in turn; raises StatementFileError (with a line) where the file cannot be read."""
        ...


@dataclass(frozen=True, slots=True)
class Reader:
    #: The format's name in answers, messages and metrics ("not a readable CODA file").
    name: str
    #: Whether the bytes are this format's. Asked in ``READERS``' order: the first that says yes reads them.
    recognises: Callable[[bytes], bool]
    #: Opens the bytes for reading; raises StatementFileError when they cannot be read at all.
    open: Callable[[bytes], OpenedFile]

    def parse(self, data: bytes) -> ParsedFile:
        """The whole file at once (the CLI's report; ingestion reads statement by statement)."""
        opened = self.open(data)
        statements = list(opened.statements())
        return ParsedFile(statements=statements, encoding=opened.encoding, warnings=opened.warnings)


def _is_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _open_camt(data: bytes) -> OpenedFile:
    from app.statements.camt import CamtReader  # the adapters load lxml and pycoda: only reading a file needs them

    return CamtReader(data)


def _open_ponto(data: bytes) -> OpenedFile:
    from app.statements.ponto_reader import PontoBatchReader

    return PontoBatchReader(data)


def _is_ponto(data: bytes) -> bool:
    from app.statements.ponto_reader import recognises

    return recognises(data)


def _open_coda(data: bytes) -> OpenedFile:
    from app.statements.coda import CodaReader

    return CodaReader(data)


#: Asked in this order. CODA comes last and takes whatever no other reader recognised: a file of no known
#: format is refused as unreadable CODA, with the line where reading it failed.
READERS: tuple[Reader, ...] = (
    Reader("camt.053", _is_xml, _open_camt),
    # The batches the Ponto Connect feed stores (app/ponto): its JSON as fetched, never an upload's format.
    Reader("Ponto", _is_ponto, _open_ponto),
    Reader("CODA", lambda _data: True, _open_coda),
)


def reader_for(data: bytes) -> Reader:
    """The reader of these bytes, told by their content (never by a file name or a content type)."""
    return next(reader for reader in READERS if reader.recognises(data))
