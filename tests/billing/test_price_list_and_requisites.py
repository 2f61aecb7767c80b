"""The price list and the seller's requisites: who edits them, check digits, duplicates, and what an inactive
product means for a new invoice."""
import pytest
from sqlalchemy import text

from tests.support.billing import SELLER
from tests.support.http import assert_error, assert_field_error

BOLT = {"sku": "BOLT-M12", "name": "Болт М12", "kind": "goods", "unit_name": "шт", "unit_code": "796",
        "price": "12.50", "vat_rate": "20"}


def test_the_requisites_are_set_by_an_admin_and_read_by_billing_roles(admin, accountant, manager, marketer, billing):
    assert_error(accountant.get("/api/v1/seller-requisites"), 404, "PUT /seller-requisites")
    assert_error(accountant.put("/api/v1/seller-requisites", json=SELLER), 403)
    assert admin.put("/api/v1/seller-requisites", json=SELLER).status_code == 200
    assert manager.get("/api/v1/seller-requisites").get_json()["inn"] == SELLER["inn"]
    assert_error(marketer.get("/api/v1/seller-requisites"), 403)
    changed = admin.put("/api/v1/seller-requisites", json={**SELLER, "director": "Сидоров С. С."}).get_json()
    assert changed["director"] == "Сидоров С. С."


@pytest.mark.parametrize("field, value", [
    ("inn", "7736207544"),                       # wrong check digit
    ("inn", "77362075"),                         # wrong length
    ("kpp", "77360100"),
    ("ogrn", "1027700229194"),
    ("bik", "04452522X"),
    ("settlement_account", "40702810200000012346"),  # does not match the BIK's control key
    ("correspondent_account", "30101810400000000226"),
])
def test_requisites_with_wrong_check_digits_are_refused_and_change_nothing(admin, billing, billing_engine, field,
                                                                            value):
    assert_field_error(admin.put("/api/v1/seller-requisites", json={**SELLER, field: value}), 422, field)
    with billing_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from seller_requisites")) == 0


def test_requisites_refuse_unknown_fields(admin, billing):
    assert_field_error(admin.put("/api/v1/seller-requisites", json={**SELLER, "id": 2}), 422, "id")


def test_accountants_keep_the_price_list_and_everyone_reads_it(accountant, manager, marketer, billing):
    created = accountant.post("/api/v1/products", json=BOLT)
    assert created.status_code == 201
    product = created.get_json()
    assert (product["price"], product["currency"], product["is_active"]) == ("12.50", "RUB", True)
    for reader in (manager, marketer):
        assert [item["sku"] for item in reader.get("/api/v1/products?q=bolt").get_json()["items"]] == ["BOLT-M12"]
    assert_error(manager.post("/api/v1/products", json={**BOLT, "sku": "OTHER"}), 403)
    changed = accountant.patch(f"/api/v1/products/{product['id']}", json={"price": "13.00", "is_active": False})
    assert changed.get_json()["price"] == "13.00" and changed.get_json()["is_active"] is False


def test_a_product_may_be_created_inactive(accountant, billing):
    created = accountant.post("/api/v1/products", json={**BOLT, "is_active": False})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["is_active"] is False


def test_a_duplicate_sku_is_a_409_case_blind(accountant, billing):
    accountant.post("/api/v1/products", json=BOLT)
    assert_field_error(accountant.post("/api/v1/products", json={**BOLT, "sku": "bolt-m12"}), 409, "sku")


@pytest.mark.parametrize("field, value", [("unit_code", "79"), ("vat_rate", "18"), ("kind", "rental"),
                                          ("price", "-1"), ("sku", "has space"), ("id", "x")])
def test_bad_products_are_422(accountant, billing, field, value):
    assert_field_error(accountant.post("/api/v1/products", json={**BOLT, field: value}), 422, field)


def test_an_inactive_product_cannot_go_on_a_new_invoice(accountant, known_client, manager):
    product = accountant.post("/api/v1/products", json=BOLT).get_json()
    accountant.patch(f"/api/v1/products/{product['id']}", json={"is_active": False})
    response = accountant.post("/api/v1/invoices", json={"client_id": known_client(manager),
                                                         "lines": [{"product_id": product["id"], "quantity": "1"}]})
    assert_error(response, 422, "line 1", "product_id")


def test_product_changes_are_announced(accountant, billing, billing_engine):
    product = accountant.post("/api/v1/products", json=BOLT).get_json()
    accountant.patch(f"/api/v1/products/{product['id']}", json={"name": "Болт М12×60"})
    with billing_engine.connect() as conn:
        rows = conn.execute(text("select type, payload from outbox_messages order by position")).all()
    assert [row.type for row in rows] == ["crm.product.created.v1", "crm.product.updated.v1"]
    assert rows[1].payload["changed"] == ["name"] and rows[1].payload["price"] == {"amount": "12.50",
                                                                                    "currency": "RUB"}
