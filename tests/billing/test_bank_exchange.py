"""Bank statements in 1CClientBankExchange: what a bank sends reads back as written, in each encoding and line
ending; incoming and outgoing payments are told apart; each malformed file names its line; invoice numbers are
found in payment purposes without guessing."""
import codecs
from datetime import date
from decimal import Decimal

import pytest

from services.billing.bank_exchange import Statement, StatementFormatError, invoice_numbers, parse, write
from tests.support.bank_statements import (CUSTOMER_INN, CUSTOMER_NAME, OUR_ACCOUNT, from_lines, lines_of, payment,
                                           statement, statement_with)


def a_months_statement() -> Statement:
    return statement([
        payment("in", number="512", amount=Decimal("118000.00"),
                purpose="Оплата по счету № СЧ-2026-000123 от 01.12.2026. В т.ч. НДС (20%) 19666.67 руб."),
        payment("out", number="77", date=date(2026, 12, 11), amount=Decimal("2500.50"),
                purpose="Оплата по договору № 15 от 01.01.2026 за услуги связи. НДС не облагается"),
        payment("in", number="9", date=date(2026, 12, 12), amount=Decimal("0.01"), payer_kpp="",
                payer_name='ООО "Ёлка & Ко" (филиал №2)', purpose="Предоплата по сч. СЧ-2026-124; без НДС"),
        payment("in", kind="Платежное требование", number="3", amount=Decimal("999999999999.99")),
        payment("out", kind="Банковский ордер", number="48", amount=Decimal("150"), purpose="Комиссия банка"),
    ])


@pytest.mark.parametrize("encoding, keyword", [("cp1251", "Windows"), ("utf-8-sig", "UTF-8"), ("utf-8", "UTF-8"),
                                               ("cp866", "DOS")])
def test_a_statement_reads_back_as_written_in_each_encoding(encoding, keyword):
    original = a_months_statement()
    raw = write(original, encoding)
    assert raw.startswith(codecs.BOM_UTF8 + b"1CClientBankExchange\r\n" if encoding == "utf-8-sig"
                          else b"1CClientBankExchange\r\n")
    assert f"\r\nКодировка={keyword}\r\n".encode(encoding.replace("-sig", "")) in raw
    assert raw.endswith("КонецФайла\r\n".encode(encoding.replace("-sig", "")))
    assert parse(raw) == original
    assert parse(raw.replace(b"\r\n", b"\n")) == original  # LF endings, as a file saved on Linux has


def test_a_cp1251_statement_really_is_cp1251_and_still_reads_when_it_claims_utf8():
    raw = write(a_months_statement(), "cp1251")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert parse(raw.replace(b"=Windows\r\n", b"=UTF-8\r\n")) == a_months_statement()


def test_the_bytes_decide_over_the_declared_encoding():
    """A UTF-8 file that still says Кодировка=Windows (an edited export) reads as UTF-8."""
    raw = write(a_months_statement(), "utf-8").replace(b"=UTF-8\r\n", b"=Windows\r\n")
    assert parse(raw) == a_months_statement()


def test_documents_know_the_line_their_section_starts_on():
    raw = write(a_months_statement())
    starts = [n for n, line in enumerate(lines_of(raw), 1) if line.startswith("СекцияДокумент=")]
    parsed = parse(raw)
    assert [doc.line for doc in parsed.documents] == starts
    assert [doc.kind for doc in parsed.documents] == ["Платежное поручение"] * 3 + ["Платежное требование",
                                                                                    "Банковский ордер"]
    first = parsed.documents[0]
    assert (first.number, first.date, first.amount, first.payer_inn, first.payer_name, first.payee_account,
            first.received_on, first.written_off_on) == (
        "512", date(2026, 12, 10), Decimal("118000.00"), CUSTOMER_INN, CUSTOMER_NAME, OUR_ACCOUNT,
        date(2026, 12, 10), None)
    assert (parsed.account, parsed.date_from, parsed.date_to) == (OUR_ACCOUNT, date(2026, 12, 10),
                                                                  date(2026, 12, 12))


def test_incoming_are_the_payments_to_the_statements_own_account():
    parsed = parse(write(a_months_statement()))
    assert [doc.number for doc in parsed.incoming()] == ["512", "9", "3"]
    assert [doc.number for doc in parsed.outgoing()] == ["77", "48"]


def test_without_our_account_on_either_side_the_received_date_decides():
    """A bank order crediting us may name the bank's own accounts on both sides; ДатаПоступило still says it."""
    credited = payment("in", number="1", payee_account="47422810000000000001", payer_account="")
    debited = payment("out", number="2", payer_account="47423810000000000002")
    parsed = parse(write(statement([credited, debited])))
    assert [doc.number for doc in parsed.incoming()] == ["1"]
    assert [doc.number for doc in parsed.outgoing()] == ["2"]


def test_a_purpose_split_over_numbered_lines_is_joined():
    lines = lines_of(statement_with([{}]))
    at = lines.index(next(line for line in lines if line.startswith("НазначениеПлатежа=")))
    lines[at:at + 1] = ["НазначениеПлатежа=", "НазначениеПлатежа1=Оплата по счету № СЧ-2026-000123",
                        "НазначениеПлатежа2=от 01.12.2026 за поставку товара", "НазначениеПлатежа3=",
                        "НазначениеПлатежа4=НДС не облагается"]
    assert parse(from_lines(lines)).documents[0].purpose == \
        "Оплата по счету № СЧ-2026-000123 от 01.12.2026 за поставку товара НДС не облагается"


def test_the_one_line_purpose_wins_over_its_numbered_copy():
    """Banks often send both: the whole purpose, and the same text split for the printed order."""
    lines = lines_of(statement_with([{"purpose": "Оплата по счету № СЧ-2026-000123"}]))
    at = lines.index("НазначениеПлатежа=Оплата по счету № СЧ-2026-000123")
    lines[at + 1:at + 1] = ["НазначениеПлатежа1=Оплата по счету", "НазначениеПлатежа2=№ СЧ-2026-000123"]
    assert parse(from_lines(lines)).documents[0].purpose == "Оплата по счету № СЧ-2026-000123"


def test_unknown_keys_blank_lines_and_the_older_payer_line_are_taken_in_stride():
    lines = lines_of(statement_with([{}]))
    lines = [line for line in lines if not line.startswith(("Плательщик1=", "ПлательщикИНН=", "ПлательщикСчет="))]
    lines = [f"Плательщик=ИНН {CUSTOMER_INN} {CUSTOMER_NAME}" if line.startswith("Плательщик=") else line
             for line in lines]
    at = lines.index("КонецДокумента")
    lines[at:at] = ["ПлательщикРасчСчет=40702810238000001234", "КодУИН=0", "ПоказательКБК=", "", "  "]
    lines += ["", "что-то после конца файла"]
    doc = parse(from_lines(lines)).documents[0]
    assert (doc.payer_inn, doc.payer_name, doc.payer_account) == (CUSTOMER_INN, CUSTOMER_NAME,
                                                                  "40702810238000001234")


def test_the_account_and_period_may_come_from_the_account_section_alone():
    lines = [line for line in lines_of(statement_with([{}]))[:9] if not line.startswith(("РасчСчет=", "Дата"))]
    lines += ["СекцияРасчСчет", "ДатаНачала=01.12.2026", "ДатаКонца=31.12.2026", f"РасчСчет={OUR_ACCOUNT}",
              "НачальныйОстаток=0.00", "КонецРасчСчет", "КонецФайла"]
    parsed = parse(from_lines(lines))
    assert (parsed.account, parsed.date_from, parsed.date_to, parsed.created_on, parsed.documents) == (
        OUR_ACCOUNT, date(2026, 12, 1), date(2026, 12, 31), None, [])


def test_writing_refuses_an_encoding_the_format_has_no_name_for():
    with pytest.raises(ValueError):
        write(a_months_statement(), "koi8-r")


def failure(lines: list[str]) -> StatementFormatError:
    with pytest.raises(StatementFormatError) as error:
        parse(from_lines(lines))
    return error.value


def failure_at(lines: list[str]) -> tuple[int, str]:
    error = failure(lines)
    return error.line, error.message


def two_payments() -> list[str]:
    """A valid statement's lines: the account section on 10-14, documents on 15-34 and 35-54, КонецФайла on 55."""
    lines = lines_of(statement_with([{}, {"direction": "out"}]))
    assert (lines[9], lines[14], lines[34], lines[54]) == ("СекцияРасчСчет", "СекцияДокумент=Платежное поручение",
                                                            "СекцияДокумент=Платежное поручение", "КонецФайла")
    return lines


def replaced(lines: list[str], key: str, value: str | None, nth: int = 0) -> tuple[list[str], int]:
    """`lines` with the nth `key=` line set to `key=value` (or removed when value is None), and that line's number."""
    at = [i for i, line in enumerate(lines) if line.partition("=")[0] == key][nth]
    lines[at:at + 1] = [] if value is None else [f"{key}={value}"]
    return lines, at + 1


@pytest.mark.parametrize("first_line", ["", "1CClientBankExchange2", "name;inn;amount", "КонецФайла"])
def test_a_file_that_does_not_start_with_the_header_fails_on_line_1(first_line):
    error = failure([first_line] + two_payments()[1:])
    assert (error.line, error.message) == (1, "the file does not start with 1CClientBankExchange")
    assert str(error) == "line 1: the file does not start with 1CClientBankExchange"


def test_an_empty_file_fails_on_line_1():
    with pytest.raises(StatementFormatError) as error:
        parse(b"")
    assert error.value.line == 1


@pytest.mark.parametrize("removed, opened_on", [(34, 15), (54, 35), (14, 10)])
def test_an_unclosed_section_fails_on_the_line_it_starts(removed, opened_on):
    lines = two_payments()
    closing = lines.pop(removed - 1)
    assert failure_at(lines) == (opened_on, f"the section that starts here is not closed with {closing}")


def test_a_section_still_open_at_the_end_of_the_file_fails_on_its_first_line():
    assert failure_at(two_payments()[:45]) == (35, "the section that starts here is not closed with КонецДокумента")


@pytest.mark.parametrize("stray", ["КонецДокумента", "КонецРасчСчет"])
def test_a_closing_line_outside_a_section_fails_on_that_line(stray):
    lines = two_payments()
    lines.insert(34, stray)
    assert failure_at(lines) == (35, f"{stray} closes no section")


@pytest.mark.parametrize("bad_line, inside", [("Сумма 1000.00", True), ("=1000.00", True),
                                             ("Плательщик ИНН=7707083893", True), ("ОбычнаяСтрока", False),
                                             ('"Получатель"=ООО', False)])
def test_a_line_that_is_not_key_value_fails_on_that_line(bad_line, inside):
    lines = two_payments()
    at = 20 if inside else 5  # inside the first document, or in the header
    lines.insert(at - 1, bad_line)
    error = failure(lines)
    assert error.line == at
    assert error.message.startswith("not a key=value line")


def test_a_document_without_a_kind_fails_on_its_first_line():
    lines = two_payments()
    lines[34] = "СекцияДокумент="
    assert failure_at(lines) == (35, "СекцияДокумент names no document kind")


@pytest.mark.parametrize("amount", ["1000,00", "-5.00", "0.00", "0", "10.001", "1 000.00", "abc", "1e3",
                                    "1000000000000.00"])
def test_an_amount_that_is_not_positive_with_two_decimals_fails_on_its_line(amount):
    lines, at = replaced(two_payments(), "Сумма", amount, nth=1)
    error = failure(lines)
    assert error.line == at > 35
    assert error.message == f"Сумма must be a positive amount such as 1250.00, not {amount!r}"


@pytest.mark.parametrize("amount", [None, ""])
def test_a_document_without_an_amount_fails_on_its_first_line(amount):
    lines, _ = replaced(two_payments(), "Сумма", amount, nth=1)
    assert failure_at(lines) == (35, "the document has no Сумма")


@pytest.mark.parametrize("key, nth, value", [("Дата", 0, "31.02.2026"), ("Дата", 1, "2026-12-10"),
                                             ("ДатаПоступило", 0, "10.13.2026"), ("ДатаСписано", 1, "1.12.2026"),
                                             ("ДатаНачала", 0, "01.12.26"), ("ДатаСоздания", 0, "вчера")])
def test_an_invalid_date_fails_on_its_line(key, nth, value):
    lines, at = replaced(two_payments(), key, value, nth)
    assert failure_at(lines) == (at, f"{key} must be a date dd.mm.yyyy, not {value!r}")


def test_a_document_without_a_date_fails_on_its_first_line():
    lines, _ = replaced(two_payments(), "Дата", None, nth=0)
    assert failure_at(lines) == (15, "the document has no Дата")


def test_a_file_without_its_end_marker_fails_on_its_last_line():
    lines = two_payments()[:-1] + ["", ""]
    assert failure_at(lines) == (54, "the file ends without КонецФайла")


@pytest.mark.parametrize("purpose, numbers", [
    ("Оплата по счету № СЧ-2026-000123 от 01.12.2026. В т.ч. НДС 20%", ["СЧ-2026-000123"]),
    ("Оплата по счету №СЧ-2026-000123 от 01.12.2026", ["СЧ-2026-000123"]),
    ("по сч. СЧ-2026-123", ["СЧ-2026-000123"]),
    ("оплата сч-2026-000123", ["СЧ-2026-000123"]),
    ("CЧ-2026-000123 (латинская C)", ["СЧ-2026-000123"]),
    ("Оплата СЧ – 2026 – 000123", ["СЧ-2026-000123"]),
    ("счёт №123 от 01.12.2026", ["СЧ-2026-000123"]),
    ("Оплата по счету 123 от 01.12.2026", ["СЧ-2026-000123"]),
    ("Оплата по счету на оплату № 77 от 3.1.26", ["СЧ-2026-000077"]),
    ("Предоплата по счету № 45 от 28.12.2025, поставка в январе", ["СЧ-2025-000045"]),
    ("Оплата счета № 45", ["000045"]),
    ("Оплата по счету № 45 от 31.02.2026", ["000045"]),
    ("Оплата по счетам СЧ-2026-000001, СЧ-2026-000002 и СЧ-2026-000001", ["СЧ-2026-000001", "СЧ-2026-000002"]),
    ("Оплата по счету № 12 от 01.12.2026 по договору № 15 от 01.01.2026", ["СЧ-2026-000012"]),
    ("расчет по счету № 5", ["000005"]),
    # Negatives: nothing here is certainly one of our invoice numbers.
    ("", []),
    ("Оплата по договору № 15", []),
    ("Договор № 15 от 01.12.2026", []),
    ("Возврат, тел. 8-912-123-45-67", []),
    ("Сумма 123456.78 руб., в т.ч. НДС 20576.13", []),
    ("Оплата по счету 123", []),
    ("Оплата по счет-фактуре № 45 от 01.12.2026", []),
    ("Оплата сч.ф. 45 от 01.12.2026", []),
    ("Оплата с/ф № 45 от 01.12.2026", []),
    ("Пополнение лицевого счета № 12345", []),
    ("Перевод на расчетный счет 40702810200000012345", []),
    ("Оплата по счету № 123/1 от 01.12.2026", []),
    ("Оплата по счету № 123-А", []),
    ("Оплата по счету № 0", []),
    ("СЧ-2026-0001234 (семь цифр)", []),
    ("СЧ-1999-000123", []),
])
def test_invoice_numbers_in_a_purpose(purpose, numbers):
    assert invoice_numbers(purpose) == numbers
