"""Open invoices looked up by what the payments point at, never by loading the company's ledger.

``StoredInvoiceIndex`` is the pure engine's ``InvoiceIndex`` filled on demand: before it answers a lookup
(a reference, an invoice number, an amount due, a customer, an account, a word of a name) it loads every open
invoice with that key from the database, once per key. ``prefetch`` loads the keys a whole chunk of payments
will ask for in a handful of queries, so a statement costs a few indexed queries per chunk of movements
whatever the size of the company's ledger; a lookup the prefetch did not foresee is still answered exactly.

The answers are the same as the full in-memory index would give: every lookup sees all open invoices with
its key, and invoices already in memory keep the amounts the run has settled on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, func, literal, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from app.core.money import from_mills
from app.core.one_of import one_of
from app.core.sql_hints import Unindexed
from app.identifiers.references import find_references, format_ogm
from app.invoices.models import OPEN_STATUSES, CustomerNameToken, Invoice
from app.reconciliation.invoice_numbers import numbers_in_text
from app.reconciliation.keys import name_tokens
from app.reconciliation.locks import is_postgres
from app.reconciliation.matching import (
    NAME_BUCKET,
    InvoiceIndex,
    MatchConfig,
    OpenInvoice,
    Payer,
    Payment,
    one_typo_variants,
    typo_suspects,
)
from app.reconciliation.models import LearnedPayer

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_TOKENS = CustomerNameToken.__table__  # type: ignore[attr-defined]
_LEARNED = LearnedPayer.__table__  # type: ignore[attr-defined]
_CHUNK = 500
#: A run reads the whole open ledger at once when it holds at most this many open invoices per payment:
#: reading an open invoice costs about 15 µs, looking a payment's candidates up about 1 ms (make bench), so
#: below this ratio one read is cheaper, and its cost is still at most this constant times the payments.
WHOLE_LEDGER_FACTOR = 20
#: ... and at most this many in all: held in memory, an open invoice and its index entries take about 1.2 KB,
#: so this bounds what one upload holds at ~60 MB whatever the company's size. Beyond it the lookups per key
#: cost about as much (issue 39's mix at 100,000 open invoices: 11.5 s against 10.5 s) and hold only what the
#: payments touch (283 MB peak against 310 MB for 24,000 movements).
WHOLE_LEDGER_LIMIT = 50_000
#: A chunk with at least this many payments that no reference explains looks their amounts up in bulk (one
#: query per 500), before matching asks: one query per amount cost a quarter of such an upload. A small
#: statement asks as it goes (at 100,000 open invoices an amount names up to a hundred of them).
BULK_AMOUNTS = 50

# Amounts are read as their stored mills and made Decimals here, once per distinct value (an open invoice's
# outstanding amount is mostly its total): the column type would convert each, and a large upload reads the
# whole open ledger.
_COLUMNS = (
    _INVOICES.c.id,
    _INVOICES.c.number,
    _INVOICES.c.kind,
    type_coerce(_INVOICES.c.outstanding, BigInteger).label("outstanding"),
    type_coerce(_INVOICES.c.total_amount, BigInteger).label("total_amount"),
    _INVOICES.c.issue_date,
    _INVOICES.c.due_date,
    _INVOICES.c.structured_reference,
    _INVOICES.c.customer_key,
    _INVOICES.c.customer_name,
    _INVOICES.c.customer_iban,
)


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


class SqlCandidates:
    """The queries behind a StoredInvoiceIndex: one company's open invoices by indexed keys."""

    def __init__(self, session: Session, company_id: str) -> None:
        self.session = session
        self.company_id = company_id
        self.queries = 0
        self._shared: dict[Any, Any] = {}
        self._amounts: dict[int, Decimal] = {}

    def _open(self) -> Any:
        return and_(_INVOICES.c.company_id == self.company_id, _INVOICES.c.status.in_(OPEN_STATUSES))

    def _open_with_key(self) -> Any:
        """Open invoices, when another condition names the key: that key's index must find them, not the
        status index (app/core/sql_hints.py)."""
        return and_(_INVOICES.c.company_id == self.company_id, Unindexed(_INVOICES.c.status).in_(OPEN_STATUSES))

    def lookup(self, column: Any, values: Sequence[Any]) -> Any:
        """The open invoices whose ``column`` is one of ``values``, through that column's index."""
        return self._by_key(_COLUMNS, column, values)

    def _by_key(self, selected: Sequence[Any], column: Any, values: Sequence[Any], *, distinct: bool = False) -> Any:
        """``selected`` of the open invoices whose ``column`` is one of ``values``, through that column's index.

        PostgreSQL: the values as rows, each looked up on its own (a LATERAL join). Before a fresh table has
        statistics (a company's first import, then its first statement) the planner took a semi-join with a list
        of 500 keys for cheap against "a few" invoices of the company, read all 100,000 by another index and
        compared each with every key: 1 to 3 s a lookup. A lookup per key is an index probe whatever the planner
        knows (as the name words' query, members_lookup)."""
        if not is_postgres(self.session):
            query = select(*selected).where(self._open_with_key(), one_of(column, values), *self._present(column))
            return query.distinct() if distinct else query
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        key = func.unnest(array).table_valued("value").render_derived(name="key")
        query = select(*selected).where(self._open_with_key(), column == key.c.value, *self._present(column))
        if distinct:
            query = query.distinct()
        found = query.offset(0).lateral("found")  # a fence: PostgreSQL would flatten it into a join, as above
        return select(found).join_from(key, found, true())

    def _present(self, column: Any) -> list[Any]:
        """Keys most invoices lack (an account, a number without letters) are indexed only where present
        (partial indexes: a registration writes fewer B-trees). PostgreSQL uses such an index only when the
        query says so. SQLite infers it from the lookup itself, and told so it read the key's whole range
        (``key > NULL``) rather than each value: 9 ms against 0.4 ms for 500 numbers at 33,000 invoices."""
        return [column.is_not(None)] if column.nullable and is_postgres(self.session) else []

    def invoices(self, column: Any, values: Sequence[Any]) -> list[OpenInvoice]:
        out = []
        for chunk in _chunks(values):
            self.queries += 1
            out += self._read(self.session.execute(self.lookup(column, chunk)))
        return out

    def _read(self, rows: Any) -> list[OpenInvoice]:
        # Values many invoices share (a customer's key and name, a kind, a date, an amount) are kept once.
        shared = self._shared
        amount = self._amount
        return [
            OpenInvoice(
                id,
                number,
                shared.setdefault(kind, kind),
                amount(outstanding),
                shared.setdefault(issue_date, issue_date),
                shared.setdefault(due_date, due_date),
                reference,
                shared.setdefault(customer_key, customer_key),
                shared.setdefault(customer_name, customer_name),
                customer_iban,
                amount(total),
            )
            for (id, number, kind, outstanding, total, issue_date, due_date, reference, customer_key, customer_name,
                 customer_iban) in rows
        ]  # fmt: skip

    def _amount(self, mills: int) -> Decimal:
        value = self._amounts.get(mills)
        if value is None:
            value = self._amounts[mills] = from_mills(mills)
        return value

    def open_count_above(self, limit: int) -> bool:
        """Whether the company has more than ``limit`` open invoices (counting at most limit + 1 of them)."""
        self.queries += 1
        some = select(_INVOICES.c.id).where(self._open()).limit(limit + 1).subquery()
        return self.session.execute(select(func.count()).select_from(some)).scalar_one() > limit

    def all_open(self) -> list[OpenInvoice]:
        """The whole open ledger, by the status index (not every invoice the company ever had)."""
        self.queries += 1
        return self._read(self.session.execute(select(*_COLUMNS).where(self._open())))

    def learned_payers(self, ibans: Sequence[str] | None = None) -> dict[str, set[str]]:
        """Per account: the customers that paid from it before (of the given accounts, or all)."""
        out: dict[str, set[str]] = defaultdict(set)
        chunks = [None] if ibans is None else list(_chunks(ibans))
        for chunk in chunks:
            self.queries += 1
            query = select(_LEARNED.c.iban, _LEARNED.c.customer_key).where(_LEARNED.c.company_id == self.company_id)
            if chunk is not None:
                query = query.where(one_of(_LEARNED.c.iban, chunk))
            for iban, key in self.session.execute(query):
                out[iban].add(key)
        return out

    def customers_by_iban(self, ibans: Sequence[str]) -> dict[str, set[str]]:
        """Per account: the customers with open invoices naming it, and those that paid from it before."""
        out = self.learned_payers(ibans)
        for chunk in _chunks(ibans):
            self.queries += 1
            for iban, key in self.session.execute(self.iban_lookup(chunk)):
                out[iban].add(key)
        return out

    def iban_lookup(self, ibans: Sequence[str]) -> Any:
        """The customers of open invoices naming one of ``ibans`` (the partial index holds named accounts only)."""
        iban = _INVOICES.c.customer_iban
        return self._by_key((iban, _INVOICES.c.customer_key), iban, ibans, distinct=True)

    def token_counts(self, tokens: Sequence[str]) -> dict[str, int]:
        """Per word: how many customers have it in their name (decides which word of a payer's name is the
        rarest, an index-only count)."""
        counts: dict[str, int] = {}
        for chunk in _chunks(tokens):
            self.queries += 1
            counts.update(
                self.session.execute(
                    select(_TOKENS.c.token, func.count())
                    .where(_TOKENS.c.company_id == self.company_id, one_of(_TOKENS.c.token, chunk))
                    .group_by(_TOKENS.c.token)
                ).all()
            )
        return counts

    def token_members(self, tokens: Sequence[str]) -> dict[str, dict[str, str]]:
        """Per word: up to NAME_BUCKET customers with open invoices that have it in their name (key -> name)."""
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for chunk in _chunks(tokens):
            self.queries += 1
            for token, key, name in self.session.execute(self.members_lookup(chunk)):
                out[token][key] = name
        return out

    def members_lookup(self, words: list[str]) -> Any:
        """The query behind token_members, for the session's database."""
        return self._members_by_word(words) if is_postgres(self.session) else self._members_ranked(words)

    def _has_open_invoice(self) -> Any:
        """The word row's customer has an open invoice: asked per row, by the customer's index.

        The OFFSET 0 keeps PostgreSQL from turning the EXISTS into a join. Planned without statistics (just
        after an import) it drove that join from the company's open invoices and probed the words by customer,
        which is not a prefix of their key: 100 s for 50 words at 100,000 invoices, 0.02 s word first.
        """
        return (
            select(literal(1))
            .where(
                _INVOICES.c.company_id == self.company_id,
                _INVOICES.c.customer_key == _TOKENS.c.customer_key,
                Unindexed(_INVOICES.c.status).in_(OPEN_STATUSES),
            )
            .offset(0)
            .exists()
        )

    def _members_by_word(self, chunk: list[str]) -> Any:
        """PostgreSQL: for each word, its first NAME_BUCKET customers in key order (the words' own index, read
        word by word and stopped at the bucket's size, whatever the planner knows of the tables)."""
        word = (
            func.unnest(bindparam(None, chunk, type_=ARRAY(String()))).table_valued("token").render_derived(name="word")
        )
        members = (
            select(_TOKENS.c.customer_key, _TOKENS.c.customer_name)
            .where(_TOKENS.c.company_id == self.company_id, _TOKENS.c.token == word.c.token, self._has_open_invoice())
            .order_by(_TOKENS.c.customer_key)
            .limit(NAME_BUCKET)
            .lateral("members")
        )
        return select(word.c.token, members.c.customer_key, members.c.customer_name).join_from(word, members, true())

    def _members_ranked(self, chunk: list[str]) -> Any:
        """SQLite (no LATERAL): the same rows, numbered per word."""
        place = func.row_number().over(partition_by=_TOKENS.c.token, order_by=_TOKENS.c.customer_key)
        ranked = (
            select(_TOKENS.c.token, _TOKENS.c.customer_key, _TOKENS.c.customer_name, place.label("place"))
            .where(_TOKENS.c.company_id == self.company_id, one_of(_TOKENS.c.token, chunk), self._has_open_invoice())
            .subquery()
        )
        return select(ranked.c.token, ranked.c.customer_key, ranked.c.customer_name).where(
            ranked.c.place <= NAME_BUCKET
        )


class StoredInvoiceIndex(InvoiceIndex):
    """An InvoiceIndex that loads what it is asked about (see the module's docstring)."""

    def __init__(self, source: SqlCandidates) -> None:
        super().__init__([])
        self.source = source
        self._loaded: dict[str, set[Any]] = defaultdict(set)
        self._ibans: dict[str, set[str]] = {}
        self._counts: dict[str, int] = {}
        self._members: dict[str, dict[str, str]] = {}
        #: Every open invoice is in memory: lookups answer from it, as the pure engine does.
        self.complete = False
        #: Who paid, per payment of the chunk being matched: found once by prefetch, asked again by the matcher
        #: (nothing it depends on changes before the chunk is settled and its accounts learned).
        self._payers: dict[str, Payer] = {}
        #: The largest bound the open ledger was found above (see load_everything_if_small).
        self._too_large = -1

    def load_everything_if_small(self, payments: int) -> bool:
        """A run with many payments against a ledger of comparable size (a large file, a small company) is
        cheaper with one read of the open ledger than with lookups per key; the cost still follows the work,
        since the ledger read is at most WHOLE_LEDGER_FACTOR times the payments, and its memory bounded by
        WHOLE_LEDGER_LIMIT. Returns whether it did."""
        most = min(WHOLE_LEDGER_FACTOR * payments, WHOLE_LEDGER_LIMIT)
        if self.complete or most <= self._too_large:
            return self.complete
        if self.source.open_count_above(most):
            self._too_large = most  # a run only settles invoices: asked again only for a larger bound
            return False
        self._take(self.source.all_open())
        for key in self.by_customer:
            self.sort_customer(key)
        for iban, keys in self.source.learned_payers().items():
            self.customers_by_iban[iban] |= keys
        self.complete = True
        return True

    # -- loading -------------------------------------------------------------------------------------------

    def _missing(self, kind: str, keys: Iterable[Any]) -> list[Any]:
        if self.complete:
            return []
        loaded = self._loaded[kind]
        missing = sorted({k for k in keys if k is not None and k not in loaded})
        loaded.update(missing)
        return missing

    def _take(self, invoices: Iterable[OpenInvoice]) -> None:
        for inv in invoices:
            if inv.id not in self.by_id:  # in memory, the run's own settlements stand
                self.add(inv)

    def load_references(self, refs: Iterable[str]) -> None:
        missing = self._missing("reference", refs)
        if missing:
            self._take(self.source.invoices(_INVOICES.c.structured_reference, missing))

    def load_numbers(self, keys: Iterable[str]) -> None:
        missing = self._missing("number", keys)
        if missing:
            self._take(self.source.invoices(_INVOICES.c.number_key, missing))
            self._take(self.source.invoices(_INVOICES.c.number_digits_key, missing))

    def load_tails(self, tails: Iterable[int]) -> None:
        missing = self._missing("tail", tails)
        if missing:
            self._take(self.source.invoices(_INVOICES.c.number_tail, [str(t) for t in missing]))

    def load_amounts(self, amounts: Iterable[Decimal]) -> None:
        missing = self._missing("amount", amounts)
        if missing:
            self._take(self.source.invoices(_INVOICES.c.outstanding, missing))

    def load_customers(self, customers: Iterable[str]) -> None:
        missing = self._missing("customer", customers)
        if missing:
            self._take(self.source.invoices(_INVOICES.c.customer_key, missing))
            for key in missing:
                self.sort_customer(key)

    def load_ibans(self, ibans: Iterable[str]) -> None:
        missing = self._missing("iban", ibans)
        if missing:
            found = self.source.customers_by_iban(missing)
            for iban in missing:
                self._ibans[iban] = found.get(iban, set())

    def load_token_counts(self, tokens: Iterable[str]) -> None:
        missing = self._missing("count", tokens)
        if missing:
            found = self.source.token_counts(missing)
            for token in missing:
                self._counts[token] = found.get(token, 0)

    def load_token_members(self, tokens: Iterable[str]) -> None:
        missing = self._missing("members", tokens)
        if missing:
            found = self.source.token_members(missing)
            for token in missing:
                self._members[token] = found.get(token, {})

    def rarest(self, tokens: set[str]) -> str | None:
        """The word of a name that fewest customers share (counts loaded before)."""
        present = [t for t in sorted(tokens) if self._counts.get(t, 0) > 0]
        return min(present, key=lambda t: self._counts[t]) if present else None

    def prefetch(self, payments: Sequence[Payment], config: MatchConfig) -> None:
        """Load, in bulk, what matching these payments will look up: references (and their one-typo
        neighbours), invoice numbers, payer accounts and names, then the payers' open invoices."""
        self._payers.clear()
        if self.complete:
            return
        refs: set[str] = set()
        numbers: set[str] = set()
        tails: set[int] = set()
        texts = []  # per payment: its structured communication and the references typed in its text
        for p in payments:
            if p.structured_reference:
                refs.add(p.structured_reference)
            found = find_references(p.communication)
            refs.update(ref.value for ref in found if ref.valid)
            texts.append((p.structured_content, found))
            full, tail = numbers_in_text(p.communication)
            numbers |= full
            tails |= tail
        self.load_references(refs)
        # Neighbours only of what names no open invoice as it is (as the engine looks for typos).
        self.load_references(
            format_ogm(variant)
            for structured, found in texts
            for digits in typo_suspects(structured, found, lambda ref: self.reference(ref) is not None)
            for variant in one_typo_variants(digits)
        )
        self.load_numbers(numbers)
        self.load_tails(tails)
        # Who paid matters only to a payment that no reference settles (the matcher asks nothing else of the
        # rest, unless money is left over, which the lookups then load as asked).
        unexplained = [p for p, (_, found) in zip(payments, texts, strict=True) if not self._names_open(p, found)]
        self.load_ibans(p.counterparty_iban for p in unexplained if p.counterparty_iban)
        self.load_token_counts(token for p in unexplained for token in name_tokens(p.counterparty_name))
        self.load_token_members(
            rarest for p in unexplained if (rarest := self.rarest(name_tokens(p.counterparty_name))) is not None
        )
        payers: set[str] = set()
        for p in unexplained:
            payers |= self.payer(p, config.name_threshold).customers
        self.load_customers(payers)
        if len(unexplained) >= BULK_AMOUNTS:
            self.load_amounts(abs(p.amount) for p in unexplained)

    def _names_open(self, payment: Payment, found: Sequence[Any]) -> bool:
        """Whether the payment's structured reference, or one typed in its text, names an open invoice."""
        refs = [payment.structured_reference] + [ref.value for ref in found if ref.valid]
        return any(ref and self.open(self.reference(ref)) is not None for ref in refs)

    # -- lookups: load first, then answer as the in-memory index ------------------------------------------

    def _need(self, kind: str, key: Any, load: Callable[[list[Any]], None]) -> None:
        if not self.complete and key not in self._loaded[kind]:  # the common case: asked before, or prefetched
            load([key])

    def reference(self, ref: str) -> OpenInvoice | None:
        self._need("reference", ref, self.load_references)
        return super().reference(ref)

    def with_full_number(self, key: str) -> list[OpenInvoice]:
        self._need("number", key, self.load_numbers)
        return super().with_full_number(key)

    def with_tail(self, tail: int) -> list[OpenInvoice]:
        self._need("tail", tail, self.load_tails)
        return super().with_tail(tail)

    def with_amount(self, amount: Decimal) -> list[OpenInvoice]:
        self._need("amount", amount, self.load_amounts)
        return super().with_amount(amount)

    def customer_size(self, customer: str) -> int:
        self._need("customer", customer, self.load_customers)
        return super().customer_size(customer)

    def customer_with_due(self, customer: str, amount: Decimal) -> list[OpenInvoice]:
        self._need("customer", customer, self.load_customers)
        return super().customer_with_due(customer, amount)

    def customer_due_sum(self, customer: str) -> Decimal:
        self._need("customer", customer, self.load_customers)
        return super().customer_due_sum(customer)

    def customer_kinds(self, customer: str) -> set[str]:
        self._need("customer", customer, self.load_customers)
        return super().customer_kinds(customer)

    def open_documents(self, customer: str, limit: int | None = None) -> list[OpenInvoice]:
        self._need("customer", customer, self.load_customers)
        return super().open_documents(customer, limit)

    def payer(self, payment: Payment, threshold: float) -> Payer:
        found = self._payers.get(payment.id)
        if found is None:
            found = self._payers[payment.id] = super().payer(payment, threshold)
        return found

    def learn_payer(self, iban: str, customer: str) -> None:
        self._payers.clear()
        super().learn_payer(iban, customer)
        if iban in self._ibans:  # not read yet: the read will find it among the learned payers
            self._ibans[iban].add(customer)

    def customer_iban_keys(self, iban: str) -> set[str] | None:
        if self.complete:
            return super().customer_iban_keys(iban)
        if iban not in self._ibans:
            self.load_ibans([iban])
        return self._ibans.get(iban) or None

    def name_candidates(self, tokens: set[str]) -> list[tuple[str, str | None]]:
        if self.complete:
            return super().name_candidates(tokens)
        self.load_token_counts(tokens)
        token = self.rarest(tokens)
        if token is None:
            return []
        self.load_token_members([token])
        return list(self._members[token].items())
