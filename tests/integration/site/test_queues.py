"""« À traiter »: staff land on it after signing in; each role's queue counts what
waits (in SQL, the same queries for 1 or 3 rows) and links to where it is done; staff
menus leave out the applicant's pages unless the person belongs to an organisation."""

from datetime import UTC, datetime, timedelta

from app.applications.tables import Application
from app.reviews.tables import Assignment, ReviewSettings
from tests.factories import (
    QueryCounter,
    make_application,
    make_call,
    make_grant,
    make_organisation,
    make_user,
    run,
    sign_in,
    sign_out,
    text_of,
)


def _sign_in_lands_on(client, person, next_path=None):
    data = {"email": person["email"], "password": person["password"]}
    if next_path is not None:
        data["next"] = next_path
    from tests.factories import csrf_token

    response = client.post(
        "/connexion", data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_staff_land_on_their_queue_and_applicants_do_not(client):
    for roles in (["officer"], ["reviewer"], ["finance"], ["admin"]):
        person = make_user(client, roles=roles)
        assert _sign_in_lands_on(client, person) == "/a-traiter", roles
        sign_out(client)
    officer = make_user(client, roles=["officer"])
    assert _sign_in_lands_on(client, officer) == "/a-traiter"
    sign_out(client)
    # A page asked for wins.
    assert _sign_in_lands_on(client, officer, "/instruction/appels") == "/instruction/appels"
    sign_out(client)
    applicant = make_user(client)
    assert _sign_in_lands_on(client, applicant) != "/a-traiter"
    sign_out(client)
    sign_in(client, applicant)
    assert client.get("/a-traiter", follow_redirects=False).status_code == 403
    sign_out(client)


def test_staff_menus_show_the_applicants_pages_only_to_members(client):
    officer, member = make_user(client, roles=["officer"]), make_user(client, roles=["officer"])
    make_organisation(client, member)
    applicant = make_user(client)
    sign_in(client, officer)
    menu = client.get("/a-traiter").text.split('class="site-nav"')[1].split("</nav>")[0]
    assert "Mes dossiers" not in menu and "Mes structures" not in menu
    assert "À traiter" in menu
    sign_out(client)
    sign_in(client, member)
    menu = client.get("/a-traiter").text.split('class="site-nav"')[1].split("</nav>")[0]
    assert "Mes dossiers" in menu and "Mes structures" in menu
    sign_out(client)
    sign_in(client, applicant)
    menu = client.get("/").text.split('class="site-nav"')[1].split("</nav>")[0]
    assert "Mes dossiers" in menu and "À traiter" not in menu
    sign_out(client)


def _files(client, officer, owner, call_id, n, status, **values):
    ids = []
    for _ in range(n):
        app_id = make_application(client, owner, make_organisation(client, owner), call_id)
        run(
            client,
            Application.update(
                {
                    Application.status: status,
                    Application.reference: f"Q-{app_id}",
                    **{getattr(Application, k): v for k, v in values.items()},
                }
            )
            .where(Application.id == app_id)
            .run,
        )
        ids.append(app_id)
    return ids


def test_the_officers_queue_counts_and_links(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    _files(client, officer, owner, call_id, 2, "submitted")
    _files(client, officer, owner, call_id, 1, "submitted", completion_message="Il manque le RIB.")
    sign_in(client, officer)
    page = client.get("/a-traiter").text
    text = text_of(page)
    assert "3 Dossiers à examiner" not in text  # the completed one is on its own line
    assert "2 Dossiers à examiner (recevabilité)" in text
    assert "1 Dossiers renvoyés et complétés" in text
    assert f"/instruction/appels/{call_id}/dossiers?status=submitted" in page
    assert f"/instruction/appels/{call_id}/dossiers?status=submitted&amp;completes=1" in page
    # The list it links to has the filter.
    completed = text_of(
        client.get(
            f"/instruction/appels/{call_id}/dossiers",
            params={"status": "submitted", "completes": "1"},
        ).text
    )
    listed = text_of(
        client.get(f"/instruction/appels/{call_id}/dossiers", params={"status": "submitted"}).text
    )
    assert completed.count("Q-") == 1 and listed.count("Q-") == 3
    sign_out(client)


def test_the_reviewers_queue_lists_reviews_to_do_with_due_dates(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    reviewer = make_user(client, roles=["reviewer"])
    call_id = make_call(client, officer, publish=True)
    apps = _files(client, officer, owner, call_id, 2, "in_review")

    async def assign():
        await ReviewSettings.insert(
            ReviewSettings(call=call_id, due_at=datetime(2030, 6, 15, 16, tzinfo=UTC))
        )
        for app_id in apps:
            await Assignment.insert(Assignment(application=app_id, reviewer=reviewer["id"]))

    run(client, assign)
    sign_in(client, reviewer)
    page = client.get("/a-traiter").text
    assert "2 Évaluations à faire" in text_of(page) and "15 juin 2030" in text_of(page)
    assert 'href="/evaluation"' in page
    sign_out(client)


def test_finance_and_admin_queues(client):
    officer, finance, admin = (
        make_user(client, roles=["officer"]),
        make_user(client, roles=["finance"]),
        make_user(client, roles=["admin"]),
    )
    owner = make_user(client)
    make_grant(client, officer, owner)
    for person, expected in (
        (finance, ("Échéances approuvées, en attente de versement", "Reversements à encaisser")),
        (admin, ("Invitations du personnel", "Point de contrôle du journal d’audit")),
    ):
        sign_in(client, person)
        page = client.get("/a-traiter").text
        for words in expected:
            assert words in page, (person, words)
        sign_out(client)


def test_queues_cost_the_same_queries_for_1_and_3_rows(client, monkeypatch):
    officer = make_user(client, roles=["officer", "reviewer"])
    owner = make_user(client)
    counter = QueryCounter(monkeypatch)

    def measure():
        sign_in(client, officer)
        count = counter.measure(lambda: client.get("/a-traiter"))
        sign_out(client)
        return count

    def add(n):
        call_id = make_call(client, officer, publish=True)
        _files(client, officer, owner, call_id, n, "submitted")
        _files(client, officer, owner, call_id, n, "submitted", completion_message="RIB")
        apps = _files(client, officer, owner, call_id, n, "in_review")

        async def assign():
            await ReviewSettings.insert(
                ReviewSettings(call=call_id, due_at=datetime.now(UTC) - timedelta(days=1))
            )
            for app_id in apps:
                await Assignment.insert(Assignment(application=app_id, reviewer=officer["id"]))

        run(client, assign)
        make_grant(client, officer, owner)

    add(1)
    one = measure()
    add(3)
    three = measure()
    assert 0 < one == three, (one, three)


def test_the_admins_queue_counts_pending_invitations_and_the_list_filters_them(client):
    from app.accounts.services import Actor, invite_staff

    admin = make_user(client, roles=["admin"])
    run(
        client,
        invite_staff,
        email="nouvelle.recrue@test.guichet.test",
        full_name="Nouvelle Recrue",
        roles=["officer"],
        language="fr",
        base_url="",
        actor=Actor(user_id=admin["id"]),
    )
    sign_in(client, admin)
    page = client.get("/a-traiter").text
    line = text_of(page.split("Invitations du personnel")[0]).split()[-1]
    assert int(line) >= 1
    assert "/admin/utilisateurs?invitation=1" in page
    filtered = client.get("/admin/utilisateurs", params={"invitation": "1"}).text
    assert "nouvelle.recrue@test.guichet.test" in filtered
    assert admin["email"] not in filtered  # signed up long ago: not an invitation
    assert admin["email"] in client.get("/admin/utilisateurs").text
    sign_out(client)
