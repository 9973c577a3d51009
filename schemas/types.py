"""Constrained scalar types with explicit limits. Every limit the API enforces lives here."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

MAX_NAME = 200
MAX_TEXT = 2000
MAX_EMAIL = 254
MAX_LIST = 100

RegistryId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
CommandId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# No NUL: PostgreSQL text cannot hold it, so an accepted NUL would stop the projector.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=NO_NUL)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Email = Annotated[
    str,
    StringConstraints(
        pattern=r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}\.[^@\s\x00]{1,63}$",
        max_length=MAX_EMAIL,
        to_lower=True,
    ),
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{2,32}$")]
TaxId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/._-]{1,64}$")]
CreditUnit = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,16}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00]{1,2040}$")]
# A whole number of credits (1 credit = 1 tCO2e). Bounded so sums never leave int64.
Credits = Annotated[int, Field(ge=1, le=10**12)]
EpochSeconds = Annotated[int, Field(ge=0, le=253402300799)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
