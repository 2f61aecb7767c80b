"""Bank statements in 1CClientBankExchange, the text format Russian banks and 1C exchange: `key=value` lines
between a `1CClientBankExchange` header and `КонецФайла`, an account section `СекцияРасчСчет ... КонецРасчСчет`
and one `СекцияДокумент=<kind> ... КонецДокумента` per payment. `parse` reads a statement (tolerant of unknown
keys and document kinds, strict about what matching relies on: amounts, dates, the section structure), `write`
produces one, `invoice_numbers` finds our invoice numbers in a payment's purpose."""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from glassbox.money import AMOUNT_PATTERN

HEADER = "1CClientBankExchange"
KEYWORD_OF = {"cp1251": "Windows", "cp866": "DOS", "utf-8": "UTF-8", "utf-8-sig": "UTF-8"}
ACCOUNT_START, ACCOUNT_END = "СекцияРасчСчет", "КонецРасчСчет"
DOCUMENT_START, DOCUMENT_END, FILE_END = "СекцияДокумент", "КонецДокумента", "КонецФайла"
MARKERS = frozenset({ACCOUNT_START, ACCOUNT_END, DOCUMENT_END, FILE_END})  # the lines that are not key=value
PURPOSE_LINES = tuple(f"НазначениеПлатежа{n}" for n in range(1, 7))  # the purpose split as on the printed order
DATE_KEYS = frozenset({"Дата", "ДатаПоступило", "ДатаСписано", "ДатаСоздания", "ДатаНачала", "ДатаКонца"})
KEY = re.compile(r"\w[\w.-]*")  # what a key may be beyond letters and digits
AMOUNT = re.compile(AMOUNT_PATTERN)
DATE = re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{4}")
INN_PREFIX = re.compile(r"ИНН\s*([0-9]{10}|[0-9]{12})[\s\\]+(.*)")  # the older "Плательщик=ИНН 7707083893 Name"


class StatementFormatError(ValueError):
    """A statement that cannot be read; `line` is 1-based, `message` says what is wrong."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(slots=True)
class StatementDocument:
    """One payment. Text fields are "" when the statement leaves them out."""
    line: int = field(compare=False)  # where its section starts: provenance, not content
    kind: str  # Платежное поручение, Платежное требование, Банковский ордер, ...
    number: str
    date: date
    amount: Decimal
    payer_name: str = ""
    payer_inn: str = ""
    payer_kpp: str = ""
    payer_account: str = ""
    payee_name: str = ""
    payee_inn: str = ""
    payee_kpp: str = ""
    payee_account: str = ""
    received_on: date | None = None  # ДатаПоступило: credited to the payee's account
    written_off_on: date | None = None  # ДатаСписано: debited from the payer's account
    purpose: str = ""


@dataclass
class Statement:
    account: str  # the statement's own settlement account (РасчСчет)
    date_from: date | None
    date_to: date | None
    created_on: date | None
    documents: list[StatementDocument] = field(default_factory=list)

    def incoming(self) -> list[StatementDocument]:
        """The documents credited to this account: paid to it, or (when neither side names it) received."""
        return [doc for doc in self.documents if self._is_incoming(doc)]

    def outgoing(self) -> list[StatementDocument]:
        return [doc for doc in self.documents if not self._is_incoming(doc)]

    def _is_incoming(self, doc: StatementDocument) -> bool:
        if self.account and doc.payee_account == self.account:
            return True
        if self.account and doc.payer_account == self.account:
            return False
        return doc.received_on is not None


def parse(raw: bytes) -> Statement:
    """The statement in `raw` (UTF-8 with or without BOM, Windows-1251 or DOS-866; CRLF or LF line endings).
    Raises StatementFormatError naming the first problem and its line."""
    lines = _decode(raw).split("\n")
    if lines[0].strip() != HEADER:
        raise StatementFormatError(1, f"the file does not start with {HEADER}")
    header: dict[str, str] = {}
    documents: list[StatementDocument] = []
    section: dict[str, str] | None = None  # the keys of the open section, None between sections
    at: dict[str, int] = {}  # the line of each key of the open section
    start, kind = 0, ""  # the open section's first line and kind (ACCOUNT_START or a document kind)
    for number, line in enumerate(lines[1:], 2):
        line = line.strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        key = key.rstrip()
        if equals and key != DOCUMENT_START:
            if not key.isalnum() and not KEY.fullmatch(key):
                raise StatementFormatError(number, f"not a key=value line: {line[:40]!r}")
            if section is None:
                header[key] = value.strip()
                _date(header, {key: number}, key)  # a bad header date fails at its own line
            else:
                section[key] = value.strip()
                at[key] = number
        elif section is not None:
            if line != _closing(kind):
                if equals or line in MARKERS:
                    raise _unclosed(start, kind)
                raise StatementFormatError(number, f"not a key=value line: {line[:40]!r}")
            if kind == ACCOUNT_START:
                _take_account(header, section, at)
            else:
                documents.append(_document(section, at, start, kind))
            section = None
        elif line == FILE_END:
            return _statement(header, documents)
        elif line == ACCOUNT_START or equals:  # equals: a СекцияДокумент=<kind> line
            kind = ACCOUNT_START if line == ACCOUNT_START else value.strip()
            if not kind:
                raise StatementFormatError(number, f"{DOCUMENT_START} names no document kind")
            section, at, start = {}, {}, number
        elif line in MARKERS:
            raise StatementFormatError(number, f"{line} closes no section")
        else:
            raise StatementFormatError(number, f"not a key=value line: {line[:40]!r}")
    if section is not None:
        raise _unclosed(start, kind)
    last = max(number for number, line in enumerate(lines, 1) if line.strip())
    raise StatementFormatError(last, f"the file ends without {FILE_END}")


def _closing(kind: str) -> str:
    return ACCOUNT_END if kind == ACCOUNT_START else DOCUMENT_END


def _unclosed(start: int, kind: str) -> StatementFormatError:
    return StatementFormatError(start, f"the section that starts here is not closed with {_closing(kind)}")


def _decode(raw: bytes) -> str:
    """Strict UTF-8 first (cp1251 Cyrillic is never valid UTF-8), else the declared Кодировка, else cp1251."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    codec = "cp1251"
    for candidate in ("cp1251", "cp866"):  # the key itself is Cyrillic, so look for it in both
        marker = "Кодировка=".encode(candidate)
        found = raw.find(marker)
        if found >= 0:
            declared = raw[found + len(marker):].split(b"\n", 1)[0].strip().decode("ascii", "replace").lower()
            codec = "cp866" if declared == "dos" else "cp1251"  # Windows, or a UTF-8 claim that just failed
            break
    return raw.decode(codec, errors="replace")


def _take_account(header: dict[str, str], section: dict[str, str], at: dict[str, int]) -> None:
    """The account section's account and period, where the header leaves them out."""
    for key in ("РасчСчет", "ДатаНачала", "ДатаКонца"):
        _date(section, at, key)
        if section.get(key) and not header.get(key):
            header[key] = section[key]


def _statement(header: dict[str, str], documents: list[StatementDocument]) -> Statement:
    at: dict[str, int] = {}  # header dates were checked as they were read
    return Statement(account=header.get("РасчСчет", ""), date_from=_date(header, at, "ДатаНачала"),
                     date_to=_date(header, at, "ДатаКонца"), created_on=_date(header, at, "ДатаСоздания"),
                     documents=documents)


def _document(fields: dict[str, str], at: dict[str, int], start: int, kind: str) -> StatementDocument:
    text = fields.get("Сумма", "")
    if not text:
        raise StatementFormatError(start, "the document has no Сумма")
    amount = Decimal(text) if AMOUNT.fullmatch(text) else Decimal(0)
    if amount <= 0:
        raise StatementFormatError(at["Сумма"], f"Сумма must be a positive amount such as 1250.00, not {text!r}")
    document_date = _date(fields, at, "Дата")
    if document_date is None:
        raise StatementFormatError(start, "the document has no Дата")
    payer_name, payer_inn = _party(fields, "Плательщик")
    payee_name, payee_inn = _party(fields, "Получатель")
    purpose = fields.get("НазначениеПлатежа") or " ".join(
        fields[key] for key in PURPOSE_LINES if fields.get(key))
    return StatementDocument(
        line=start, kind=kind, number=fields.get("Номер", ""), date=document_date, amount=amount,
        payer_name=payer_name, payer_inn=payer_inn, payer_kpp=fields.get("ПлательщикКПП", ""),
        payer_account=fields.get("ПлательщикСчет") or fields.get("ПлательщикРасчСчет", ""),
        payee_name=payee_name, payee_inn=payee_inn, payee_kpp=fields.get("ПолучательКПП", ""),
        payee_account=fields.get("ПолучательСчет") or fields.get("ПолучательРасчСчет", ""),
        received_on=_date(fields, at, "ДатаПоступило"), written_off_on=_date(fields, at, "ДатаСписано"),
        purpose=purpose)


def _party(fields: dict[str, str], side: str) -> tuple[str, str]:
    """(name, INN) of the payer or payee: `<side>1` holds the name; the older `<side>` may prefix it with the INN."""
    name, inn = fields.get(f"{side}1", ""), fields.get(f"{side}ИНН", "")
    older = INN_PREFIX.fullmatch(fields.get(side, ""))
    if older:
        return name or older.group(2).strip(), inn or older.group(1)
    return name or fields.get(side, ""), inn


def _date(fields: dict[str, str], at: dict[str, int], key: str) -> date | None:
    """The dd.mm.yyyy date under `key`, None when absent or empty (ДатаСписано= on an incoming payment)."""
    text = fields.get(key) if key in DATE_KEYS else None
    if not text:
        return None
    try:
        if DATE.fullmatch(text):
            return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    except ValueError:
        pass
    raise StatementFormatError(at.get(key, 0), f"{key} must be a date dd.mm.yyyy, not {text!r}")


def write(statement: Statement, encoding: str = "cp1251") -> bytes:
    """`statement` as a file: CRLF line endings, in `encoding` (cp1251, cp866, utf-8, or utf-8-sig for a BOM)."""
    codec = codecs.lookup(encoding).name
    if codec not in KEYWORD_OF:
        raise ValueError(f"a statement is written in cp1251, cp866, utf-8 or utf-8-sig, not {encoding}")
    period = [f"ДатаНачала={_text(statement.date_from)}", f"ДатаКонца={_text(statement.date_to)}",
              f"РасчСчет={statement.account}"]
    lines = [HEADER, "ВерсияФормата=1.03", f"Кодировка={KEYWORD_OF[codec]}", "Отправитель=Glassbox CRM",
             "Получатель=", f"ДатаСоздания={_text(statement.created_on)}", *period,
             ACCOUNT_START, *period, ACCOUNT_END]
    for doc in statement.documents:
        lines += [f"{DOCUMENT_START}={doc.kind}", f"Номер={doc.number}", f"Дата={_text(doc.date)}",
                  f"Сумма={doc.amount:.2f}",
                  f"ПлательщикСчет={doc.payer_account}", f"ДатаСписано={_text(doc.written_off_on)}",
                  f"Плательщик={doc.payer_name}", f"ПлательщикИНН={doc.payer_inn}",
                  f"ПлательщикКПП={doc.payer_kpp}", f"Плательщик1={doc.payer_name}",
                  f"ПолучательСчет={doc.payee_account}", f"ДатаПоступило={_text(doc.received_on)}",
                  f"Получатель={doc.payee_name}", f"ПолучательИНН={doc.payee_inn}",
                  f"ПолучательКПП={doc.payee_kpp}", f"Получатель1={doc.payee_name}",
                  "ВидОплаты=01", "Очередность=5", f"НазначениеПлатежа={doc.purpose}", DOCUMENT_END]
    lines.append(FILE_END)
    return "".join(" ".join(line.splitlines()) + "\r\n" for line in lines).encode(codec)  # a value never breaks a line


def _text(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


# Invoice numbers in a payment's purpose. Ours are СЧ-<year>-<6-digit sequence>; payers also shorten them.
DASH = "[-\u2010\u2011\u2013\u2014]"  # a hyphen, or the dash a word processor put in its place
FULL_NUMBER = re.compile(rf"(?<!\w)[СC]Ч\s?{DASH}\s?(20[0-9]{{2}})\s?{DASH}\s?([0-9]{{1,6}})(?![\w/\\-]|[.,][0-9])",
                         re.IGNORECASE)
SHORT_NUMBER = re.compile(
    r"(?<!\w)сч(?:[её]т(?:а|у|ом|е)?)?\.?"  # сч, сч., счет, счёт, счета, счету, ...
    r"(?![\s.]*[-/]?\s*ф)"  # but not a счет-фактура, сч.ф., сч/ф: a VAT invoice has numbers of its own
    r"(?:\s*на\s+оплату)?\s*(№|N[o°]?\.?|#)?\s*"
    r"([0-9]{1,6})(?![\w/\\-]|[.,][0-9])"  # the whole number: not part of 123/1, 123-A, 123.45
    r"(?:\s*от\s*([0-9]{1,2})\.([0-9]{1,2})\.((?:20)?[0-9]{2})(?![0-9]))?",  # from dd.mm.yyyy or dd.mm.yy
    re.IGNORECASE)
NOT_AN_INVOICE = re.compile(r"(лицев|расч|корр|текущ|банк|ссудн|депозит|карт|транзит|спец)\w*\W*$", re.IGNORECASE)


def invoice_numbers(purpose: str) -> list[str]:
    """The invoice numbers `purpose` names, in order, each once. Conservative: a wrong number is worse than none.
    - СЧ-2026-000123 (also с/C, any case, a dash for the hyphen, an unpadded sequence: СЧ-2026-123) -> СЧ-2026-000123;
    - a word for invoice (счет, счёт, счету, сч., ...) then a number of up to 6 digits: with "от dd.mm.yyyy"
      after it -> СЧ-<that year>-<6 digits> (the invoice's date gives its year); with a № sign but no date ->
      the 6-digit sequence alone ("000123"), for the caller to match together with the INN and the amount;
      with neither ("счет 123") -> nothing.
    Never a number: a VAT invoice (счет-фактура, с/ф), a bank account (лицевой/расчетный счет ...), a number that
    runs on (123/1, 123-А, 20 digits), one after any other word (договор № 15, a phone, an amount)."""
    found: list[tuple[int, str]] = []
    for match in FULL_NUMBER.finditer(purpose):
        if int(match[2]):
            found.append((match.start(), f"СЧ-{match[1]}-{int(match[2]):06d}"))
    for match in SHORT_NUMBER.finditer(purpose):
        sign, sequence, day, month, year = match.groups()
        if not int(sequence) or NOT_AN_INVOICE.search(purpose, 0, match.start()):
            continue
        issued = _issued_year(day, month, year)
        if issued:
            found.append((match.start(), f"СЧ-{issued}-{int(sequence):06d}"))
        elif sign:
            found.append((match.start(), f"{int(sequence):06d}"))
    return list(dict.fromkeys(number for _, number in sorted(found)))


def _issued_year(day: str | None, month: str | None, year: str | None) -> int | None:
    if year is None:
        return None
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    try:
        date(full_year, int(month), int(day))
    except ValueError:
        return None  # not a date: the year is not certain either
    return full_year
