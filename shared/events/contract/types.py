"""Shared field types of the event contract and the HTTP bodies built on it."""
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

# Single-line text: no control characters (they break CSV exports, logs and terminals).
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
# Free text: line breaks and tabs allowed, other control characters not.
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
# Ids people and systems type (consultants, teams): letters, digits and a few separators.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
