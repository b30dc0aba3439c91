"""Queries built once (core.db.Prepared) return what Piccolo's query built each time
returns: the file as applicants and staff read it, and nothing for anyone else."""

from app.accounts.services import load_current_user
from app.applications import reading
from app.applications.tables import Application
from app.organisations.tables import Membership
from app.permissions import can
from tests.factories import make_application, make_call, make_organisation, make_user, run


async def built_each_time(user, app_id):
    """``application_for`` as it was written before it was prepared."""
    query = (
        Application.select(*reading.VIEW_COLUMNS)
        .where(Application.id == app_id)
        .output(load_json=True)
    )
    if not can(user, "view_every_application"):
        members = Membership.select(Membership.organisation).where(Membership.user == user.id)
        query = query.where(Application.organisation.is_in(members))
    row = await query.first()
    return None if row is None else reading._view(row)


def test_a_prepared_application_read_is_the_same_as_built_each_time(client):
    officer = make_user(client, roles=["officer"])
    owner = make_user(client)
    stranger = make_user(client)
    org = make_organisation(client, owner)
    call = make_call(client, officer, publish=True)
    app_ids = [make_application(client, owner, org, call) for _ in range(2)]
    people = {p["id"]: run(client, load_current_user, p["id"]) for p in (officer, owner, stranger)}
    for app_id in [*app_ids, 10**6]:
        for person in people.values():
            prepared = run(client, reading.application_for, person, app_id)
            assert prepared == run(client, built_each_time, person, app_id)
    owner_user, officer_user = people[owner["id"]], people[officer["id"]]
    read = run(client, reading.application_for, owner_user, app_ids[1])
    assert read is not None and read.id == app_ids[1] and read.organisation == org
    assert read.form and read.call_title  # joined columns and JSON decoded
    assert run(client, reading.application_for, people[stranger["id"]], app_ids[0]) is None
    # Staff see every file, but not as its applicants.
    assert run(client, reading.application_for, officer_user, app_ids[0]) is not None
    as_applicant = run(client, reading.application_for, officer_user, app_ids[0], members_only=True)
    assert as_applicant is None
