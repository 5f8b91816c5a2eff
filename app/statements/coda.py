"""The one adapter that reads CODA files: bytes in, plain statements out (see ``parsed.py``).

pycoda 1.1.0 stays the record parser: it walks the records, groups movements and types globalisations.
It also has defects that must never reach our data, so this module owns all of these:

- input: BOM, blank lines around the file, trailing garbage, CRLF/CR, encoding (strict UTF-8, else cp1252,
  else latin-1, never silent replacement), records that lost their trailing blanks (padded, with a warning);
- numbers and dates: exact ``Decimal`` and ``date`` read from the record text (pycoda gives floats and
  crashes on a ``000000`` value date, which is legal: it falls back to the entry date);
- communications: only 101/102 are OGMs (pycoda renders every structured type as ``+++..+++``); free text
  is joined across 2.1/2.2/2.3 without inventing spaces inside words or references (pycoda does);
- integrity checks, recorded as warnings with line numbers; only unreadable or incomplete (cut-off) files
  are refused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from functools import lru_cache

from coda.parser import CodaParserException, Parser

from app.identifiers.iban import is_iban
from app.identifiers.references import ReferenceError_, format_ogm, is_valid_ogm_digits, normalize_rf
from app.identifiers.vat import enterprise_number
from app.statements.parsed import (
    Counterparty,
    DirectDebit,
    MovementKind,
    ParsedFile,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    StatementWarning,
)

RECORD_LENGTH = 128
#: A trailer (9) shorter than this lost some of its fields (the credit total ends at position 52); a longer
#: one only lost trailing blanks, as banks' files do (one real trailer is 57 characters, another 52).
TRAILER_FIELDS = 52
_RECORD_TYPES = set("0123489")
_THOUSAND = Decimal(1000)


# -- input -------------------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str, list[StatementWarning]]:
    """Text, encoding name and warnings: strict UTF-8, else cp1252, else latin-1 (which never fails)."""
    warnings: list[StatementWarning] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if "\ufffd" in text:
        warnings.append(
            StatementWarning(
                "replacement_characters", "the file contains U+FFFD replacement characters (mis-encoded text)"
            )
        )
    return text, encoding, warnings


def records(lines: list[str], warnings: list[StatementWarning]) -> Iterator[tuple[int, str]]:
    """(line number, 128-character record) pairs, skipping what surrounds the records; warnings are appended."""
    last_trailer = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("9")), None)
    end = len(lines)
    if last_trailer is not None:
        tail = [i for i in range(last_trailer + 1, len(lines)) if lines[i].strip()]
        if tail and not any(_looks_like_record(lines[i]) for i in tail):
            warnings.append(
                StatementWarning(
                    "trailing_garbage", f"{len(tail)} line(s) after the last trailer were ignored", tail[0] + 1
                )
            )
            end = last_trailer + 1
    last = next((i for i in range(end - 1, -1, -1) if lines[i].strip()), None)
    if last is not None and not lines[last].startswith("9") and len(lines[last]) < RECORD_LENGTH:
        raise StatementFileError(
            f"incomplete file: it ends at line {last + 1} in the middle of a record ({len(lines[last])} of "
            f"{RECORD_LENGTH} characters), before any trailer (a cut-off download?); nothing was stored",
            last + 1,
            incomplete=True,
        )
    if last is not None and lines[last].startswith("9") and len(lines[last]) < TRAILER_FIELDS:
        raise StatementFileError(
            f"incomplete file: it ends at line {last + 1} in the middle of the trailer record (9) "
            f"({len(lines[last])} characters, its totals end at {TRAILER_FIELDS}; a cut-off download?); "
            "nothing was stored",
            last + 1,
            incomplete=True,
        )
    seen = False
    for index in range(end):
        line = lines[index]
        number = index + 1
        if not line.strip():
            continue
        control = _CONTROL.search(line)
        if control is not None:
            raise StatementFileError(
                f"control character 0x{ord(control.group()):02X} at column {control.start() + 1}: not CODA text", number
            )
        seen = True
        if line[0] not in _RECORD_TYPES:
            raise StatementFileError(f"not a CODA record (record type {line[:1]!r})", number)
        if len(line) < RECORD_LENGTH:
            warnings.append(
                StatementWarning(
                    "short_record", f"record is {len(line)} characters; padded with blanks to {RECORD_LENGTH}", number
                )
            )
            line = line.ljust(RECORD_LENGTH)
        elif len(line) > RECORD_LENGTH:
            if line[RECORD_LENGTH:].strip():
                raise StatementFileError(
                    f"record is {len(line)} characters long; CODA records are {RECORD_LENGTH}", number
                )
            line = line[:RECORD_LENGTH]
        yield number, line
    if not seen:
        raise StatementFileError("the file holds no CODA records", 1)


# C0 control characters (tabs included) have no place in CODA's fixed-width text; DOS's end-of-file ^Z is
# dropped before this check.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# How each record type begins (its fixed fields), position by position, so that even the cut-off start of
# a record (down to its first character) is recognised.
_DIGIT = "0123456789"
_RECORD_STARTS = (
    ("0", "0", "0", "0", _DIGIT),
    ("1", "0123", _DIGIT, _DIGIT, _DIGIT),
    ("2", "123", _DIGIT, _DIGIT, _DIGIT, _DIGIT),
    ("3", "123", _DIGIT, _DIGIT, _DIGIT, _DIGIT),
    ("4", " ", _DIGIT, _DIGIT, _DIGIT, _DIGIT),
    ("8", _DIGIT, _DIGIT, _DIGIT),
    ("9", *(" " * 15)),
)


def _looks_like_record(line: str) -> bool:
    """A record, or what is left of one: lines after the last trailer that look like this are never
    dropped as garbage (they are the rest of a file cut off before its trailer)."""
    return any(all(char in allowed for char, allowed in zip(line, start, strict=False)) for start in _RECORD_STARTS)


# -- fields ------------------------------------------------------------------------------------------------


def _digits(value: str, what: str, line: int) -> int:
    value = value.strip()
    if not value.isdigit():
        raise StatementFileError(f"{what} is not a number: {value!r}", line)
    return int(value)


def _amount(sign: str, value: str, what: str, line: int) -> Decimal:
    if sign not in "01":
        raise StatementFileError(f"{what} has an invalid sign {sign!r}", line)
    amount = Decimal(_digits(value, what, line)) / _THOUSAND
    return -amount if sign == "1" else amount


def _date(value: str, what: str, line: int, *, fallback: date | None = None) -> date:
    if value == "000000" and fallback is not None:
        return fallback
    if not value.isdigit():
        raise StatementFileError(f"{what} is not a date (DDMMYY): {value!r}", line)
    try:
        return date(2000 + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        raise StatementFileError(f"{what} is not a valid date: {value!r}", line) from None


def _clean(value: str) -> str | None:
    value = " ".join(value.split())
    return value or None


def join_free_text(segments: Iterable[str]) -> str:
    """Join communication segments as the bank cut them over 2.1/2.2/2.3.

    A segment that fills its whole field may stop in the middle of a word or reference, which then goes on
    in the next segment without a space; a segment padded with blanks ended its last word.
    """
    parts: list[str] = []
    previous_full = False
    for segment in segments:
        if not segment.strip():
            previous_full = False
            continue
        glue = "" if (previous_full and not segment[0].isspace()) else " "
        parts.append((glue if parts else "") + segment.strip())
        previous_full = not segment[-1].isspace()
    return "".join(parts)


def belgian_bban_to_iban(bban: str) -> str | None:
    """BE + ISO 7064 check digits + the 12-digit BBAN, when the BBAN's own mod-97 check holds."""
    if len(bban) != 12 or not bban.isdigit() or (int(bban[:10]) % 97 or 97) != int(bban[10:]):
        return None
    return f"BE{98 - int(bban + '111400') % 97:02d}{bban}"


@lru_cache(maxsize=65536)
def account_identifier(raw: str) -> str:
    """An IBAN where the account is one or converts to one (Belgian BBAN); otherwise as written."""
    compact = raw.replace(" ", "").upper()
    if is_iban(compact):  # checksum and structure, not the bank: anonymised and new bank codes pass
        return compact
    converted = belgian_bban_to_iban(compact)
    return converted or compact


# -- the adapter -------------------------------------------------------------------------------------------


class CodaReader:
    """Reads a CODA file statement by statement, so a large file is stored and dropped piece by piece
    (memory grows with the largest statement, not with the file)."""

    def __init__(self, data: bytes) -> None:
        try:
            text, self.encoding, self.warnings = decode(data)
            # Split on line breaks only: str.splitlines() would also break on characters such as U+0085.
            text = text.rstrip("\x1a")  # DOS end-of-file marker
            self._lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        except Exception as exc:
            raise StatementFileError(f"unreadable CODA content ({type(exc).__name__}: {exc})") from None

    def movement_records(self) -> int:
        """How many movement records (2.1) the file holds: at most what its upload will match, known before
        its first statement is stored."""
        return sum(1 for line in self._lines if line[:2] == "21")

    def statements(self) -> Iterator[ParsedStatement]:
        last_sequence: dict[tuple[str, str], int] = {}
        try:
            for block in _blocks(records(self._lines, self.warnings)):
                statement = _statement(block, self.warnings)
                _sequence_check(statement, last_sequence)
                yield statement
        except StatementFileError:
            raise
        except Exception as exc:  # pycoda or a field we did not anticipate: never a crash, always a clear refusal
            raise StatementFileError(f"unreadable CODA content ({type(exc).__name__}: {exc})") from None


def parse_coda(data: bytes) -> ParsedFile:
    """Parse a whole CODA file; raises StatementFileError (with a line number) only when it cannot be read at all."""
    reader = CodaReader(data)
    statements = list(reader.statements())
    return ParsedFile(statements=statements, encoding=reader.encoding, warnings=reader.warnings)


def _blocks(recs: Iterable[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """Split into statements: each a 0 header, a 1 record, movements and information, an 8 and a 9."""
    current: list[tuple[int, str]] | None = None
    closed = False  # the current block has its trailer
    for number, line in recs:
        kind = line[0]
        if kind == "0" and line[127] != "2":
            raise StatementFileError(f"CODA version {line[127]!r} is not supported (version 2 is)", number)
        if kind == "0":
            if current is not None:
                if not closed:
                    raise StatementFileError(
                        "a new header (record 0) starts before the previous statement's trailer", number
                    )
                yield _checked(current)
            current, closed = [(number, line)], False
            continue
        if current is None:
            raise StatementFileError("the file does not start with a header record (0)", number)
        if closed:
            raise StatementFileError(f"record {kind} after the trailer (record 9)", number)
        closed = kind == "9"
        current.append((number, line))
    if current is not None:
        if not closed:
            # A statement always ends with its trailer: without it the file was cut off (a download that
            # stopped half-way). Storing the part would count its movements twice once the whole file comes.
            last = current[-1][0]
            raise StatementFileError(
                f"incomplete file: it ends at line {last} before the trailer record (9) of its last statement "
                "(a cut-off download?); nothing was stored, send the complete file",
                last,
                incomplete=True,
            )
        yield _checked(current)


def _checked(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    kinds = [line[0] for _, line in block]
    header_line = block[0][0]
    if kinds.count("1") != 1 or len(kinds) < 2 or kinds[1] != "1":
        raise StatementFileError(
            "a statement needs exactly one old-balance record (1) right after its header", header_line
        )
    eight = kinds.index("8") if "8" in kinds else kinds.index("9") if "9" in kinds else len(kinds)
    for (number, _line), kind in zip(block[eight + 1 :], kinds[eight + 1 :], strict=True):
        if kind not in "489":
            raise StatementFileError(f"record {kind} after the new-balance record (8)", number)
    for (number, _line), kind in zip(block[2:eight], kinds[2:eight], strict=True):
        if kind not in "234":
            raise StatementFileError(f"record {kind} among the movements", number)
    return block


def _statement(block: list[tuple[int, str]], file_warnings: list[StatementWarning]) -> ParsedStatement:
    header_no, header = block[0]
    version = header[127]
    if version != "2":
        raise StatementFileError(f"CODA version {version!r} is not supported (version 2 is)", header_no)
    if header[14:16] != "05":
        file_warnings.append(
            StatementWarning(
                "application_code", f"header application code is {header[14:16]!r}, expected '05'", header_no
            )
        )
    creation = _date(header[5:11], "creation date", header_no)
    one_no, one = block[1]
    structure = one[1]
    if structure == "0":
        account_raw, currency = one[5:17], one[18:21]
    elif structure == "2":
        account_raw, currency = one[5:21], one[39:42]
    elif structure in "13":
        account_raw, currency = one[5:39], one[39:42]
    else:
        raise StatementFileError(f"unknown account structure {structure!r}", one_no)
    currency = currency.strip()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementFileError(f"currency {currency!r} is not an ISO code", one_no)
    opening = _amount(one[42], one[43:58], "old balance", one_no)
    opening_date = _date(one[58:64], "old balance date", one_no)

    groups, informations = _walk(block)
    # Our own reading first, so a bad field is refused with its line number before pycoda sees it.
    transactions = [_transaction(group) for group in groups]
    _type_globalisations(transactions, groups, _pycoda_movements(block))
    eight_no, eight = next(((n, line) for n, line in block if line[0] == "8"), (0, ""))
    if eight:
        closing = _amount(eight[41], eight[42:57], "new balance", eight_no)
        closing_date = _date(eight[57:63], "new balance date", eight_no)
    elif groups:
        last = next(n for n, line in reversed(block) if line[0] != "9")
        raise StatementFileError(
            f"incomplete statement: its movements end at line {last} without the new-balance record (8); "
            "nothing was stored",
            last,
            incomplete=True,
        )
    else:
        # Banks send "empty" statements (records 0, 1, 9): nothing moved, so the balance stands.
        closing, closing_date, eight_no = opening, opening_date, block[-1][0]
    statement = ParsedStatement(
        line=one_no,
        account_number=account_raw.strip(),
        account_iban=account_identifier(account_raw),
        currency=currency,
        sequence=_digits(one[125:128], "CODA sequence number", one_no) if one[125:128].strip() else 0,
        paper_sequence=one[2:5].strip() or None,
        date=closing_date,
        creation_date=creation,
        opening_balance=opening,
        opening_date=opening_date,
        closing_balance=closing,
        closing_date=closing_date,
        duplicate=header[16] == "D",
        bic=_clean(header[60:71]),
        account_holder_name=_clean(one[64:90]),
        # Record 0, positions 72-82: the identification number of the Belgian-based account holder.
        account_holder_number=enterprise_number(header[71:82]),
        account_description=_clean(one[90:125]),
        transactions=transactions,
        informations=informations,
    )
    if not eight:
        statement.warnings.append(
            StatementWarning("missing_new_balance", "no new-balance record (8): the old balance is kept", eight_no)
        )
    statement.warnings += _integrity(statement, block, eight_no, eight)
    return statement


def _pycoda_movements(block: list[tuple[int, str]]) -> list:
    """Let pycoda parse the block, from a copy made safe for its known crashes (our values come from the
    record text; pycoda provides the record walk and the globalisation typing)."""
    safe: list[str] = []
    for _, line in block:
        if line[0] == "0" and line[14:16] != "05":
            line = line[:14] + "05" + line[16:]
        elif line[0] == "1" and line[1] in "13":
            line = line[:1] + "3" + line[2:]
        elif line[0] == "2" and line[1] == "1" and line[47:53] == "000000":
            line = line[:47] + line[115:121] + line[53:]
        safe.append(line)
    content = "\n".join(safe).encode("cp1252", errors="replace")
    try:
        [statement] = Parser().parse(content)
    except CodaParserException as exc:
        raise StatementFileError(f"pycoda refused the statement: {exc.msg.strip()}", block[0][0]) from None
    except ValueError as exc:
        raise StatementFileError(f"pycoda could not read the statement: {exc}", block[0][0]) from None
    return statement.movements


def _walk(block: list[tuple[int, str]]) -> tuple[list[dict], list[str]]:
    """Group each 2.1 record with its 2.2/2.3 continuations; collect information (3.x) texts."""
    movements: list[dict] = []
    informations: list[str] = []
    for number, line in block[2:]:
        kind, sub = line[0], line[1]
        if kind == "2":
            if sub == "1":
                movements.append({"line": number, "r21": line, "r22": None, "r23": None})
                continue
            if sub not in "23":
                raise StatementFileError(f"movement record 2.{sub} is not a CODA record", number)
            if not movements or movements[-1]["r21"][2:6] != line[2:6]:
                raise StatementFileError(f"movement record 2.{sub} does not follow its record 2.1", number)
            movements[-1][f"r2{sub}"] = line
        elif kind == "3":
            if sub == "1":
                informations.append(line[40:113])
            elif informations:
                informations[-1] += line[10:115]
    return movements, [" ".join(i.split()) for i in informations]


def _type_globalisations(transactions: list[ParsedTransaction], groups: list[dict], pycoda_movements: list) -> None:
    """A movement followed by details of its own sequence number is a total; the details are the leaves."""
    if len(groups) != len(pycoda_movements):
        raise StatementFileError("pycoda and the record walk disagree on the number of movements", groups[0]["line"])
    total_for: dict[int, ParsedTransaction] = {}
    for tx, group, pm in zip(transactions, groups, pycoda_movements, strict=True):
        if tx.detail > 0 and tx.sequence in total_for:
            total_for[tx.sequence].kind = MovementKind.TOTAL
            tx.kind = MovementKind.DETAIL
            tx.parent_sequence = tx.sequence
        elif pm.type == "globalisation" or group["r21"][53] in "123":
            total_for[tx.sequence] = tx


def _transaction(mv: dict) -> ParsedTransaction:
    number, r21, r22, r23 = mv["line"], mv["r21"], mv["r22"], mv["r23"]
    booking = _date(r21[115:121], "entry date", number)
    value = _date(r21[47:53], "value date", number, fallback=booking)
    structured = r21[61] == "1"
    structured_type = structured_content = structured_reference = None
    direct_debit = None
    if structured:
        structured_type = r21[62:65]
        structured_content = r21[65:115].rstrip()
        segments = [r22[10:63] if r22 else "", r23[82:125] if r23 else ""]
        if structured_type in ("101", "102"):
            digits = structured_content[:12]
            communication = format_ogm(digits) if digits.isdigit() else structured_content.strip()
            if is_valid_ogm_digits(digits):
                structured_reference = format_ogm(digits)
        else:
            communication = structured_content.strip()
        extra = join_free_text(segments)
        if structured_type == "127":
            # The continuation records hold the rest of the direct debit's fields, not more text.
            direct_debit = sepa_direct_debit(r21[65:115] + (r22[10:63] if r22 else "") + (r23[82:125] if r23 else ""))
            # Its communication is the creditor's (ours: an OGM or an invoice number the integrator put in its
            # collection), read by the matcher as any free text is.
            communication, extra = direct_debit.communication, ""
        if extra:
            communication = f"{communication} {extra}".strip()
    else:
        communication = join_free_text([r21[62:115], r22[10:63] if r22 else "", r23[82:125] if r23 else ""])
        if communication[:2].upper() == "RF" and " " not in communication.strip():
            with contextlib.suppress(ReferenceError_):
                structured_reference = normalize_rf(communication)
    counterparty = Counterparty(bic=_clean(r22[98:109]) if r22 else None)
    customer_reference = _clean(r22[63:98]) if r22 else None
    if r23:
        account = r23[10:22].strip() if r23[22] == " " and r23[10:22].strip().isdigit() else r23[10:44].strip()
        counterparty.iban = account_identifier(account) if account and set(account) != {"0"} else None
        counterparty.name = _clean(r23[47:82])
    return ParsedTransaction(
        line=number,
        sequence=_digits(r21[2:6], "movement sequence number", number),
        detail=_digits(r21[6:10], "detail number", number),
        kind=MovementKind.MOVEMENT,
        bank_reference=r21[10:31].strip(),
        booking_date=booking,
        value_date=value,
        amount=_amount(r21[31], r21[32:47], "movement amount", number),
        transaction_code=r21[53:61],
        communication=communication,
        structured_type=structured_type,
        structured_content=structured_content,
        structured_reference=structured_reference,
        counterparty=counterparty,
        end_to_end_reference=customer_reference,
        customer_reference=customer_reference,
        globalisation_code=int(r21[124]) if r21[124].isdigit() else 0,
        direct_debit=direct_debit,
    )


# Structured communication 127 (Febelfin CODA 2.6), by position in its 146 characters.
_DD_SEQUENCE = {"1": "recurrent", "2": "one_off", "3": "first", "4": "last"}
_DD_SCHEME = {"1": "core", "2": "b2b"}
_DD_REFUSAL = {"1": "technical", "2": "unspecified", "3": "debtor_disagrees", "4": "debtor_account"}
_DD_R_TYPE = {"0": "paid", "1": "reject", "2": "return", "3": "refund", "4": "reversal", "5": "cancellation"}


def sepa_direct_debit(text: str) -> DirectDebit:
    """The fields of a type-127 communication: settlement date (6), type (1), scheme (1), paid or the reason
    for a refusal (1), creditor identifier (35), mandate reference (35), communication (62), type of
    R-transaction (1), reason (4). A field a bank left blank or filled with what the standard does not list
    is None: the movement is kept whatever its communication says."""
    text = text.ljust(146)
    try:
        settled: date | None = date(2000 + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        settled = None
    reason = text[142:146].strip()
    return DirectDebit(
        settlement_date=settled,
        sequence_type=_DD_SEQUENCE.get(text[6]),
        scheme=_DD_SCHEME.get(text[7]),
        refusal=_DD_REFUSAL.get(text[8]),
        creditor_id=_clean(text[9:44]),
        mandate_reference=_clean(text[44:79]),
        communication=" ".join(text[79:141].split()),
        r_type=_DD_R_TYPE.get(text[141]),
        reason=reason if len(reason) == 4 and reason.isalnum() else None,
    )


# -- integrity ---------------------------------------------------------------------------------------------


def _integrity(st: ParsedStatement, block: list[tuple[int, str]], eight_no: int, eight: str) -> list[StatementWarning]:
    warnings: list[StatementWarning] = []
    leaves = sum((t.amount for t in st.transactions if t.is_leaf), Decimal(0))
    if st.opening_balance + leaves != st.closing_balance:
        warnings.append(
            StatementWarning(
                "balance_mismatch",
                f"opening {st.opening_balance} + movements {leaves} = {st.opening_balance + leaves}, "
                f"but the new balance is {st.closing_balance}",
                eight_no,
            )
        )
    one = block[1][1]
    account_one = one[5:42].replace(" ", "")
    account_eight = eight[4:41].replace(" ", "")
    if eight and account_one != account_eight:
        warnings.append(
            StatementWarning(
                "account_mismatch",
                f"record 8 names account {account_eight!r}, record 1 {account_one!r}",
                eight_no,
            )
        )
    number, line = next((n, line) for n, line in block if line[0] == "9")  # _blocks refuses a block without
    body = sum(1 for _, r in block if r[0] in "12348")
    count = line[16:22].strip()
    if not count.isdigit() or int(count) != body:
        warnings.append(
            StatementWarning("trailer_count", f"trailer says {count or 'nothing'} records, found {body}", number)
        )
    movements = [t for t in st.transactions if t.detail == 0]
    debit = sum((-t.amount for t in movements if t.amount < 0), Decimal(0))
    credit = sum((t.amount for t in movements if t.amount > 0), Decimal(0))
    for what, field, actual in (("debit", line[22:37], debit), ("credit", line[37:52], credit)):
        if not field.strip().isdigit() or Decimal(int(field)) / _THOUSAND != actual:
            warnings.append(
                StatementWarning(
                    f"trailer_{what}", f"trailer {what} total {field.strip() or 'missing'} != {actual}", number
                )
            )
    return warnings


def _sequence_check(st: ParsedStatement, last: dict[tuple[str, str], int]) -> None:
    """A gap between consecutive statements of one account in the same file."""
    key = (st.account_iban, st.currency)
    previous = last.get(key)
    if previous is not None and st.sequence > previous + 1 and st.sequence != 1:
        st.warnings.append(
            StatementWarning(
                "sequence_gap", f"statement {st.sequence} follows statement {previous} of the same account", st.line
            )
        )
    last[key] = st.sequence
