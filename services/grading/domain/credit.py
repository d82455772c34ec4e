"""Credit grade (信用等级) from payment behaviour: arrears and days late.

The seed names five levels (最好/较好/一般/较差/无信誉) but its table of
criteria is an image that did not survive; the numbers are our defaults
(`policy.credit`):

- none (无信誉): any written-off debt, or any invoice more than 180 days late;
- otherwise the best band whose limits hold for both the average days late
  and the arrears ratio (overdue unpaid amount / amount billed):
  best: 0 days, 0%; good: <= 15 days, <= 5%; average: <= 30 days, <= 15%;
  poor: <= 90 days, <= 40%; none when no band fits;
- no invoice due yet: `grade_without_history` (average).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import CreditGrade


class Invoice(BaseModel):
    """One receivable: amount, due date, and when it was paid (None: unpaid)."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal = Field(ge=0)
    due_on: date
    paid_on: date | None = None  # when it was paid in full
    written_off: bool = False
    # every (date, amount) paid towards it, partial ones included: an invoice not paid in full
    # by `as_of` is in arrears by its amount less what was paid by then
    payments: tuple[tuple[date, Decimal], ...] = ()

    def paid_by(self, as_of: date) -> Decimal:
        return sum((amount for on, amount in self.payments if on <= as_of), Decimal(0))


class PaymentBehaviour(BaseModel):
    """A customer's payment record summed up as of a date."""

    model_config = ConfigDict(frozen=True)

    invoices_due: int = Field(ge=0)
    billed_amount: Decimal = Field(ge=0)
    arrears: Decimal = Field(ge=0)  # unpaid amount past its due date
    average_days_late: Decimal = Field(ge=0)
    max_days_late: int = Field(ge=0)
    written_off: bool = False

    @property
    def arrears_ratio(self) -> Decimal:
        return self.arrears / self.billed_amount if self.billed_amount else Decimal(0)


def payment_behaviour(invoices: Iterable[Invoice], as_of: date) -> PaymentBehaviour:
    """Sum up the invoices due on or before `as_of` (later ones are not yet judged).

    Days late: paid_on - due_on for paid invoices (payments after `as_of`
    are not known yet), as_of - due_on for unpaid ones, never below 0.
    Arrears: what is unpaid of the invoices past due (partial payments count).
    """
    due = [i for i in invoices if i.due_on <= as_of]
    days_late: list[int] = []
    arrears = Decimal(0)
    for inv in due:
        paid = inv.paid_on if inv.paid_on is not None and inv.paid_on <= as_of else None
        days_late.append(max(0, ((paid or as_of) - inv.due_on).days))
        if paid is None and as_of > inv.due_on:
            arrears += max(inv.amount - inv.paid_by(as_of), Decimal(0))
    return PaymentBehaviour(
        invoices_due=len(due),
        billed_amount=sum((i.amount for i in due), Decimal(0)),
        arrears=arrears,
        average_days_late=Decimal(sum(days_late)) / len(days_late) if days_late else Decimal(0),
        max_days_late=max(days_late, default=0),
        written_off=any(i.written_off for i in due),
    )


def credit_grade_of(behaviour: PaymentBehaviour, policy: GradingPolicy = DEFAULT_POLICY) -> CreditGrade:
    """The credit grade of one payment record (rules in the module docstring)."""
    rules = policy.credit
    if behaviour.written_off or behaviour.max_days_late > rules.none_if_any_days_late_over:
        return CreditGrade.NONE
    if behaviour.invoices_due == 0:
        return rules.grade_without_history
    ratio = behaviour.arrears_ratio
    for band in rules.bands:
        if behaviour.average_days_late <= band.max_average_days_late and ratio <= band.max_arrears_ratio:
            return band.grade
    return CreditGrade.NONE
