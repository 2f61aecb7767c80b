"""Russian company requisites checked with their control digits: INN, KPP, OGRN/OGRNIP, BIK, and bank accounts
against their bank's BIK. Each `check_*` returns None when the value is valid, else a short English message;
the `*_validator` callables raise marshmallow's ValidationError instead, for `fields.String(validate=...)`.

A check digit catches a mistyped requisite before an invoice is printed with it or a bank payment is matched on
it; it cannot tell whether the company exists."""
from __future__ import annotations

import re
from collections.abc import Callable

from marshmallow import ValidationError

INN_LEGAL_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_PERSON_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_PERSON_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
ACCOUNT_KEY_WEIGHTS = (7, 1, 3) * 8  # over 23 digits: 3 from the BIK + the 20 of the account
KPP_PATTERN = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")


def _digits(value, lengths: tuple[int, ...], what: str) -> str | None:
    """The format message shared by the checks below, or None when `value` is a string of one of `lengths`."""
    if not isinstance(value, str):
        return f"{what} must be a string"
    if not value.isascii() or not value.isdigit():
        return f"{what} must contain digits only"
    if len(value) not in lengths:
        return f"{what} must be {' or '.join(map(str, lengths))} digits long"
    return None


def _control(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10


def check_inn(value) -> str | None:
    """INN: 10 digits for an organisation (one control digit), 12 for an individual or sole trader (two)."""
    if error := _digits(value, (10, 12), "INN"):
        return error
    if value.strip("0") == "":
        return "INN must not be all zeros"
    if len(value) == 10:
        valid = _control(value, INN_LEGAL_WEIGHTS) == int(value[9])
    else:
        valid = (_control(value, INN_PERSON_WEIGHTS_11) == int(value[10])
                 and _control(value, INN_PERSON_WEIGHTS_12) == int(value[11]))
    return None if valid else "INN has a wrong check digit"


def check_kpp(value) -> str | None:
    """KPP: 4 digits (tax office), 2 digits or capital Latin letters (reason), 3 digits (sequence)."""
    if not isinstance(value, str):
        return "KPP must be a string"
    if not KPP_PATTERN.fullmatch(value):
        return "KPP must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits"
    return None


def check_ogrn(value) -> str | None:
    """OGRN (13 digits, an organisation) or OGRNIP (15 digits, a sole trader); the last digit is the rest of the
    number modulo 11 (OGRN) or 13 (OGRNIP), modulo 10."""
    if error := _digits(value, (13, 15), "OGRN"):
        return error
    if value.strip("0") == "":
        return "OGRN must not be all zeros"
    modulus = 11 if len(value) == 13 else 13
    return None if int(value[:-1]) % modulus % 10 == int(value[-1]) else "OGRN has a wrong check digit"


def check_bik(value) -> str | None:
    """BIK: 9 digits. Russian banks' start with 04, but the format is all that is checked."""
    return _digits(value, (9,), "BIK")


def _account_key_ok(prefix: str, account: str) -> bool:
    return sum(int(d) * w for d, w in zip(prefix + account, ACCOUNT_KEY_WEIGHTS)) % 10 == 0


def check_settlement_account(account, bik) -> str | None:
    """A settlement account (20 digits) against its bank's BIK: the control key covers the BIK's last 3 digits
    and the account, weights 7,1,3 repeated, the sum a multiple of 10."""
    if error := _digits(account, (20,), "account") or _bik_error(bik):
        return error
    return None if _account_key_ok(bik[-3:], account) else "account does not match the bank's BIK"


def check_correspondent_account(account, bik) -> str | None:
    """A bank's correspondent account (20 digits, 301...) against its BIK: the control key covers "0", the BIK's
    5th and 6th digits and the account."""
    if error := _digits(account, (20,), "correspondent account") or _bik_error(bik):
        return error
    if not account.startswith("301"):
        return "correspondent account must start with 301"
    return None if _account_key_ok("0" + bik[4:6], account) else "correspondent account does not match the BIK"


def _bik_error(bik) -> str | None:
    error = check_bik(bik)
    return error and f"cannot check the account: {error}"


def validator(check: Callable[[object], str | None]) -> Callable[[object], None]:
    """`check` as a marshmallow validator: raises ValidationError with its message."""

    def validate(value) -> None:
        if error := check(value):
            raise ValidationError(error)

    validate.__name__ = check.__name__.replace("check_", "") + "_validator"
    return validate


inn_validator = validator(check_inn)
kpp_validator = validator(check_kpp)
ogrn_validator = validator(check_ogrn)
bik_validator = validator(check_bik)
