"""The printed forms read back from the PDF: what a reader finds on them, the same bytes for the same data, escaping,
missing values, and the numbers as Russian documents write them."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from weasyprint import HTML

from services.billing.documents import (amount_in_words, format_date, format_money, format_quantity, render_html,
                                        render_pdf)
from services.billing.documents.reproducible import fix_font_timestamps
from tests.support import billing_documents as samples

ROOT = Path(__file__).resolve().parents[2]


def flat(text: str) -> str:
    """Whitespace (line breaks where the layout wrapped, no-break spaces) as single spaces."""
    return " ".join(text.split())


def pdf_pages(pdf: bytes) -> list[str]:
    return [flat(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return " ".join(pdf_pages(pdf))


@pytest.fixture(scope="module")
def invoice():
    data = samples.invoice(line_count=20)
    return data, render_pdf(data)


def test_an_invoice_shows_its_number_parties_lines_totals_and_the_total_in_words(invoice):
    data, pdf = invoice
    pages = pdf_pages(pdf)
    text = " ".join(pages)
    assert len(pages) == 1  # twenty lines fit on one A4 page
    assert "Счёт на оплату № СЧ-2026-000123 от 02.12.2026" in text
    assert "АО «Волжский сталелитейный завод»" in text and "ИНН 6312345678" in text
    assert "БИК 044525225" in text and "40702810938000012345" in text and "30101810400000000225" in text
    for line in data["lines"]:
        assert flat(line["description"]) in text
    assert data["totals"]["amount"] == Decimal("366921.15")
    assert "Итого: 366 921,15" in text and "Всего к оплате: 366 921,15" in text
    assert "В том числе НДС 20 %: 61 153,50" in text
    assert "Всего наименований 20, на сумму 366 921,15 руб." in text
    assert "Триста шестьдесят шесть тысяч девятьсот двадцать один рубль 15 копеек" in text
    assert "Оплатить не позднее 12.12.2026" in text
    assert "Руководитель / Иванов И. И. /" in text and "Главный бухгалтер / Петрова А. С. /" in text
    assert "ЧЕРНОВИК" not in text


def test_the_pdf_metadata_come_from_the_document(invoice):
    metadata = pypdf.PdfReader(io.BytesIO(invoice[1])).metadata
    assert metadata.title == "Счёт на оплату № СЧ-2026-000123 от 02.12.2026"
    assert metadata.author == "ООО «Гласбокс Технологии»"
    assert metadata["/CreationDate"] == "D:20261202"


def test_a_long_invoice_goes_on_to_further_pages_with_every_line():
    data = samples.invoice(line_count=70)
    pages = pdf_pages(render_pdf(data))
    assert len(pages) >= 2
    assert f"Страница 1 из {len(pages)}" in pages[0]
    text = " ".join(pages)
    assert all(flat(line["description"]) in text for line in data["lines"])
    assert "Товары (работы, услуги)" in pages[1]  # the table header repeats
    assert "Всего наименований 70" in pages[-1]


def test_a_draft_invoice_says_черновик_and_has_no_number():
    data = samples.invoice(line_count=2, number=None)
    text = pdf_text(render_pdf(data))
    assert "ЧЕРНОВИК" in text
    assert "№ СЧ" not in text and "Счёт на оплату от 02.12.2026" in text
    assert pypdf.PdfReader(io.BytesIO(render_pdf(data))).metadata.title == "Счёт на оплату от 02.12.2026"


def test_a_waybill_shows_the_basis_units_with_okei_codes_vat_and_the_delivery_date():
    data = samples.shipment(line_count=5)
    text = pdf_text(render_pdf(data))
    assert "Товарная накладная № ТН-2026-000045 от 05.12.2026" in text
    assert "Основание: Счёт на оплату № СЧ-2026-000123 от 02.12.2026" in text
    assert "Грузоотправитель:" in text and "Грузополучатель:" in text and "Плательщик:" in text
    assert "р/с 40702810938000012345" in text
    for line in data["lines"]:
        assert flat(line["description"]) in flat(text)
    # line 3: 3 m of pipe at 512.00 with VAT: net 1 280,00, 20 %, VAT 256,00, 1 536,00
    assert "м 006 3 512,00 1 280,00 20 % 256,00 1 536,00" in text
    assert "Итого: 100 989,92 × 20 197,98 121 187,90" in text
    assert "Всего отпущено наименований 5, на сумму 121 187,90 руб." in text
    assert "Сто двадцать одна тысяча сто восемьдесят семь рублей 90 копеек" in text
    assert "Отпуск груза разрешил / Иванов И. И. /" in text and "Груз получил" in text
    assert "Дата получения груза: 07.12.2026" in text
    assert "Дата получения груза: 07.12.2026" not in pdf_text(render_pdf(samples.shipment(done_on=None)))


def test_an_act_shows_the_parties_the_services_and_the_statement_of_no_claims():
    data = samples.service_act()
    text = pdf_text(render_pdf(data))
    assert "Акт № АКТ-2026-000017 от 31.12.2026 об оказании услуг" in text
    assert "Исполнитель: ООО «Гласбокс Технологии»" in text and "Заказчик: АО «Волжский сталелитейный завод»" in text
    assert "Основание: Договор № 15/2026 от 10.01.2026" in text
    assert "Пусконаладочные работы, партия 2 2 усл. ед 45 000,00 90 000,00" in text
    assert "В том числе НДС 20 %: 29 583,33" in text
    assert "Всего оказано услуг 3, на сумму 177 500,00 руб." in text
    assert "Сто семьдесят семь тысяч пятьсот рублей 00 копеек" in text
    assert ("Вышеперечисленные услуги выполнены полностью и в срок. Заказчик претензий по объёму, качеству и срокам "
            "оказания услуг не имеет.") in text
    assert "Исполнитель / Иванов И. И. /" in text and "Заказчик" in text
    assert "Акт подписан 11.01.2027" in text
    assert "Акт подписан" not in pdf_text(render_pdf(samples.service_act(done_on=None)))


def test_a_document_without_vat_says_so_and_one_with_two_rates_lists_both():
    lines = [samples.line(1, "Консультация", "ч", "356", "5000.00", vat_rate="none")]
    text = pdf_text(render_pdf(samples.document("invoice", lines, number="СЧ-2026-000200")))
    assert "Без налога (НДС) —" in text and "В том числе НДС" not in text

    lines = [samples.line(1, "Станок", "шт", "796", "120000.00", vat_rate="20"),
             samples.line(2, "Учебник", "шт", "796", "1100.00", vat_rate="10")]
    text = pdf_text(render_pdf(samples.document("invoice", lines, number="СЧ-2026-000201")))
    assert "В том числе НДС 10 %: 100,00" in text and "В том числе НДС 20 %: 20 000,00" in text


def test_rendering_twice_gives_the_same_bytes(invoice):
    data, first = invoice
    assert render_pdf(data) == first


def test_the_html_page_is_what_the_pdf_lays_out(invoice):
    data, pdf = invoice
    assert HTML(string=render_html(data)).write_pdf(finisher=fix_font_timestamps) == pdf


def test_another_process_at_another_time_renders_the_same_bytes(invoice):
    # Another hash seed, and a clock years ahead for fontTools, which stamps the font subsets it writes.
    script = ("import hashlib, sys\nfrom services.billing.documents import render_pdf\n"
              "from tests.support.billing_documents import invoice\n"
              "sys.stdout.write(hashlib.sha256(render_pdf(invoice(line_count=20))).hexdigest())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345", "SOURCE_DATE_EPOCH": "1956528000"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout == hashlib.sha256(invoice[1]).hexdigest()


def test_threads_rendering_at_once_get_what_one_thread_gets():
    documents = [samples.service_act(), samples.shipment(line_count=3)]
    expected = [render_pdf(data) for data in documents]
    results: dict[int, bytes] = {}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, render_pdf(documents[k])))
               for k in range(len(documents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [results.get(k) for k in range(len(documents))] == expected


def test_html_in_the_data_is_printed_as_text():
    data = samples.invoice(line_count=2)
    data["lines"][0]["description"] = "<b>Болт</b> & гайка"
    data["buyer"]["name"] = 'ООО "Рога & Копыта" <script>alert(1)</script>'
    html = render_html(data)
    assert "&lt;b&gt;Болт&lt;/b&gt; &amp; гайка" in html and "<b>Болт</b>" not in html
    assert "<script>" not in html
    text = pdf_text(render_pdf(data))
    assert "<b>Болт</b> & гайка" in text
    assert 'ООО "Рога & Копыта" <script>alert(1)</script>' in text


def test_missing_optional_values_print_as_empty():
    data = samples.invoice(line_count=1, due_on=None)
    data["buyer"] = {"name": "ИП Сидоров", "inn": "771234567890", "kpp": None, "address": None}
    del data["seller"]["chief_accountant"], data["seller"]["ogrn"]
    data["lines"][0]["discount"] = None
    html = render_html(data)
    text = pdf_text(render_pdf(data))
    assert "None" not in html and "None" not in text
    assert "Покупатель (Заказчик): ИП Сидоров, ИНН 771234567890 №" in text  # no КПП, no address
    assert "ОГРН" not in text and "Оплатить не позднее" not in text


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown document kind 'receipt'"):
        render_pdf({**samples.invoice(line_count=1), "kind": "receipt"})


def test_the_stylesheet_and_templates_render_without_warnings(caplog):
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        for data in (samples.invoice(line_count=3), samples.shipment(line_count=2), samples.service_act()):
            render_pdf(data)
    # Which subsetter WeasyPrint uses depends on the machine (HarfBuzz-Subset installed or not), not on our forms.
    messages = [r.getMessage() for r in caplog.records if "instead of HarfBuzz-Subset" not in r.getMessage()]
    assert messages == []


@pytest.mark.parametrize("amount, words", [
    (Decimal("0.00"), "Ноль рублей 00 копеек"),
    (Decimal("1"), "Один рубль 00 копеек"),
    (2, "Два рубля 00 копеек"),
    (Decimal("5"), "Пять рублей 00 копеек"),
    (Decimal("11"), "Одиннадцать рублей 00 копеек"),
    (Decimal("21"), "Двадцать один рубль 00 копеек"),
    (Decimal("101"), "Сто один рубль 00 копеек"),
    (Decimal("112"), "Сто двенадцать рублей 00 копеек"),
    (Decimal("1000"), "Одна тысяча рублей 00 копеек"),
    (Decimal("2000"), "Две тысячи рублей 00 копеек"),
    (Decimal("5000"), "Пять тысяч рублей 00 копеек"),
    (Decimal("21000"), "Двадцать одна тысяча рублей 00 копеек"),
    (Decimal("1000000"), "Один миллион рублей 00 копеек"),
    (Decimal("120000.00"), "Сто двадцать тысяч рублей 00 копеек"),
    (Decimal("1234567.89"), "Один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 89 копеек"),
    (Decimal("1.01"), "Один рубль 01 копейка"),
    (Decimal("3.02"), "Три рубля 02 копейки"),
    (Decimal("4.05"), "Четыре рубля 05 копеек"),
    (Decimal("7.11"), "Семь рублей 11 копеек"),
    (Decimal("8.21"), "Восемь рублей 21 копейка"),
    (Decimal("9.14"), "Девять рублей 14 копеек"),
    (21.05, "Двадцать один рубль 05 копеек"),
    (Decimal("1.005"), "Один рубль 01 копейка"),  # rounded half up to kopecks
    (Decimal("-15.50"), "Минус пятнадцать рублей 50 копеек"),
])
def test_amount_in_words_in_rubles(amount, words):
    assert amount_in_words(amount) == words


@pytest.mark.parametrize("amount, currency, words", [
    (Decimal("1.01"), "USD", "Один доллар США 01 цент"),
    (Decimal("2500.50"), "USD", "Две тысячи пятьсот долларов США 50 центов"),
    (Decimal("22.22"), "EUR", "Двадцать два евро 22 цента"),
    (Decimal("3"), "CNY", "Три юаня 00 фэней"),
    (Decimal("100.50"), "GBP", "Сто GBP 50"),  # no Russian forms here: the code instead
])
def test_amount_in_words_in_other_currencies(amount, currency, words):
    assert amount_in_words(amount, currency) == words


@pytest.mark.parametrize("amount, text", [
    (Decimal("120000"), "120\u00a0000,00"),
    (Decimal("0"), "0,00"),
    (Decimal("999.9"), "999,90"),
    (Decimal("1000"), "1\u00a0000,00"),
    (Decimal("1234567.891"), "1\u00a0234\u00a0567,89"),
    (Decimal("-1234.5"), "-1\u00a0234,50"),
    (None, ""),
])
def test_format_money(amount, text):
    assert format_money(amount) == text


@pytest.mark.parametrize("quantity, text", [
    (Decimal("2.500"), "2,5"), (Decimal("3"), "3"), (Decimal("3.000"), "3"), (Decimal("1000"), "1\u00a0000"),
    (Decimal("0.125"), "0,125"), (Decimal("10"), "10"),
])
def test_format_quantity(quantity, text):
    assert format_quantity(quantity) == text


def test_format_date():
    assert format_date(date(2026, 1, 5)) == "05.01.2026"
    assert format_date(None) == ""
