"""Payments against deals (回款): the outstanding balance and what a payment may be.

A deal is owed its amount; the deposit taken at the deal counts as paid on the
deal date, and every recorded payment reduces the balance. The amount is due
on the deal's `payment_due_on` (the deal date for a cash sale).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from shared.events.contract import PaymentRecorded

CENT = Decimal("0.01")


def balance_of(amount: Decimal, deposit: Decimal, payments: Iterable[Decimal]) -> Decimal:
    """What is still owed on a deal (never below 0)."""
    return max(Decimal(amount) - Decimal(deposit) - sum(payments, Decimal(0)), Decimal(0)).quantize(CENT)


def payment_problems(*, amount: Decimal, paid_on: date, balance: Decimal, closed_on: date,
                     today: date) -> list[tuple[str, str]]:
    """Every rule a payment breaks, as (field, message); empty when it may be recorded."""
    problems: list[tuple[str, str]] = []
    if amount <= 0:
        problems.append(("amount", "amount must be greater than 0"))
    elif amount > balance:
        problems.append(("amount", f"amount {amount} exceeds the outstanding balance {balance}"))
    if paid_on > today:
        problems.append(("paid_on", f"paid_on {paid_on} is in the future (today is {today})"))
    elif paid_on < closed_on:
        problems.append(("paid_on", f"paid_on {paid_on} is before the deal date {closed_on}"))
    return problems


def payment_recorded(*, deal_id: uuid.UUID, amount: Decimal, paid_on: date, due_on: date,
                     balance: Decimal) -> PaymentRecorded:
    """The event of a valid payment (check `payment_problems` first)."""
    return PaymentRecorded(deal_id=deal_id, amount=amount, paid_on=paid_on, due_on=due_on,
                           balance_after=(balance - amount).quantize(CENT))
