"""Shared field types of the event contract."""
from decimal import Decimal
from typing import Annotated

from pydantic import Field

Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
