"""What the billing service reads from its environment, read and validated once at start-up: the kit's settings,
the currency of the price list and of invoices by default, the payment term an invoice gets by default, the body
limit that a bank statement fits in, and how often the worker checks deadlines."""
from __future__ import annotations

from dataclasses import dataclass

from glassbox.settings import Settings, currency_code, positive_float, positive_int, setting


@dataclass(frozen=True)
class BillingSettings(Settings):
    default_currency: str = "RUB"
    payment_term_days: int = 10  # due_on of a draft that names none: today + this
    # Statements are plain text: 10,000 payments take about 5 MB.
    max_content_length: int = 16 * 1024 * 1024
    # How often the worker looks for overdue invoices and missed instalments (each is announced once anyway).
    deadline_check_seconds: float = 300.0

    @classmethod
    def environment(cls, service: str) -> dict:
        return {**super().environment(service),
                "default_currency": setting("BILLING_DEFAULT_CURRENCY", "RUB", currency_code),
                "payment_term_days": setting("BILLING_PAYMENT_TERM_DAYS", 10, positive_int),
                "max_content_length": setting("MAX_CONTENT_LENGTH", 16 * 1024 * 1024, positive_int),
                "deadline_check_seconds": setting("BILLING_DEADLINE_CHECK_SECONDS", 300.0, positive_float)}
