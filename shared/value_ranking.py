"""The one order of the value ranking (domain §8), for every service that lists customers by value.

Customers are ranked by lifetime gross profit, highest first; ties are broken by customer id,
ascending. Grading decides tiers and management classes on this order (services/grading/domain);
analytics lists the Pareto curve and the rankings in its reports on it, from the profit grading
published. Pure.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

# The same order in SQL, for a table with `gross_profit` and `customer_id` columns (PostgreSQL
# orders uuid values byte by byte, which is the order of their canonical text).
SQL_ORDER = "gross_profit desc, customer_id asc"


def ranking_key(gross_profit: Decimal | int | str, customer_id: uuid.UUID | str) -> tuple[Decimal, str]:
    """Sort key: ascending order of this key is the ranking, best first."""
    return (-Decimal(str(gross_profit)), str(customer_id).lower())
