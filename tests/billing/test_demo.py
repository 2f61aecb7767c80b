"""The demo seed: the seller, a price list and invoices in every state on the clients demo's cards, through the use
cases, once; and the demo bank statement that pays half of one of them."""
from pathlib import Path

from glassbox.demo import demo_record_id
from services.billing import bank_exchange
from services.billing.demo import ACCOUNTANT, ANNA, CLIENTS, INVOICES, PRODUCTS, SELLER, WON_DEALS, seed
from services.clients import demo as clients_demo
from services.deals import demo as deals_demo

STATEMENT = Path(__file__).parents[2] / "deploy" / "demo" / "bank-statement.txt"


def test_the_seed_makes_invoices_in_every_state_once(billing, as_role, billing_db_url):
    assert seed(billing_db_url) == (f"created the seller's requisites, {len(PRODUCTS)} products, "
                                    f"{len(INVOICES)} demo invoices")
    assert seed(billing_db_url) == "demo data already present"
    head, anna = as_role(billing, "head_of_sales"), as_role(billing, "manager", user_id=ANNA)
    listed = head.get("/api/v1/invoices?limit=50").get_json()["items"]
    assert {invoice["status"] for invoice in listed} == {"draft", "issued", "partially_paid", "paid", "cancelled"}
    assert [invoice["client_name"] for invoice in head.get("/api/v1/invoices?overdue=true").get_json()["items"]] == [
        "Northern Logistics"]
    assert {invoice["client_name"] for invoice in anna.get("/api/v1/invoices").get_json()["items"]} == {
        "Volga Steel Works", "Northern Logistics"}
    assert head.get("/api/v1/shipments").get_json()["total"] == 2
    assert head.get("/api/v1/service-acts").get_json()["items"][0]["status"] == "done"
    assert head.get("/api/v1/receivables").get_json()["totals"][0]["outstanding"] == "633000.00"


def test_the_demo_statement_pays_half_of_the_invoice_with_a_plan(billing, as_role, billing_db_url):
    seed(billing_db_url)
    statement = bank_exchange.parse(STATEMENT.read_bytes())
    assert statement.account == SELLER["settlement_account"]
    [incoming] = [doc for doc in statement.incoming() if doc.payer_inn == CLIENTS["Volga Steel Works"][1]]
    planned = as_role(billing, "accountant", user_id=ACCOUNTANT.user_id).get(
        "/api/v1/invoices?limit=50").get_json()["items"]
    target = next(invoice for invoice in planned if invoice["number"] and invoice["number"].endswith("000005"))
    assert incoming.amount * 2 == __import__("decimal").Decimal(target["total_amount"])
    assert "000005" in bank_exchange.invoice_numbers(incoming.purpose)[0]


def test_the_demo_repeats_the_other_demos_records():
    """Services never import each other, so the billing demo repeats the clients' cards and the won deals."""
    cards = {card["name"]: (owner, card["tax_id"]) for owner, card, _ in clients_demo.CARDS if card.get("tax_id")}
    assert {name: (owner, inn) for name, (owner, inn, _) in CLIENTS.items()} == cards
    won = {title: client for owner, client, title, *_, plan in deals_demo.DEALS if plan[-1][1] == "win"}
    assert WON_DEALS == won
    assert all(demo_record_id("client", name) for name in CLIENTS)
