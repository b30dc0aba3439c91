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
