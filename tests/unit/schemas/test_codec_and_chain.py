"""The wire format: envelopes, the codec, the hash chain, upcasting and JSON Schema export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import ValidationError

from schemas.codec import (
    command_payload,
    decode_command,
    decode_event,
    decode_result,
    encode_command,
    encode_event,
    encode_result,
    event_payload,
    make_event,
)
from schemas.commands.organisation import RegisterOrganisation
from schemas.envelope import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    Actor,
    CommandEnvelope,
    ErrorBody,
    EventEnvelope,
    ResultEnvelope,
)
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated, ProgrammeProperties
from schemas.events.registry import RegistryInitialised
from schemas.hashing import canonical_bytes, chain_hash
from schemas.jsonschema import all_schemas, export
from schemas.registry import COMMAND_TYPES, EVENT_TYPES, UnknownType, command_class, event_class
from schemas.upcasters import UPCASTERS, MissingUpcaster, upcast, upcaster

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
USER = Actor(kind="user", user_id=7)


def sample_payloads() -> list[EventPayload]:
    return [
        RegistryInitialised(
            country_code="TL",
            country_name="Testland",
            credit_unit="ITMO",
            government_company_id=1,
            root_user_id=1,
        ),
        OrganisationRegistered(
            company_id=1,
            name="Government of Testland",
            role="Government",
            state="Active",
            tax_id="00000TL",
            payment_id=None,
            email="gov@testland.example.org",
            phone=None,
            website="https://gov.example.org",
            address="1 Main St",
            country_code="TL",
            sectoral_scopes=["1", "14"],
            minister_name=None,
        ),
        UserCreated(
            user_id=1,
            company_id=1,
            email="root@testland.example.org",
            name="Root ü ∑",
            role="Root",
            phone="+1 555",
            pending=False,
        ),
        ProgrammeCreated(
            programme_id="001",
            title="Solar",
            external_id="EXT-1",
            sector="Energy",
            sectoral_scope="1",
            country_code="TL",
            stage="AwaitingAuthorization",
            start_time=1704067200,
            end_time=1893456000,
            credit_est=1000,
            credit_unit="ITMO",
            proponent_company_ids=[2, 3],
            proponent_percentages=[Decimal("33.333333"), Decimal("66.666667")],
            environmental_assessment_registration_no="EIA-1",
            properties=ProgrammeProperties(
                estimated_programme_cost_usd=Decimal("123456.78"),
                geographical_location=["North"],
                greenhouse_gases=["CO2", "CH4"],
                carbon_price_usd_per_ton=Decimal("123.46"),
                credit_year=2024,
            ),
        ),
    ]


def build_chain(n: int, registry: str = "testland") -> list[tuple[EventEnvelope, bytes]]:
    payloads = sample_payloads()
    out: list[tuple[EventEnvelope, bytes]] = []
    prev = GENESIS_HASH
    for i in range(n):
        payload = payloads[i % len(payloads)]
        env, raw = make_event(
            registry=registry,
            seq=i + 1,
            payload=payload,
            aggregate_id=f"{payload.AGGREGATE}-{i}",
            aggregate_version=1,
            command_id=f"cmd-{i}",
            actor=USER if i % 2 else SYSTEM_ACTOR,
            occurred_at=NOW + timedelta(microseconds=i * 1001),
            prev_hash=prev,
        )
        out.append((env, raw))
        prev = env.hash
    return out


# ---- the chain --------------------------------------------------------------------------


def test_make_event_builds_a_chain_that_verifies_over_the_parsed_json() -> None:
    chain = build_chain(12)
    prev = GENESIS_HASH
    for i, (env, raw) in enumerate(chain, start=1):
        body = orjson.loads(raw)
        assert env.seq == i
        assert env.prev_hash == prev
        assert body["prev_hash"] == prev
        assert body["hash"] == env.hash
        assert chain_hash(prev, body) == env.hash
        assert len(env.hash) == 64
        assert env.type == body["type"]
        assert env.version == EVENT_TYPES[env.type].VERSION
        assert env.aggregate_type == EVENT_TYPES[env.type].AGGREGATE
        prev = env.hash
    assert len({env.hash for env, _ in chain}) == len(chain)


def test_hash_is_sha256_of_prev_hash_and_sorted_canonical_body() -> None:
    import hashlib

    env, raw = build_chain(1)[0]
    body = orjson.loads(raw)
    canonical = canonical_bytes(body)
    assert b'"hash"' not in canonical
    assert canonical == orjson.dumps(
        {k: v for k, v in body.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS
    )
    assert env.hash == hashlib.sha256(GENESIS_HASH.encode() + canonical).hexdigest()


def test_hash_does_not_depend_on_key_order_or_whitespace() -> None:
    env, raw = build_chain(4)[3]
    body = orjson.loads(raw)
    reordered = json.loads(json.dumps(dict(reversed(list(body.items()))), indent=3))
    assert list(reordered) != list(body)
    assert chain_hash(env.prev_hash, reordered) == env.hash


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(seq=b["seq"] + 1),
        lambda b: b.update(registry="other"),
        lambda b: b.update(command_id="forged"),
        lambda b: b["actor"].update(user_id=8),
        lambda b: b["payload"].update(title="Solar!"),
        lambda b: b["payload"]["properties"].update(carbon_price_usd_per_ton="123.47"),
        lambda b: b.update(occurred_at="2024-06-01T12:00:01+00:00"),
    ],
    ids=["seq", "registry", "command", "actor", "title", "nested", "time"],
)
def test_any_change_changes_the_hash(mutate: Any) -> None:
    env, raw = build_chain(4)[3]
    body = orjson.loads(raw)
    mutate(body)
    assert chain_hash(env.prev_hash, body) != env.hash


def test_the_same_body_after_another_prev_hash_has_another_hash() -> None:
    env, raw = build_chain(1)[0]
    assert chain_hash("1" * 64, orjson.loads(raw)) != env.hash


def test_event_json_form_verifies_against_its_hash() -> None:
    for env, raw in build_chain(4):
        assert chain_hash(env.prev_hash, env.model_dump(mode="json")) == env.hash
        assert encode_event(decode_event(raw)) == raw


def test_naive_timestamps_round_trip_byte_for_byte() -> None:
    """Naive timestamps round-trip byte for byte too."""
    payload = sample_payloads()[0]
    _, raw = make_event(
        registry="testland",
        seq=1,
        payload=payload,
        aggregate_id="registry",
        aggregate_version=1,
        command_id="c",
        actor=SYSTEM_ACTOR,
        occurred_at=datetime(2024, 6, 1, 12, 0, 0, 123456),
        prev_hash=GENESIS_HASH,
    )
    assert encode_event(decode_event(raw)) == raw


# ---- round trips ------------------------------------------------------------------------


def command_env(**overrides: Any) -> CommandEnvelope:
    body: dict[str, Any] = {
        "registry": "testland",
        "command_id": "key-1",
        "type": "RegisterOrganisation",
        "actor": {"kind": "user", "user_id": 7},
        "submitted_at": NOW,
        "payload": {
            "name": "Dev",
            "role": "ProgrammeDeveloper",
            "tax_id": "T-1",
            "payment_id": "P-1",
            "email": "dev@example.org",
            "admin": {"email": "admin@example.org", "name": "Admin"},
        },
    }
    body.update(overrides)
    return CommandEnvelope.model_validate(body)


def test_command_envelope_round_trips() -> None:
    env = command_env()
    raw = encode_command(env)
    assert decode_command(raw) == env
    assert encode_command(decode_command(raw)) == raw
    typed = command_payload(env)
    assert isinstance(typed, RegisterOrganisation)
    assert typed.admin.email == "admin@example.org"


def test_event_envelope_round_trips() -> None:
    for env, raw in build_chain(8):
        decoded = decode_event(raw)
        assert decoded == env
        assert decode_event(encode_event(decoded)) == env
        typed = event_payload(decoded)
        assert type(typed) is EVENT_TYPES[env.type]
        assert typed.model_dump(mode="json") == env.payload


def test_event_payload_decimals_survive_the_wire() -> None:
    _, raw = build_chain(4)[3]
    typed = event_payload(decode_event(raw))
    assert isinstance(typed, ProgrammeCreated)
    assert typed.proponent_percentages == [Decimal("33.333333"), Decimal("66.666667")]
    assert typed.properties.carbon_price_usd_per_ton == Decimal("123.46")
    assert sum(typed.proponent_percentages) == 100


@pytest.mark.parametrize(
    "res",
    [
        ResultEnvelope(
            registry="testland",
            command_id="key-1",
            command_type="CreateProgramme",
            status="accepted",
            first_seq=4,
            last_seq=5,
            aggregate_id="organisation-2",
            aggregate_ids=["organisation-2", "user-2"],
            decided_at=NOW,
            fingerprint="a" * 64,
        ),
        ResultEnvelope(
            registry="testland",
            command_id="key-2",
            command_type="CreateProgramme",
            status="rejected",
            error=ErrorBody(
                code="programme.percentages_sum",
                kind="invalid",
                message="Ownership percentages must add up to 100, not 110.",
                details={"total": "110", "nested": {"list": [1, 2]}},
            ),
            decided_at=NOW,
            duplicate=True,
        ),
    ],
    ids=["accepted", "rejected"],
)
def test_result_envelope_round_trips(res: ResultEnvelope) -> None:
    raw = encode_result(res)
    assert decode_result(raw) == res
    assert encode_result(decode_result(raw)) == raw
    # None fields are left out of the wire form.
    assert all(v is not None for v in orjson.loads(raw).values())


# ---- validation: no mass assignment, bounded ids ----------------------------------------


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CommandEnvelope, {**command_env().model_dump(), "is_admin": True}),
        (
            CommandEnvelope,
            {**command_env().model_dump(), "actor": {"kind": "user", "user_id": 1, "role": "Root"}},
        ),
        (EventEnvelope, {**build_chain(1)[0][0].model_dump(), "verified": True}),
        (
            ResultEnvelope,
            {
                "registry": "testland",
                "command_id": "k",
                "command_type": "X",
                "status": "accepted",
                "decided_at": NOW,
                "admin": True,
            },
        ),
        (
            ErrorBody,
            {"code": "a.b", "kind": "invalid", "message": "m", "stack": "..."},
        ),
    ],
    ids=["command", "actor", "event", "result", "error"],
)
def test_envelopes_refuse_unknown_fields(model: Any, body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    assert {e["type"] for e in info.value.errors()} == {"extra_forbidden"}


@pytest.mark.parametrize(
    "extra",
    [
        {"state": "Active"},
        {"company_id": 1},
        {"admin": {"email": "a@example.org", "name": "A", "role": "Root"}},
        {"admin": {"email": "a@example.org", "name": "A", "password": "x"}},
    ],
    ids=["state", "company_id", "admin-role", "admin-password"],
)
def test_command_payloads_refuse_unknown_fields(extra: dict[str, Any]) -> None:
    env = command_env()
    env = env.model_copy(update={"payload": {**env.payload, **extra}})
    with pytest.raises(ValidationError) as info:
        command_payload(env)
    assert "extra_forbidden" in {e["type"] for e in info.value.errors()}


def test_every_published_model_forbids_extra_fields() -> None:
    for cls in [*COMMAND_TYPES.values(), *EVENT_TYPES.values()]:
        assert cls.model_config.get("extra") == "forbid", cls


@pytest.mark.parametrize(
    "registry", ["", "Upper", "1abc", "-abc", "a" * 33, "with space", "a/b", "ab.c", "é"]
)
def test_bad_registry_ids_are_refused(registry: str) -> None:
    with pytest.raises(ValidationError):
        command_env(registry=registry)


@pytest.mark.parametrize("registry", ["a", "vu", "a-b_1", "a" * 32])
def test_good_registry_ids_are_accepted(registry: str) -> None:
    assert command_env(registry=registry).registry == registry


@pytest.mark.parametrize(
    "command_id", ["", "a" * 129, "has space", "slash/x", "ü", "a\nb", "a;b", "{x}"]
)
def test_bad_command_ids_are_refused(command_id: str) -> None:
    with pytest.raises(ValidationError):
        command_env(command_id=command_id)


@pytest.mark.parametrize("command_id", ["a", "A.b_c:d-1", "a" * 128, "auto-" + "f" * 32])
def test_good_command_ids_are_accepted(command_id: str) -> None:
    assert command_env(command_id=command_id).command_id == command_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": ""},
        {"type": "x" * 65},
        {"actor": {"kind": "admin"}},
        {"envelope_version": 2},
        {"payload": []},
    ],
    ids=["empty-type", "long-type", "actor-kind", "version", "payload-list"],
)
def test_other_bad_command_envelopes_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        command_env(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [{"seq": 0}, {"hash": "A" * 64}, {"prev_hash": "0" * 63}, {"version": 0}],
    ids=["seq-0", "upper-hash", "short-prev", "version-0"],
)
def test_bad_event_envelopes_are_refused(overrides: dict[str, Any]) -> None:
    env, _ = build_chain(1)[0]
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**env.model_dump(), **overrides})


@pytest.mark.parametrize("code", ["Bad", "nodot", "a.", ".a", "a.B", "a b.c"])
def test_error_codes_are_dotted_lower_case(code: str) -> None:
    with pytest.raises(ValidationError):
        ErrorBody(code=code, kind="invalid", message="m")


def test_envelopes_are_frozen() -> None:
    env = command_env()
    with pytest.raises(ValidationError):
        env.command_id = "other"  # type: ignore[misc]


def test_strings_are_stripped_and_emails_lowered() -> None:
    env = command_env()
    env = env.model_copy(
        update={"payload": {**env.payload, "name": "  Dev  ", "email": "Dev@Example.ORG"}}
    )
    typed = command_payload(env)
    assert isinstance(typed, RegisterOrganisation)
    assert typed.name == "Dev"
    assert typed.email == "dev@example.org"


def test_unknown_type_names() -> None:
    with pytest.raises(UnknownType):
        event_class("Nope")
    with pytest.raises(UnknownType):
        command_class("Nope")
    with pytest.raises(UnknownType):
        command_payload(command_env(type="Nope"))
    env, _ = build_chain(1)[0]
    with pytest.raises(UnknownType):
        event_payload(env.model_copy(update={"type": "Nope"}))


# ---- upcasting --------------------------------------------------------------------------

THROWAWAY = "ZzTestThrowawayEvent"


@pytest.fixture
def throwaway_upcasters() -> Iterator[str]:
    """v1 -> v2 renames a field, v2 -> v3 adds one; removed from UPCASTERS afterwards."""

    @upcaster(THROWAWAY, 1)
    def v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
        p = dict(p)
        p["full_name"] = p.pop("name")
        return p

    @upcaster(THROWAWAY, 2)
    def v2_to_v3(p: dict[str, Any]) -> dict[str, Any]:
        return {**p, "tags": []}

    try:
        yield THROWAWAY
    finally:
        for key in [k for k in UPCASTERS if k[0] == THROWAWAY]:
            del UPCASTERS[key]


class ThrowawayV3(EventPayload):
    TYPE: ClassVar[str] = THROWAWAY
    VERSION: ClassVar[int] = 3
    AGGREGATE: ClassVar[str] = "test"

    full_name: str
    tags: list[str]


def test_upcast_chains_v1_to_v3(throwaway_upcasters: str) -> None:
    original = {"name": "Old"}
    assert upcast(throwaway_upcasters, 1, 3, original) == {"full_name": "Old", "tags": []}
    assert original == {"name": "Old"}  # steps do not mutate their input
    assert upcast(throwaway_upcasters, 2, 3, {"full_name": "Mid"}) == {
        "full_name": "Mid",
        "tags": [],
    }
    assert upcast(throwaway_upcasters, 3, 3, {"full_name": "New", "tags": ["x"]}) == {
        "full_name": "New",
        "tags": ["x"],
    }


def test_missing_upcaster_is_an_error(throwaway_upcasters: str) -> None:
    with pytest.raises(MissingUpcaster, match=f"no upcaster for {THROWAWAY} v3"):
        upcast(throwaway_upcasters, 1, 4, {"name": "Old"})
    with pytest.raises(MissingUpcaster, match="newer than this build"):
        upcast(throwaway_upcasters, 4, 3, {})
    with pytest.raises(MissingUpcaster, match="no upcaster for ZzNeverRegistered v1"):
        upcast("ZzNeverRegistered", 1, 2, {})


def test_duplicate_upcaster_is_refused(throwaway_upcasters: str) -> None:
    with pytest.raises(ValueError, match="duplicate upcaster"):
        upcaster(throwaway_upcasters, 1)(lambda p: p)


def test_throwaway_upcasters_are_cleaned_up() -> None:
    assert not [k for k in UPCASTERS if k[0] == THROWAWAY]


def test_event_payload_upcasts_a_stored_v1_event(
    throwaway_upcasters: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(EVENT_TYPES, THROWAWAY, ThrowawayV3)
    env, _ = build_chain(1)[0]
    stored_v1 = env.model_copy(update={"type": THROWAWAY, "version": 1, "payload": {"name": "A"}})
    typed = event_payload(stored_v1)
    assert typed == ThrowawayV3(full_name="A", tags=[])
    stored_v4 = stored_v1.model_copy(update={"version": 4})
    with pytest.raises(MissingUpcaster):
        event_payload(stored_v4)


def test_registered_upcasters_cover_every_old_version() -> None:
    for cls in EVENT_TYPES.values():
        for v in range(1, cls.VERSION):
            assert (cls.TYPE, v) in UPCASTERS, (cls.TYPE, v)
    for type_name, v in UPCASTERS:
        assert type_name in EVENT_TYPES, type_name
        assert 1 <= v < EVENT_TYPES[type_name].VERSION


# ---- JSON Schema export -----------------------------------------------------------------


def test_all_schemas_cover_every_type() -> None:
    schemas = all_schemas()
    expected = {"envelope/CommandEnvelope", "envelope/EventEnvelope", "envelope/ResultEnvelope"}
    expected |= {f"commands/{name}" for name in COMMAND_TYPES}
    expected |= {f"events/{name}.v{cls.VERSION}" for name, cls in EVENT_TYPES.items()}
    assert set(schemas) == expected
    for name, cls in EVENT_TYPES.items():
        schema = schemas[f"events/{name}.v{cls.VERSION}"]
        assert schema["x-event-version"] == cls.VERSION
        assert schema["x-aggregate"] == cls.AGGREGATE
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(cls.model_fields)
    for name, ccls in COMMAND_TYPES.items():
        schema = schemas[f"commands/{name}"]
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(ccls.model_fields)


def test_export_writes_one_file_per_schema(tmp_path: Path) -> None:
    written = export(tmp_path)
    schemas = all_schemas()
    assert len(written) == len(schemas) == 3 + len(COMMAND_TYPES) + len(EVENT_TYPES)
    assert sorted(written) == sorted(tmp_path / f"{key}.json" for key in schemas)
    for key, schema in schemas.items():
        path = tmp_path / f"{key}.json"
        assert path.is_file()
        text = path.read_text()
        assert text.endswith("\n")
        assert json.loads(text) == json.loads(json.dumps(schema))
    # Exporting again is stable (same bytes).
    before = {p: p.read_bytes() for p in written}
    export(tmp_path)
    assert {p: p.read_bytes() for p in written} == before
