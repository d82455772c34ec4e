"""A customer's value grading (客户价值) from the facts about its purchases.

Pure: the value is a function of the SET of value facts, the date it is
computed for (`as_of`) and the customer's place in the profit ranking
(pyramid tier and management class are rank-dependent and come from
`ranking.ProfitRanking`). What each measure is taken from:

- ranking profit: the pyramid's "lifetime gross profit", undiscounted: the
  deals' gross profit plus the referral gains (推荐收益, domain §3 counts them in
  the gross profit the customer brought);
- referral gains (domain §8): for every customer it referred (a contact named
  it as referrer; merged customers count as their survivor, itself never),
  `policy.lifetime_profit.referral_gain_share` (10%) of the gross profit of
  each of that customer's deals, rounded to the cent (half up) per deal; a
  deal sold at a loss gains nothing (its loss is the referred customer's);
- lifetime profit: NPV of the deals' gross profit (a deal sold at a loss is a
  price concession cost) and of the referral gains (on the referred deal's
  date), discounted from the first of them (the first purchase, unless the
  customer referred someone who bought before it did);
- size band (营业收入指标): the annual revenue on the customer information card
  (latest `customer-updated` that set it); without one, the revenue this
  customer brought us in the 365 days up to `as_of`;
- share stability (市场份额指标): the card's market share (our share of the
  customer's purchases); None when the card has none;
- credit grade: payment behaviour over one invoice per deal (amount due = the
  deal amount, due on `payment_due_on` or the deal date, paid by the deposit
  on the deal date and the recorded payments); no invoice due yet:
  `policy.credit.grade_without_history` (average);
- loyalty: purchases, distinct products (cross purchases), share of deals
  closed below list price (price sensitivity), complaints, average days from
  the first contact to each purchase, referrals made (the customers it
  referred, each once however many contacts named it), whole years since the
  first purchase (retention);
- key-account matrix: attractiveness from the pyramid tier, our relative
  advantage from the loyalty score;
- lifecycle with decline detection from the purchases as of `as_of`.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.contract import CustomerUpdated, CustomerValued, DealClosed, PaymentRecorded

from .credit import Invoice, credit_grade_of, payment_behaviour
from .key_account import key_account_class
from .lifecycle import Purchase, assess_lifecycle
from .lifetime_profit import CENT, ProfitComponent, ProfitEntry, lifetime_profit
from .loyalty import LoyaltyIndicators, assess_loyalty
from .order_model import order_class
from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import LifecycleStage, ManagementClass, PyramidTier
from .value import share_stability_of, size_band_of

TIER_ATTRACTIVENESS: dict[PyramidTier, Decimal] = {
    PyramidTier.PLATINUM: Decimal(100), PyramidTier.GOLD: Decimal(75),
    PyramidTier.IRON: Decimal(40), PyramidTier.LEAD: Decimal(0),
}


class PurchaseFact(BaseModel):
    """One deal as value grading sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["purchase"] = "purchase"
    fact_id: uuid.UUID
    occurred_at: AwareDatetime
    closed_on: date
    amount: Decimal = Field(ge=0)
    gross_profit: Decimal
    list_amount: Decimal = Field(ge=0)  # sum of quantity x unit price
    products: tuple[str, ...] = ()
    # for the credit grade; facts stored before payments were tracked have no deal_id (not invoiced)
    deal_id: uuid.UUID | None = None
    deposit: Decimal = Field(default=Decimal(0), ge=0)
    due_on: date | None = None  # None: the deal date (cash sale)


class PaymentFact(BaseModel):
    """A payment against one of the customer's deals (回款)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["payment"] = "payment"
    fact_id: uuid.UUID
    occurred_at: AwareDatetime
    deal_id: uuid.UUID
    amount: Decimal = Field(gt=0)
    paid_on: date


CARD_FIELDS = ("annual_revenue", "market_share")


class CardFact(BaseModel):
    """The value-relevant fields one customer-updated set (None: cleared); `fields` names which."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["card"] = "card"
    fact_id: uuid.UUID
    occurred_at: AwareDatetime
    fields: tuple[Literal["annual_revenue", "market_share"], ...]
    annual_revenue: Decimal | None = Field(default=None, ge=0)
    market_share: Decimal | None = Field(default=None, ge=0, le=1)  # a fraction: 0.85 = 85%

    @property
    def sort_key(self) -> tuple:
        return (self.occurred_at, self.fact_id)


class ReferralFact(BaseModel):
    """The customer referred someone (a contact named it as referrer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["referral"] = "referral"
    fact_id: uuid.UUID
    occurred_at: AwareDatetime
    referred_customer_id: uuid.UUID


def purchase_from_deal(fact_id: uuid.UUID, occurred_at: datetime, deal: DealClosed) -> PurchaseFact:
    """The value fact of a deal-closed event."""
    return PurchaseFact(
        fact_id=fact_id, occurred_at=occurred_at, closed_on=deal.closed_on, amount=deal.amount,
        gross_profit=deal.gross_profit, list_amount=sum((i.unit_price * i.quantity for i in deal.items), Decimal(0)),
        products=tuple(sorted({i.product for i in deal.items})),
        deal_id=deal.deal_id, deposit=deal.deposit, due_on=deal.payment_due_on,
    )


def payment_fact(fact_id: uuid.UUID, occurred_at: datetime, payment: PaymentRecorded) -> PaymentFact:
    """The value fact of a payment-recorded event."""
    return PaymentFact(fact_id=fact_id, occurred_at=occurred_at, deal_id=payment.deal_id, amount=payment.amount,
                       paid_on=payment.paid_on)


def card_fact(fact_id: uuid.UUID, occurred_at: datetime, update: CustomerUpdated) -> CardFact | None:
    """The value fact of a customer-updated event, None when it changed neither revenue nor share.

    The card carries `annual_revenue` (CNY, money as a string) and `market_share_pct`
    (percent 0-100); the share is kept as a fraction.
    """
    values: dict[str, Decimal | None] = {}
    if "annual_revenue" in update.card:
        raw = update.card["annual_revenue"]
        values["annual_revenue"] = None if raw is None else Decimal(str(raw))
    if "market_share_pct" in update.card:
        raw = update.card["market_share_pct"]
        values["market_share"] = None if raw is None else Decimal(str(raw)) / 100
    if not values:
        return None
    return CardFact(fact_id=fact_id, occurred_at=occurred_at, fields=tuple(values), **values)


def card_profile(cards: Iterable[CardFact]) -> tuple[Decimal | None, Decimal | None]:
    """(annual revenue, market share) as the latest card facts (by time, then id) left them."""
    latest: dict[str, Decimal | None] = {}
    for card in sorted(cards, key=lambda c: c.sort_key):
        for name in card.fields:
            latest[name] = getattr(card, name)
    return latest.get("annual_revenue"), latest.get("market_share")


def invoices_of(purchases: Iterable[PurchaseFact], payments: Iterable[PaymentFact]) -> list[Invoice]:
    """One invoice per deal: its amount, due on `due_on` (or the deal date), paid in full on the day
    the deposit (paid on the deal date) and the payments reached the amount. Payments of deals not
    known (yet) and purchases without a deal id (stored before payments were tracked) are left out."""
    by_deal: dict[uuid.UUID, list[PaymentFact]] = {}
    for p in {p.fact_id: p for p in payments}.values():
        by_deal.setdefault(p.deal_id, []).append(p)
    invoices = []
    for deal in purchases:
        if deal.deal_id is None:
            continue
        paid = [(deal.closed_on, deal.deposit)] if deal.deposit > 0 else []
        paid += [(p.paid_on, p.amount) for p in sorted(by_deal.get(deal.deal_id, []),
                                                       key=lambda p: (p.paid_on, p.fact_id))]
        paid.sort(key=lambda entry: entry[0])
        settled, total = (deal.closed_on if deal.amount <= 0 else None), Decimal(0)
        for on, amount in paid:
            total += amount
            if settled is None and total >= deal.amount:
                settled = on
        invoices.append(Invoice(amount=deal.amount, due_on=deal.due_on or deal.closed_on, paid_on=settled,
                                payments=tuple(paid)))
    return invoices


def _unique_purchases(purchases: Iterable[PurchaseFact]) -> tuple[PurchaseFact, ...]:
    unique = {p.fact_id: p for p in purchases}
    return tuple(sorted(unique.values(), key=lambda p: (p.closed_on, p.fact_id)))


class ValueInputs(BaseModel):
    """Everything value grading knows of one customer (a set: order does not matter).

    `referrals` is the number of customers it referred; `referred_purchases` the
    deals of those customers (the source of its referral gains).
    """

    model_config = ConfigDict(frozen=True)

    purchases: tuple[PurchaseFact, ...] = ()
    complaints: int = Field(default=0, ge=0)
    referrals: int = Field(default=0, ge=0)
    first_contact_on: date | None = None
    payments: tuple[PaymentFact, ...] = ()
    cards: tuple[CardFact, ...] = ()
    referred_purchases: tuple[PurchaseFact, ...] = ()

    @classmethod
    def of(cls, purchases: Iterable[PurchaseFact], complaints: int = 0, referrals: int = 0,
           first_contact_on: date | None = None, payments: Iterable[PaymentFact] = (),
           cards: Iterable[CardFact] = (), referred_purchases: Iterable[PurchaseFact] = ()) -> ValueInputs:
        paid = tuple(sorted({p.fact_id: p for p in payments}.values(), key=lambda p: (p.paid_on, p.fact_id)))
        card = tuple(sorted({c.fact_id: c for c in cards}.values(), key=lambda c: c.sort_key))
        return cls(purchases=_unique_purchases(purchases), complaints=complaints, referrals=referrals,
                   first_contact_on=first_contact_on, payments=paid, cards=card,
                   referred_purchases=_unique_purchases(referred_purchases))


def referral_gain(deal: PurchaseFact, policy: GradingPolicy = DEFAULT_POLICY) -> Decimal:
    """The referrer's gain from one deal of a customer it referred: the share of its gross profit,
    to the cent, half up (what PostgreSQL's round() does, so values.py's SQL ranking agrees);
    a deal at a loss gains nothing (a gain is never negative: ProfitEntry amounts are >= 0)."""
    share = max(deal.gross_profit, Decimal(0)) * policy.lifetime_profit.referral_gain_share
    return share.quantize(CENT, rounding=ROUND_HALF_UP)


def referral_gains(referred_purchases: Iterable[PurchaseFact], policy: GradingPolicy = DEFAULT_POLICY) -> Decimal:
    """All referral gains, undiscounted."""
    return sum((referral_gain(p, policy) for p in referred_purchases), Decimal(0))


def ranking_profit(purchases: Iterable[PurchaseFact], referred_purchases: Iterable[PurchaseFact] = (),
                   policy: GradingPolicy = DEFAULT_POLICY) -> Decimal:
    """The profit the pyramid ranks by (lifetime gross profit): the deals' gross profit plus the
    referral gains, undiscounted. values.py computes the same in SQL for the whole population."""
    own = sum((p.gross_profit for p in purchases), Decimal(0))
    return own + referral_gains(referred_purchases, policy)


def profit_entries(inputs: ValueInputs, policy: GradingPolicy = DEFAULT_POLICY) -> list[ProfitEntry]:
    """The lifetime profit's entries: each deal (a loss is a price concession) and each referral gain."""
    own = [
        ProfitEntry(on=p.closed_on, component=ProfitComponent.BASE_PROFIT, amount=p.gross_profit)
        if p.gross_profit >= 0 else
        ProfitEntry(on=p.closed_on, component=ProfitComponent.PRICE_CONCESSIONS, amount=-p.gross_profit)
        for p in inputs.purchases
    ]
    gains = [ProfitEntry(on=p.closed_on, component=ProfitComponent.REFERRAL_GAINS, amount=referral_gain(p, policy))
             for p in inputs.referred_purchases]
    return own + [g for g in gains if g.amount > 0]


def loyalty_indicators(inputs: ValueInputs, as_of: date) -> LoyaltyIndicators:
    purchases = [p for p in inputs.purchases if p.closed_on <= as_of]
    products = {name for p in purchases for name in p.products}
    concessions = sum(1 for p in purchases if p.amount < p.list_amount)
    days_to_choose = None
    if inputs.first_contact_on is not None and purchases:
        gaps = [max((p.closed_on - inputs.first_contact_on).days, 0) for p in purchases]
        days_to_choose = Decimal(sum(gaps)) / len(gaps)
    first = min((p.closed_on for p in purchases), default=None)
    years = Decimal((as_of - first).days // 365) if first else Decimal(0)
    return LoyaltyIndicators(
        purchases=len(purchases), product_categories=len(products),
        concession_purchase_share=Decimal(concessions) / len(purchases) if purchases else Decimal(0),
        complaints=inputs.complaints, average_days_to_choose=days_to_choose,
        referrals=inputs.referrals, years_as_customer=years, has_contact=True,
    )


def annual_revenue(inputs: ValueInputs, as_of: date) -> Decimal:
    start = as_of - timedelta(days=365)
    return sum((p.amount for p in inputs.purchases if start < p.closed_on <= as_of), Decimal(0))


def assess_customer_value(
    inputs: ValueInputs, as_of: date, pyramid_tier: PyramidTier, management_class: ManagementClass,
    policy: GradingPolicy = DEFAULT_POLICY,
) -> CustomerValued:
    """The value grading of one customer, as the customer-valued payload."""
    credit = credit_grade_of(payment_behaviour(invoices_of(inputs.purchases, inputs.payments), as_of), policy)
    card_revenue, share = card_profile(inputs.cards)
    size = size_band_of(annual_revenue(inputs, as_of) if card_revenue is None else card_revenue, policy)
    loyalty = assess_loyalty(loyalty_indicators(inputs, as_of), policy)
    lifecycle = assess_lifecycle([Purchase(on=p.closed_on, amount=p.amount) for p in inputs.purchases], as_of, policy)
    profit = lifetime_profit(profit_entries(inputs, policy), policy=policy)
    return CustomerValued(
        pyramid_tier=pyramid_tier.value,
        management_class=management_class.value,
        credit_grade=credit.value,
        size_band=size.value,
        share_stability=share_stability_of(share, policy).value if share is not None else None,
        loyalty_score=loyalty.score,
        loyalty_stage=loyalty.stage.value,
        order_class=order_class(credit, size, loyalty.stage, policy).rank,
        key_account_class=key_account_class(TIER_ATTRACTIVENESS[pyramid_tier], loyalty.score, policy).value,
        lifecycle_stage=lifecycle.stage.value,
        in_decline=lifecycle.stage == LifecycleStage.DECLINE,
        decline_signals=[s.value for s in lifecycle.decline_signals],
        lifetime_profit=profit.npv,
        gross_profit=ranking_profit(inputs.purchases, inputs.referred_purchases, policy),
        referral_gains=referral_gains(inputs.referred_purchases, policy),
        purchases=len(inputs.purchases),
        policy_version=policy.version,
    )


def same_value(a: CustomerValued | None, b: CustomerValued) -> bool:
    """True when nothing but the bookkeeping (cause) differs."""
    if a is None:
        return False
    skip = {"cause_event_id"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
