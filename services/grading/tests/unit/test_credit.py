"""Credit grade (信用等级) from payment behaviour."""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from services.grading.domain.credit import Invoice, PaymentBehaviour, credit_grade_of, payment_behaviour
from services.grading.domain.segments import CreditGrade as CG


def behaviour(avg_late=0, arrears="0", billed="1000", max_late=None, written_off=False, invoices=4):
    return PaymentBehaviour(invoices_due=invoices, billed_amount=D(billed), arrears=D(arrears),
                            average_days_late=D(avg_late), max_days_late=avg_late if max_late is None else max_late,
                            written_off=written_off)


@pytest.mark.parametrize(
    "avg_late, arrears, grade",
    [(0, "0", CG.BEST), (1, "0", CG.GOOD), (0, "1", CG.GOOD), (15, "50", CG.GOOD), (16, "0", CG.AVERAGE),
     (15, "50.01", CG.AVERAGE), (30, "150", CG.AVERAGE), (31, "0", CG.POOR), (90, "400", CG.POOR),
     (91, "0", CG.NONE), (10, "400.01", CG.NONE)],
)
def test_credit_bands(avg_late, arrears, grade):
    assert credit_grade_of(behaviour(avg_late, arrears)) == grade


def test_written_off_or_very_late_means_no_credit():
    assert credit_grade_of(behaviour(written_off=True)) == CG.NONE
    assert credit_grade_of(behaviour(avg_late=5, max_late=181)) == CG.NONE
    assert credit_grade_of(behaviour(avg_late=5, max_late=180)) == CG.GOOD


def test_no_history_is_average():
    assert credit_grade_of(behaviour(invoices=0, billed="0")) == CG.AVERAGE


def test_payment_behaviour_from_invoices():
    as_of = date(2024, 6, 30)
    invoices = [
        Invoice(amount=D(100), due_on=date(2024, 1, 31), paid_on=date(2024, 1, 30)),  # early: 0 days
        Invoice(amount=D(100), due_on=date(2024, 2, 29), paid_on=date(2024, 3, 10)),  # 10 days
        Invoice(amount=D(200), due_on=date(2024, 6, 20)),  # unpaid, 10 days overdue
        Invoice(amount=D(100), due_on=date(2024, 5, 31), paid_on=date(2024, 7, 5)),  # paid after as_of: 30 days so far
        Invoice(amount=D(999), due_on=date(2024, 7, 31)),  # not due yet
    ]
    b = payment_behaviour(invoices, as_of)
    assert b.invoices_due == 4 and b.billed_amount == D(500)
    assert b.arrears == D(300)
    assert b.average_days_late == D(50) / 4 and b.max_days_late == 30
    assert credit_grade_of(b) == CG.NONE  # 60% arrears
    paid = payment_behaviour(invoices[:2], as_of)
    assert credit_grade_of(paid) == CG.GOOD
    assert payment_behaviour([], as_of).invoices_due == 0
    assert payment_behaviour([Invoice(amount=D(1), due_on=as_of - timedelta(days=1), written_off=True)], as_of).written_off
