"""The shared access rules: what each kind of user may read (domain.md 4.2), and that the
write table and the single writer's actions are one and the same."""

from __future__ import annotations

import pytest

from command_service.domain.permissions import Action
from libs.access_rules import (
    READ_RULES,
    WRITE_RULES,
    Reach,
    RowFilter,
    covers,
    row_filter,
    visible,
    write_reach,
)

OWN = 7
OTHER = 8
EXECUTED = frozenset({"Approved", "Recognised"})

# subject -> (company role, user role) -> (sees everything, linked to own, public states)
EXPECTED_READS: dict[str, dict[tuple[str, str], tuple[bool, bool, frozenset[str]]]] = {
    "users": {
        ("Government", "ViewOnly"): (True, False, frozenset()),
        ("Ministry", "Manager"): (True, False, frozenset()),
        ("ProgrammeDeveloper", "Admin"): (False, True, frozenset()),
        ("Certifier", "ViewOnly"): (False, True, frozenset()),
        ("API", "Admin"): (False, True, frozenset()),
    },
    "organisations": {
        ("Government", "ViewOnly"): (True, False, frozenset()),
        ("ProgrammeDeveloper", "Admin"): (False, True, frozenset({"Active", "Suspended"})),
    },
    "programmes": {
        ("Ministry", "ViewOnly"): (True, False, frozenset()),
        ("Certifier", "ViewOnly"): (True, False, frozenset()),
        ("API", "Admin"): (True, False, frozenset()),
        ("ProgrammeDeveloper", "ViewOnly"): (False, True, frozenset({"Approved", "Authorised"})),
    },
    "credit_requests": {
        ("Government", "Manager"): (True, False, frozenset()),
        ("ProgrammeDeveloper", "Admin"): (False, True, EXECUTED),
        ("Certifier", "Admin"): (False, False, EXECUTED),
    },
    "credit_blocks": {
        ("Ministry", "Admin"): (True, False, frozenset()),
        ("ProgrammeDeveloper", "Manager"): (False, True, frozenset({"retired"})),
    },
    "holdings": {
        ("Government", "ViewOnly"): (True, False, frozenset()),
        ("Certifier", "Admin"): (False, True, frozenset()),
    },
}


@pytest.mark.parametrize(
    ("subject", "company_role", "user_role"),
    [(s, cr, ur) for s, table in EXPECTED_READS.items() for cr, ur in table],
)
def test_row_filters(subject: str, company_role: str, user_role: str) -> None:
    everything, own, states = EXPECTED_READS[subject][(company_role, user_role)]
    f = row_filter(subject, user_role, company_role, OWN)
    assert f.everything is everything
    assert (f.company_id == OWN) is own
    assert f.public_states == (frozenset() if everything else states)


@pytest.mark.parametrize("subject", sorted(READ_RULES))
def test_root_reads_everything(subject: str) -> None:
    assert row_filter(subject, "Root", "Government", 1).everything


def test_visible_is_what_a_filter_says() -> None:
    f = row_filter("programmes", "Admin", "ProgrammeDeveloper", OWN)
    assert visible(f, [OWN, OTHER], "AwaitingAuthorization")
    assert not visible(f, [OTHER], "AwaitingAuthorization")
    assert visible(f, [OTHER], "Authorised")
    assert visible(RowFilter(everything=True), [], None)
    assert not visible(RowFilter(everything=False), [OWN], "Authorised")
    assert f.only_company == OWN
    assert f.states == ["Approved", "Authorised"]
    assert RowFilter(everything=True).states is None


def test_the_write_table_is_the_single_writers_actions() -> None:
    assert {a.value for a in Action} == set(WRITE_RULES)


def test_reach_and_cover() -> None:
    assert write_reach("user.update", "Manager", "Certifier") is Reach.SELF
    assert write_reach("user.update", "ViewOnly", "Government") is Reach.NONE
    assert write_reach("user.create", "Admin", "Government") is Reach.ANY
    assert write_reach("user.create", "Admin", "Ministry") is Reach.OWN
    assert write_reach("user.update", "Root", "Government") is Reach.OWN
    assert write_reach("organisation.self_register", "Admin", "Government") is Reach.NONE
    assert covers(Reach.ANY, own_company=False, is_self=False)
    assert covers(Reach.OWN, own_company=True, is_self=False)
    assert not covers(Reach.OWN, own_company=False, is_self=True)
    assert covers(Reach.SELF, own_company=True, is_self=True)
    assert not covers(Reach.SELF, own_company=True, is_self=False)
    assert not covers(Reach.NONE, own_company=True, is_self=True)
