"""No command carries a NUL anywhere: PostgreSQL could not project it (it would stop the
read side), so it is refused where the command is validated (API and processor alike)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.commands.base import has_nul, nul_at
from schemas.commands.programme import CreateProgramme
from tests.e2e.e2e_helpers import programme_body


def _with(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def test_a_valid_body_passes() -> None:
    CreateProgramme.model_validate(programme_body("TX-1"))


@pytest.mark.parametrize(
    "path",
    [
        ["title"],
        ["external_id"],
        ["comment"],
        ["properties", "source_of_funding"],
        ["properties", "geographical_location", 0],
        ["proponent_tax_ids", 0],
    ],
)
def test_a_nul_in_any_field_is_refused(path: list[Any]) -> None:
    body = _with(programme_body("TX-1"), path, "a\x00b")
    with pytest.raises(ValidationError) as caught:
        CreateProgramme.model_validate(body)
    # The field is named: by its own check, or in the message.
    error = caught.value.errors()[0]
    assert str(path[0]) in [str(p) for p in error["loc"]] or str(path[0]) in error["msg"]


def test_nul_is_found_in_keys_and_deep_values() -> None:
    assert has_nul({"a": [{"b": ("c", "d\x00")}]})
    assert has_nul({"k\x00": 1})
    assert not has_nul({"a": [1, 2.5, None, True, {"b": "c"}], "\\u0000": "\\u0000"})
    assert nul_at({"p": {"q": ["x", "y\x00"]}}) == "p.q.1"
