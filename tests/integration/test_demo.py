"""The demo a newcomer sees: the 2017 Île-de-France committee, decided and published."""

import pytest

from app import demo
from app.applications.tables import Application
from app.calls.tables import Call
from app.decisions.tables import Decision, Letter
from app.grants.tables import Grant, Instalment
from tests.factories import run


@pytest.fixture(scope="module")
def loaded(client):
    """The demo, loaded once into the module's empty database."""
    assert run(client, demo.load, if_empty=True, settings=client.app.state.settings)


def test_the_2017_call_is_decided_with_exactly_26_million_euros(client, loaded):
    call = run(
        client,
        lambda: (
            Call.select(Call.id)
            .where(Call.title == "Le numérique au service de la formation professionnelle")
            .first()
            .run()
        ),
    )["id"]
    decisions = run(client, lambda: Decision.select().where(Decision.call == call).run())
    awards = [d for d in decisions if d["outcome"] == "award"]
    rejections = [d for d in decisions if d["outcome"] == "reject"]
    assert len(awards) == 19
    assert sum(d["amount_cents"] for d in awards) == 26_000_000_00
    assert rejections and all(d["reason"].strip() for d in rejections)
    assert all(d["published_at"] is not None for d in decisions)
    poles = run(
        client,
        lambda: (
            Application.select(Application.id)
            .where((Application.call == call) & (Application.organisation.name == "Le PoleS"))
            .first()
            .run()
        ),
    )["id"]
    grant = run(client, lambda: Grant.select().where(Grant.application == poles).first().run())
    assert grant["amount_cents"] == 200_000_00
    parts = run(
        client,
        lambda: (
            Instalment.select(Instalment.amount_cents)
            .where(Instalment.grant == grant["id"])
            .order_by(Instalment.position)
            .run()
        ),
    )
    assert [p["amount_cents"] for p in parts] == [100_000_00, 60_000_00, 40_000_00]
    letters = run(client, lambda: Letter.count().where(Letter.application.call == call).run())
    assert letters == len(decisions)


def test_home_lists_the_demo_funders_in_french(client, loaded):
    response = client.get("/")
    assert "Région Île-de-France" in response.text
    assert "Région Centre-Val de Loire" in response.text


def test_le_poles_grant_is_half_way_and_one_grant_has_a_recovery(client, loaded):
    from app.grants import ledger
    from app.grants.tables import Recovery

    grant = run(
        client,
        lambda: Grant.select(Grant.id).where(Grant.organisation.name == "Le PoleS").first().run(),
    )["id"]
    balance = run(client, ledger.balance, grant)
    assert (balance.net_paid_cents, balance.remaining_cents) == (160_000_00, 40_000_00)
    recoveries = run(client, lambda: Recovery.select().where(Recovery.status == "open").run())
    assert len(recoveries) == 1 and recoveries[0]["amount_cents"] > 0


def test_staff_read_le_poles_answers_in_words(client, loaded):
    """A yes/no answer reads « Oui », not the stored « yes »."""
    from tests.factories import signed_in, text_of

    app_id = run(
        client,
        lambda: (
            Application.select(Application.id)
            .where(Application.reference == "IDF-2017-0001")
            .first()
            .run()
        ),
    )["id"]
    officer = {"email": "instruction@demo.guichet.test", "password": demo.DEMO_PASSWORD}
    with signed_in(client, officer):
        page = client.get(f"/instruction/dossiers/{app_id}").text
    answers = text_of(page.split("budget-title")[0])
    assert "quartiers prioritaires ? Oui" in answers and " yes " not in answers


def test_the_idf_funder_publishes_its_awards_and_the_reduced_grant_has_its_notice(client):
    import csv
    import io

    from app.grants.tables import GrantNotice

    run(client, demo.load, if_empty=True, settings=client.app.state.settings)
    response = client.get("/financeurs/region-ile-de-france/subventions.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert rows and all(r["idAttribuant"] == "23750007900312" for r in rows)
    assert any(r["nomBeneficiaire"] == "Le PoleS" and r["montant"] == "200000.00" for r in rows)
    notices = run(client, lambda: GrantNotice.select().run())
    assert len(notices) == 1 and notices[0]["recovery_cents"] > 0


def test_the_demo_applicant_sees_something_in_each_part_of_my_space(client):
    from tests.factories import sign_in, sign_out, text_of

    run(client, demo.load, if_empty=True, settings=client.app.state.settings)
    sign_in(client, {"email": "porteur@demo.guichet.test", "password": demo.DEMO_PASSWORD})
    page = client.get("/mon-espace").text
    expected = text_of(page.split('id="expected-title"')[1].split("</section>")[0])
    assert "Déposer le bilan final" in expected and "en retard" in expected
    progress = text_of(page.split('id="progress-title"')[1].split("</section>")[0])
    assert "école du web à Orléans" in progress and "Date limite" in progress
    unread = text_of(page.split('id="unread-title"')[1].split("</section>")[0])
    assert "1 nouveau message" in unread and "IDF-2017-0001" in unread
    # The draft is complete: « Vérifier et déposer » offers the sworn statement.
    draft = run(
        client,
        lambda: (
            Application.select(Application.id)
            .where(Application.title == "L'école du web à Orléans")
            .first()
            .run()
        ),
    )["id"]
    check = text_of(client.get(f"/dossiers/{draft}/deposer").text)
    assert "Avant de pouvoir déposer" not in check and "Déclaration sur l’honneur" in check
    sign_out(client)


def test_the_centre_val_de_loire_officer_sees_nothing_of_ile_de_france(client, loaded):
    """Roles per funder in the demo: the Centre-Val de Loire officer and finance
    accounts work on their region's call alone; the 2017 file is « not found »."""
    from tests.factories import signed_in

    idf_file = run(
        client,
        lambda: (
            Application.select(Application.id)
            .where(Application.reference == "IDF-2017-0001")
            .first()
            .run()
        ),
    )["id"]
    idf_title = "Le numérique au service de la formation professionnelle"
    officer = {"email": "instruction-cvl@demo.guichet.test", "password": demo.DEMO_PASSWORD}
    with signed_in(client, officer):
        calls = client.get("/instruction/appels").text
        assert "Centre-Val de Loire" in calls and idf_title not in calls
        assert client.get(f"/instruction/dossiers/{idf_file}").status_code == 404
    finance = {"email": "finances-cvl@demo.guichet.test", "password": demo.DEMO_PASSWORD}
    with signed_in(client, finance):
        dashboard = client.get("/finances").text
        assert idf_title not in dashboard and "26 000 000" not in dashboard
