"""A JSON object repeating a key is found, whatever the spacing, nesting or strings around
it; a body without one never is (property-based)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.http.json_keys import repeated_key

# Strings that look like JSON structure from the inside: quotes, colons, escapes.
tricky = st.text(alphabet=st.sampled_from(list('ab":\\ {}[],\n\t')), max_size=12)
keys = st.one_of(st.text(max_size=6), tricky)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), tricky, st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)
spacing = st.sampled_from([(",", ":"), (", ", ": "), (",", " : "), (" ,\n", "\n:\t")])


@settings(max_examples=300)
@given(value=values, seps=spacing)
def test_a_body_without_repeated_keys_passes(value: Any, seps: tuple[str, str]) -> None:
    body = json.dumps(value, separators=seps).encode()
    assert repeated_key(body, orjson.loads(body)) is None


@settings(max_examples=300)
@given(value=st.dictionaries(keys, values, min_size=1, max_size=4), seps=spacing, data=st.data())
def test_a_repeated_key_is_found_at_any_depth(
    value: dict[str, Any], seps: tuple[str, str], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(value)))
    again = json.dumps(key) + seps[1] + "1"
    inner = json.dumps(value, separators=seps)
    body_text = inner[:-1] + seps[0] + again + "}"  # the same key once more, last
    nested = data.draw(st.booleans())
    if nested:
        body_text = '{"outer"' + seps[1] + "[" + body_text + "]}"
    body = body_text.encode()
    assert repeated_key(body, orjson.loads(body)) == key


def test_the_usual_case_does_not_parse_twice() -> None:
    body = b'{"name": "Org", "admin": {"email": "a@b.c", "name": "Ada"}}'
    assert repeated_key(body, orjson.loads(body)) is None
    assert repeated_key(b'{"a": 1, "a": 2}', {"a": 2}) == "a"
    # A colon after a quote inside a string: the exact parse decides, and finds nothing.
    body = b'{"note": "say \\": hi", "n": 1}'
    assert repeated_key(body, orjson.loads(body)) is None
