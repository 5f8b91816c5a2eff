"""Where bank statement files come from: the interface every statement source meets.

A source (an upload, CodaBox's bank feed; later Ponto or Isabel) only receives: it hands each file over as a
``ReceivedFile``, the bytes exactly as received and the source they came from. Everything after -- telling
the format apart (``readers.py``), reading, checking, storing, matching -- is one path,
``service.ingest_statement_file``, the same for every source. A source that gets statements rather than
files (an API's JSON) hands over that payload as it came, and its format gets a reader.

The runner of a source opens the transaction each file is stored in, so that the source's own bookkeeping
is part of it (the CodaBox feed marks its entry ingested in the same transaction: exactly once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StatementSource(Protocol):
    """What ingestion needs to know of a source: what to store with its files and whose they may be."""

    @property
    def name(self) -> str:
        """Stored with every file it brings (``coda_files.source``): "upload", "codabox"."""
        ...

    @property
    def holder(self) -> str | None:
        """The enterprise number (``BE0123456789``) every statement it brings must be held by, when the source
        serves one company only (a CodaBox feed: a statement naming another holder refuses the whole file);
        None when it cannot know (an upload: each statement is judged by its account)."""
        ...


@dataclass(frozen=True, slots=True)
class Upload:
    """A file a person or a client sent in (the API's upload, the review page's form)."""

    name: str = "upload"
    holder: str | None = None


UPLOAD = Upload()


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A bank statement file as its source received it."""

    data: bytes  # exactly as received: stored so, whatever is read from it
    source: StatementSource


def uploaded(data: bytes) -> ReceivedFile:
    return ReceivedFile(data, UPLOAD)
