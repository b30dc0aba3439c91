"""Roles per funder in the admin's people pages: a role given for one funder, listed
with its funder, taken back alone, audited; the signed-in person carries it (loaded in
the same one query). What such a role opens is proven by the route matrix
(tests/integration/test_route_matrix.py)."""

from app.accounts.services import load_current_user
from app.accounts.tables import RoleGrant
from app.core import audit
from app.funders.services import ensure_funder
from tests.factories import QueryCounter, make_user, post_form, run, sign_in, sign_out


def _funder(client, n: int) -> int:
    return run(
        client,
        ensure_funder,
        name=f"Région Centre-Val de Loire {n}",
        slug=f"cvl-{n}",
        kind="région",
        address="",
        website="",
    )


def _grants(client, user_id: int) -> list[dict]:
    return run(
        client,
        lambda: (
            RoleGrant.select(RoleGrant.id, RoleGrant.role, RoleGrant.funder_id)
            .where(RoleGrant.user == user_id)
            .order_by(RoleGrant.id)
            .run()
        ),
    )


def test_an_admin_gives_a_role_for_one_funder(client):
    admin, person = make_user(client, roles=["admin"]), make_user(client)
    funder = _funder(client, 1)
    sign_in(client, admin)
    roles = f"/admin/utilisateurs/{person['id']}/roles"
    response = post_form(client, roles, {"action": "grant", "role": "officer", "funder": funder})
    assert response.status_code == 303
    assert [(g["role"], g["funder_id"]) for g in _grants(client, person["id"])] == [
        ("officer", funder)
    ]
    page = client.get(f"/admin/utilisateurs/{person['id']}").text
    assert "Région Centre-Val de Loire 1" in page
    listing = client.get("/admin/utilisateurs", params={"q": person["email"]}).text
    assert "(Région Centre-Val de Loire 1)" in listing
    entries, _ = run(client, audit.search, action="accounts.role_granted", object_id=person["id"])
    assert entries[0]["summary"] == {"role": "officer", "funder": funder}
    user = run(client, load_current_user, person["id"])
    assert user.roles == {"officer"} and user.funder_scopes == {("officer", funder)}
    # The same role for every funder too: it wins (no scope left).
    post_form(client, roles, {"action": "grant", "role": "officer", "funder": ""})
    assert run(client, load_current_user, person["id"]).funder_scopes == frozenset()
    sign_out(client)


def test_the_administrator_role_is_for_every_funder(client):
    admin, person = make_user(client, roles=["admin"]), make_user(client)
    funder = _funder(client, 2)
    sign_in(client, admin)
    response = post_form(
        client,
        f"/admin/utilisateurs/{person['id']}/roles",
        {"action": "grant", "role": "admin", "funder": funder},
        follow_redirects=True,
    )
    assert "pour tous les financeurs" in response.text
    # A funder that is not in the list is refused too.
    response = post_form(
        client,
        f"/admin/utilisateurs/{person['id']}/roles",
        {"action": "grant", "role": "officer", "funder": "999999"},
        follow_redirects=True,
    )
    assert "Choisissez un financeur dans la liste" in response.text
    assert _grants(client, person["id"]) == []
    sign_out(client)


def test_one_grant_is_taken_back_alone(client):
    admin, person = make_user(client, roles=["admin"]), make_user(client)
    first, second = _funder(client, 3), _funder(client, 4)
    sign_in(client, admin)
    roles = f"/admin/utilisateurs/{person['id']}/roles"
    for funder in (first, second):
        post_form(client, roles, {"action": "grant", "role": "finance", "funder": funder})
    grants = _grants(client, person["id"])
    response = post_form(client, roles, {"action": "revoke_grant", "grant": grants[0]["id"]})
    assert response.status_code == 303
    assert [g["funder_id"] for g in _grants(client, person["id"])] == [second]
    entries, _ = run(client, audit.search, action="accounts.role_revoked", object_id=person["id"])
    assert entries[0]["summary"] == {"role": "finance", "funder": first}
    # A grant of someone else is not touched from this person's page.
    other = make_user(client, roles=["reviewer"])
    theirs = _grants(client, other["id"])[0]["id"]
    post_form(client, roles, {"action": "revoke_grant", "grant": theirs})
    assert _grants(client, other["id"])
    sign_out(client)


def test_the_person_and_their_scopes_are_still_one_query(client, monkeypatch):
    person = make_user(client, roles=["reviewer"])
    for n in (5, 6):
        from app.accounts.services import SYSTEM, grant_role

        run(client, grant_role, person["id"], "officer", actor=SYSTEM, funder_id=_funder(client, n))
    counter = QueryCounter(monkeypatch)
    user = None

    def load():
        nonlocal user
        user = run(client, load_current_user, person["id"])

    assert counter.measure(load) == 1
    assert user.roles == {"reviewer", "officer"}
    assert {role for role, _f in user.funder_scopes} == {"officer"}
    assert len(user.funder_scopes) == 2


def test_staff_are_invited_for_one_funder(client):
    """Invited for a funder, the person never holds the role for every funder, not even
    before an admin could narrow it; the admin role is refused a funder, the form kept."""
    admin = make_user(client, roles=["admin"])
    funder = _funder(client, 7)
    sign_in(client, admin)
    assert "Région Centre-Val de Loire 7" in client.get("/admin/utilisateurs/inviter").text
    fields = {"full_name": "Noa Invitée", "email": "noa.cvl@example.test", "language": "fr"}
    response = post_form(
        client,
        "/admin/utilisateurs/inviter",
        {**fields, "roles": ["officer", "admin"], "funder": str(funder)},
    )
    assert response.status_code == 422
    assert "pour tous les financeurs" in response.text and "Noa Invitée" in response.text
    response = post_form(
        client,
        "/admin/utilisateurs/inviter",
        {**fields, "roles": ["officer", "finance"], "funder": str(funder)},
    )
    assert response.status_code == 303
    person = int(response.headers["location"].rsplit("/", 1)[1])
    assert {(g["role"], g["funder_id"]) for g in _grants(client, person)} == {
        ("officer", funder),
        ("finance", funder),
    }
    entries, _ = run(client, audit.search, action="accounts.staff_invited", object_id=person)
    assert entries[0]["summary"] == {"roles": ["finance", "officer"], "funder": funder}
    sign_out(client)
