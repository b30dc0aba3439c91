"""« Mon espace »: where applicants and grantees land after sign-in, with their files in
progress and their deadlines, their unread messages and what is expected of them (the
overdue flagged), each with its button; in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta

from app.accounts.services import Actor, load_current_user
from app.applications import services as applications
from app.applications.tables import Application
from app.grants.tables import Grant
from app.quotas import StorageLimits
from tests.factories import (
    QueryCounter,
    csrf_token,
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


def sign_in_to(client, user: dict, next_path: str | None = None):
    data = {"email": user["email"], "password": user["password"], "_csrf_token": csrf_token(client)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/connexion", data=data, follow_redirects=False)


def staff_message(client, officer: dict, app_id: int, body: str) -> None:
    user = run(client, load_current_user, officer["id"])
    run(
        client,
        applications.post_message,
        app_id,
        body,
        None,
        user=user,
        actor=Actor(user_id=officer["id"]),
        base_url="",
        limits=StorageLimits.from_settings(client.app.state.settings),
    )


def test_applicants_land_on_my_space_and_the_staff_on_their_work_queue(client):
    applicant, officer = make_user(client), make_user(client, roles=["officer"])
    landed = sign_in_to(client, applicant)
    assert landed.status_code == 303 and landed.headers["location"] == "/mon-espace"
    sign_out(client)
    asked = sign_in_to(client, applicant, "/appels")
    assert asked.headers["location"] == "/appels"  # a page that asked for them wins
    sign_out(client)
    staff = sign_in_to(client, officer)
    assert staff.headers["location"] == "/a-traiter"
    sign_out(client)


def test_my_space_says_what_is_in_progress_unread_and_expected(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    draft = make_application(client, owner, make_organisation(client, owner), call_id)
    sent_back = make_application(client, owner, make_organisation(client, owner), call_id)
    complete_by = datetime.now(UTC) + timedelta(days=5)
    run(
        client,
        lambda: (
            Application.update(
                {
                    Application.status: "to_complete",
                    Application.reference: f"MS-{sent_back}",
                    Application.title: "Brigades numériques",
                    Application.complete_by: complete_by,
                }
            )
            .where(Application.id == sent_back)
            .run()
        ),
    )
    staff_message(client, officer, sent_back, "Le RIB manque.")
    to_accept = make_grant(client, officer, owner, accept=False)
    to_sign = make_grant(client, officer, owner, amount=5_000_000, agreement=False)
    late = make_grant(client, officer, owner, amount=1_000_000)
    run(
        client,
        lambda: (
            Grant.update({Grant.final_report_due: date.today() - timedelta(days=3)})
            .where(Grant.id == late["grant"])
            .run()
        ),
    )

    sign_in(client, owner)
    page = client.get("/mon-espace")
    assert page.status_code == 200
    html = page.text
    expected = html.split('id="expected-title"')[1].split("</section>")[0]
    # The overdue report first, flagged, with its button.
    assert expected.index("Déposer le bilan final") < expected.index("Accepter la subvention")
    assert "en retard" in expected.split("Déposer le bilan final")[1].split("</li>")[0]
    assert f'href="/dossiers/{late["app"]}/bilans/final"' in expected
    assert f'href="/dossiers/{to_accept["app"]}/decision#acceptance"' in expected
    assert f'href="/dossiers/{to_sign["app"]}/decision#agreement"' in expected
    assert (
        "Compléter le dossier renvoyé" in expected and f'href="/dossiers/{sent_back}"' in expected
    )
    # Files in progress, with their deadline; the unread message.
    progress = html.split('id="progress-title"')[1].split("</section>")[0]
    assert f'href="/dossiers/{draft}"' in progress and "Date limite" in progress
    unread = html.split('id="unread-title"')[1].split("</section>")[0]
    assert "1 nouveau message" in text_of(unread) and f"/dossiers/{sent_back}#messages" in unread

    # Reading the file marks its messages read; a new one is unread again.
    client.get(f"/dossiers/{sent_back}")
    assert "Aucun message non lu." in text_of(client.get("/mon-espace").text)
    staff_message(client, officer, sent_back, "Et la délibération.")
    assert "1 nouveau message" in text_of(client.get("/mon-espace").text)
    # « Mes dossiers » says it too, beside the reference.
    mine = client.get("/dossiers").text
    row = mine.split(f"MS-{sent_back}")[1].split("</tr>")[0]
    assert 'class="unread"' in row and "1 message non lu" in row
    sign_out(client)


def test_nothing_of_it_on_the_public_home_page(client):
    owner = make_user(client)
    sign_in(client, owner)
    home = text_of(client.get("/").text)
    assert "Ce qui est attendu de vous" not in home and "Dossiers en cours" not in home
    assert "Mon espace" in home  # the way there
    sign_out(client)
    assert client.get("/mon-espace", follow_redirects=False).status_code == 303


def test_my_files_show_the_reference_or_draft_and_the_deadline(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    make_application(client, owner, make_organisation(client, owner), call_id)
    sign_in(client, owner)
    page = client.get("/dossiers").text
    assert "table--stack" in page and 'data-label="Date limite"' in page
    first = text_of(page.split("<tbody>")[1].split("</td>")[0])
    assert first.strip() == "brouillon"
    sign_out(client)


def test_my_space_queries_do_not_grow_with_files_and_grants(client, monkeypatch):
    officer = make_user(client, roles=["officer"])
    few, many = make_user(client), make_user(client)
    call_id = make_call(client, officer, publish=True)
    make_application(client, few, make_organisation(client, few), call_id)
    make_grant(client, officer, few, amount=1_000_000)
    for _ in range(3):
        app_id = make_application(client, many, make_organisation(client, many), call_id)
        staff_message(client, officer, app_id, "Bonjour.")
        make_grant(client, officer, many, amount=1_000_000)
    counter = QueryCounter(monkeypatch)
    sign_in(client, few)
    one = counter.measure(lambda: client.get("/mon-espace"))
    sign_out(client)
    sign_in(client, many)
    three = counter.measure(lambda: client.get("/mon-espace"))
    sign_out(client)
    assert 0 < one == three, (one, three)
