"""``view_of_body``: the view replay builds straight from an envelope's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projector_service.projections.view import EventView, view_of_body
from schemas.registry import EVENT_TYPES, UnknownType

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_current_version_is_used_as_is() -> None:
    name, cls = next(iter(EVENT_TYPES.items()))
    payload = {"any": "thing"}
    body = {"type": name, "version": cls.VERSION, "actor": {"user_id": 7}, "payload": payload}
    view = view_of_body(body, 12, AT)
    assert view == EventView(seq=12, type=name, actor_user_id=7, occurred_at=AT, payload=payload)
    assert type(view) is EventView
    assert view.payload is payload


def test_unknown_type_is_refused() -> None:
    body = {"type": "NoSuchEvent", "version": 1, "actor": {}, "payload": {}}
    with pytest.raises(UnknownType):
        view_of_body(body, 1, AT)
