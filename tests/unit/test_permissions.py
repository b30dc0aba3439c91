"""Who may do what: the truth table of every permission × role (pretalx's style).

A change to ``app.permissions`` changes this table on purpose, or it is a mistake."""

import pytest

from app.accounts.services import CurrentUser
from app.permissions import PERMISSIONS, can

ROLES = ["visitor", "applicant", "reviewer", "officer", "finance", "admin"]
Y, N = True, False
TABLE = {
    #                          visitor applicant reviewer officer finance admin
    "staff":                   (N, N, Y, Y, Y, Y),
    "manage_calls":            (N, N, N, Y, N, Y),
    "view_every_application":  (N, N, N, Y, N, Y),
    "review":                  (N, N, Y, N, N, N),
    "follow_grants":           (N, N, N, Y, Y, Y),
    "instruct_grant":          (N, N, N, Y, N, Y),
    "sign_agreements":         (N, N, N, Y, N, Y),
    "pay":                     (N, N, N, N, Y, Y),
    "view_every_organisation": (N, N, N, Y, Y, Y),
    "read_bank_details":       (N, N, N, N, Y, N),
    "use_api":                 (N, N, N, Y, Y, Y),
    "read_audit":              (N, N, N, Y, N, Y),
    "administer":              (N, N, N, N, N, Y),
    # Staff see « Mes dossiers / Mes structures » only as members of an organisation
    # (test below).
    "applicant_pages":         (N, Y, N, N, N, N),
}  # fmt: skip


def person(role: str) -> CurrentUser | None:
    if role == "visitor":
        return None
    roles = frozenset() if role == "applicant" else frozenset({role})
    return CurrentUser(1, "p@example.fr", "P", "fr", 1, False, roles)


def test_the_table_covers_every_permission():
    assert set(TABLE) == set(PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_truth_table(permission, role):
    assert can(person(role), permission) is TABLE[permission][ROLES.index(role)]


def test_an_unknown_permission_is_an_error_not_a_no():
    with pytest.raises(KeyError):
        can(person("admin"), "pay_twice")


@pytest.mark.parametrize("role", ["reviewer", "officer", "finance", "admin"])
def test_staff_who_belong_to_an_organisation_see_the_applicant_pages(role):
    member = CurrentUser(1, "p@example.fr", "P", "fr", 1, False, frozenset({role}), is_member=True)
    assert can(member, "applicant_pages")


# --- Roles per funder -------------------------------------------------------------------

FUNDER_A, FUNDER_B = 7, 8
OBJECTS = {"none": None, "A": {"funder_id": FUNDER_A}, "B": {"funder": FUNDER_B}}


def scoped(*grants: tuple[str, int | None]) -> CurrentUser:
    """A person with these (role, funder) grants (None: every funder), as loaded."""
    from app.accounts.services import role_scopes

    rows = [{"role": role, "funder_id": funder} for role, funder in grants]
    roles = frozenset(role for role, _funder in grants)
    return CurrentUser(1, "p@example.fr", "P", "fr", 1, False, roles, False, role_scopes(rows))


# A role held for funder A only, asked about no object (the route's guard), about an
# object of funder A and one of funder B.
#                          reviewer@A  officer@A  finance@A
#                          -  A  B     -  A  B    -  A  B
SCOPED_TABLE = {
    "staff":                   (Y, Y, Y, Y, Y, Y, Y, Y, Y),
    "manage_calls":            (N, N, N, Y, Y, N, N, N, N),
    "view_every_application":  (N, N, N, Y, Y, N, N, N, N),
    "review":                  (Y, Y, N, N, N, N, N, N, N),
    "follow_grants":           (N, N, N, Y, Y, N, Y, Y, N),
    "instruct_grant":          (N, N, N, Y, Y, N, N, N, N),
    "sign_agreements":         (N, N, N, Y, Y, N, N, N, N),
    "pay":                     (N, N, N, N, N, N, Y, Y, N),
    # Organisations apply to several funders: not split by funder.
    "view_every_organisation": (N, N, N, Y, Y, Y, Y, Y, Y),
    "read_bank_details":       (N, N, N, N, N, N, Y, Y, Y),
    # The API's queries are narrowed to the holder's funders (integration tests).
    "use_api":                 (N, N, N, Y, Y, Y, Y, Y, Y),
    # The trail is not split by funder: officers of some funders only do not read it.
    "read_audit":              (N, N, N, N, N, N, N, N, N),
    "administer":              (N, N, N, N, N, N, N, N, N),
    "applicant_pages":         (N, N, N, N, N, N, N, N, N),
}  # fmt: skip


def test_the_scoped_table_covers_every_permission():
    assert set(SCOPED_TABLE) == set(PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(SCOPED_TABLE))
@pytest.mark.parametrize("role", ["reviewer", "officer", "finance"])
@pytest.mark.parametrize("obj", ["none", "A", "B"])
def test_scoped_truth_table(permission, role, obj):
    column = ["reviewer", "officer", "finance"].index(role) * 3 + list(OBJECTS).index(obj)
    person = scoped((role, FUNDER_A))
    assert can(person, permission, OBJECTS[obj]) is SCOPED_TABLE[permission][column]


@pytest.mark.parametrize("permission", sorted(TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_roles_for_every_funder_reach_every_funder(permission, role):
    assert can(person(role), permission, OBJECTS["B"]) is TABLE[permission][ROLES.index(role)]


def test_an_object_that_names_no_funder_is_refused_to_a_scoped_person():
    assert can(scoped(("officer", None)), "manage_calls", {"title": "x"})
    assert not can(scoped(("officer", FUNDER_A)), "manage_calls", {"title": "x"})


def test_funders_for():
    from app.permissions import funders_for

    assert funders_for(None, "manage_calls") == frozenset()
    assert funders_for(person("applicant"), "manage_calls") == frozenset()
    assert funders_for(person("officer"), "manage_calls") is None
    assert funders_for(person("admin"), "pay") is None
    assert funders_for(scoped(("officer", FUNDER_A)), "manage_calls") == {FUNDER_A}
    # A grant for every funder wins over one for a funder.
    assert funders_for(scoped(("officer", FUNDER_A), ("officer", None)), "manage_calls") is None
    both = scoped(("officer", FUNDER_A), ("officer", FUNDER_B))
    assert funders_for(both, "manage_calls") == {FUNDER_A, FUNDER_B}
    # Roles add up: following grants reaches the funders of the officer and finance roles.
    mixed = scoped(("officer", FUNDER_A), ("finance", FUNDER_B))
    assert funders_for(mixed, "follow_grants") == {FUNDER_A, FUNDER_B}
    assert funders_for(mixed, "manage_calls") == {FUNDER_A}
    assert funders_for(mixed, "pay") == {FUNDER_B}
    # …and a role for every funder makes the permission global.
    assert funders_for(scoped(("officer", FUNDER_A), ("finance", None)), "follow_grants") is None
    # An admin is global even with a (refused, never written) funder on the row.
    assert funders_for(scoped(("admin", FUNDER_A)), "manage_calls") is None


def test_a_read_model_carries_its_funder_as_an_attribute():
    from types import SimpleNamespace

    finance_a = scoped(("finance", FUNDER_A))
    assert can(finance_a, "pay", SimpleNamespace(funder_id=FUNDER_A))
    assert not can(finance_a, "pay", SimpleNamespace(funder_id=FUNDER_B))
