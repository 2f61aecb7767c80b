"""Russian requisites and their check digits: real ones pass, each kind of mistake is named."""
import pytest
from marshmallow import Schema, ValidationError, fields

from services.billing.requisites import (bik_validator, check_bik, check_correspondent_account, check_inn,
                                         check_kpp, check_ogrn, check_settlement_account, inn_validator,
                                         kpp_validator, ogrn_validator)

SBERBANK_BIK, SBERBANK_CORRESPONDENT = "044525225", "30101810400000000225"
TINKOFF_BIK, TINKOFF_CORRESPONDENT = "044525974", "30101810145250000974"
SAMARA_BIK, SAMARA_CORRESPONDENT = "043601607", "30101810200000000607"  # Sberbank's Povolzhsky branch


@pytest.mark.parametrize("inn", ["7707083893", "7736207543", "500301234503"])
def test_real_inns_pass(inn):
    assert check_inn(inn) is None


@pytest.mark.parametrize("inn, error", [
    ("770708389", "INN must be 10 or 12 digits long"),
    ("77070838931", "INN must be 10 or 12 digits long"),
    ("", "INN must contain digits only"),
    ("77O7083893", "INN must contain digits only"),  # a letter O for a zero
    ("7707 083893", "INN must contain digits only"),
    ("７７０７０８３８９３", "INN must contain digits only"),  # full-width digits are digits to str.isdigit
    (7707083893, "INN must be a string"),
    (None, "INN must be a string"),
    ("0000000000", "INN must not be all zeros"),
    ("000000000000", "INN must not be all zeros"),
    ("7707083894", "INN has a wrong check digit"),
    ("7707083839", "INN has a wrong check digit"),  # two digits swapped
    ("500301234504", "INN has a wrong check digit"),  # the second control digit
    ("500301234513", "INN has a wrong check digit"),  # the first one
])
def test_wrong_inns_are_named(inn, error):
    assert check_inn(inn) == error


@pytest.mark.parametrize("kpp", ["773601001", "77360A001", "7736AB001", "500101001"])
def test_kpps_take_digits_and_capital_latin_letters_in_the_reason(kpp):
    assert check_kpp(kpp) is None


@pytest.mark.parametrize("kpp", ["77360100", "7736010011", "7736a0001", "7736АБ001", "A73601001", "773601O01", "",
                                 None])
def test_malformed_kpps_are_refused(kpp):
    assert check_kpp(kpp) is not None


@pytest.mark.parametrize("ogrn", ["1027700132195", "1027700229193", "304770000000127"])
def test_real_ogrns_and_ogrnips_pass(ogrn):
    assert check_ogrn(ogrn) is None


@pytest.mark.parametrize("ogrn, error", [
    ("102770013219", "OGRN must be 13 or 15 digits long"),
    ("10277001321950", "OGRN must be 13 or 15 digits long"),
    ("102770013219S", "OGRN must contain digits only"),
    ("0000000000000", "OGRN must not be all zeros"),
    ("1027700132196", "OGRN has a wrong check digit"),
    ("304770000000128", "OGRN has a wrong check digit"),
])
def test_wrong_ogrns_are_named(ogrn, error):
    assert check_ogrn(ogrn) == error


def test_a_bik_is_nine_digits():
    assert check_bik(SBERBANK_BIK) is None
    assert check_bik("123456789") is None  # only the format is checked
    assert check_bik("04452522") == "BIK must be 9 digits long"
    assert check_bik("04452522S") == "BIK must contain digits only"


@pytest.mark.parametrize("account, bik", [
    ("40702810200000012345", SBERBANK_BIK),
    ("40702810238000001234", SBERBANK_BIK),
    ("40802810600000000077", SBERBANK_BIK),
    ("40702810100000054321", TINKOFF_BIK),
])
def test_settlement_accounts_match_their_bik(account, bik):
    assert check_settlement_account(account, bik) is None


@pytest.mark.parametrize("account, bik, error", [
    ("40702810300000012345", SBERBANK_BIK, "account does not match the bank's BIK"),  # the key digit changed
    ("40702810200000012354", SBERBANK_BIK, "account does not match the bank's BIK"),  # two digits swapped
    ("40702810200000012345", TINKOFF_BIK, "account does not match the bank's BIK"),  # right account, other bank
    ("4070281020000001234", SBERBANK_BIK, "account must be 20 digits long"),
    ("4070281020000001234X", SBERBANK_BIK, "account must contain digits only"),
    ("40702810200000012345", "04452522", "cannot check the account: BIK must be 9 digits long"),
])
def test_a_settlement_account_that_does_not_fit_its_bik_is_named(account, bik, error):
    assert check_settlement_account(account, bik) == error


def test_correspondent_accounts_match_their_bik():
    assert check_correspondent_account(SBERBANK_CORRESPONDENT, SBERBANK_BIK) is None
    assert check_correspondent_account(TINKOFF_CORRESPONDENT, TINKOFF_BIK) is None
    assert check_correspondent_account(SAMARA_CORRESPONDENT, SAMARA_BIK) is None
    assert check_correspondent_account(SBERBANK_CORRESPONDENT, SAMARA_BIK) == \
        "correspondent account does not match the BIK"
    assert check_correspondent_account("30101810500000000225", SBERBANK_BIK) == \
        "correspondent account does not match the BIK"
    assert check_correspondent_account("40702810200000012345", SBERBANK_BIK) == \
        "correspondent account must start with 301"
    # A correspondent account is keyed differently from a settlement account of the same bank.
    assert check_settlement_account(SBERBANK_CORRESPONDENT, SBERBANK_BIK) is not None


class Requisites(Schema):
    inn = fields.String(validate=inn_validator)
    kpp = fields.String(validate=kpp_validator)
    ogrn = fields.String(validate=ogrn_validator)
    bik = fields.String(validate=bik_validator)


def test_the_validators_raise_marshmallows_error_with_the_message():
    valid = {"inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195", "bik": SBERBANK_BIK}
    assert Requisites().load(valid) == valid
    with pytest.raises(ValidationError) as error:
        Requisites().load({"inn": "7707083894", "kpp": "7736", "ogrn": "1027700132195", "bik": "04452522S"})
    assert error.value.messages == {"inn": ["INN has a wrong check digit"],
                                    "kpp": ["KPP must be 9 characters: 4 digits, 2 digits or capital Latin "
                                            "letters, 3 digits"],
                                    "bik": ["BIK must contain digits only"]}
