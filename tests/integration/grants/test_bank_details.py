"""The beneficiary on a grant's page: bank details masked, shown in full to finance
on request (a POST, audited each time, the trail holding no full IBAN); the page links
only where the person may go."""

import pytest

from app.core import audit
from tests.factories import make_grant, make_user, post_form, run, sign_in

IBAN = "FR7630006000011234567890189"


@pytest.fixture(scope="module")
def world(client):
    officer = make_user(client, roles=["officer"])
    people = {
        "officer": officer,
        "finance": make_user(client, roles=["finance"]),
        "owner": make_user(client),
    }
    return people, make_grant(client, officer, people["owner"], amount=3_000_000)


def flat(text):
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_finance_sees_the_iban_masked_then_in_full_and_each_look_is_audited(client, world):
    people, g = world
    sign_in(client, people["finance"])
    page = flat(client.get(f"/suivi/subventions/{g['grant']}").text)
    assert "FR76 •••• •••• •••• •••• •••0 189" in page and "AGRI••••" in page
    assert "3000 6000" not in page and IBAN not in page
    assert f'action="/suivi/subventions/{g["grant"]}/coordonnees-bancaires#bank"' in page
    for _time in range(2):
        shown = flat(
            post_form(client, f"/suivi/subventions/{g['grant']}/coordonnees-bancaires").text
        )
        assert "FR76 3000 6000 0112 3456 7890 189" in shown and "AGRIFRPP" in shown
        assert "inscrit au journal d’audit" in shown
    entries, total = run(
        client, audit.search, action="grants.bank_details_revealed", object_id=g["grant"]
    )
    assert total == 2 and entries[0]["actor_id"] == people["finance"]["id"]
    assert entries[0]["summary"]["account"].endswith("0 189") and "3000 6000" not in str(entries)
    # Finance follows the grant, not the committee's file: no link to a page it may
    # not open; the organisation and the signed agreement are its to open.
    assert "Décision et courriers" not in page
    assert f'href="/structures/{run(client, _organisation, g["grant"])}"' in page
    agreement = f"/suivi/subventions/{g['grant']}/convention"
    assert agreement in page and client.get(agreement).status_code == 200


def test_officers_see_it_masked_only(client, world):
    people, g = world
    sign_in(client, people["officer"])
    page = flat(client.get(f"/suivi/subventions/{g['grant']}").text)
    assert "FR76 •••• •••• •••• •••• •••0 189" in page and "coordonnees-bancaires" not in page
    assert "Décision et courriers" in page
    refused = post_form(client, f"/suivi/subventions/{g['grant']}/coordonnees-bancaires")
    assert refused.status_code == 403 and IBAN not in refused.text


async def _organisation(grant_id):
    from app.grants.tables import Grant

    row = await Grant.select(Grant.organisation).where(Grant.id == grant_id).first()
    return row["organisation"]


def test_the_organisation_page_does_not_show_finance_the_full_iban_unaudited(client, world):
    """Review finding: the grant's page masks the IBAN and audits each « Afficher », but
    its link to the organisation's page showed finance the full IBAN, unaudited (and to
    finance staff of any funder, for any organisation)."""
    people, g = world
    sign_in(client, people["finance"])
    org = run(client, _organisation, g["grant"])
    page = flat(client.get(f"/structures/{org}").text)
    assert "FR76 •••• •••• •••• •••• •••0 189" in page
    assert "3000 6000" not in page and IBAN not in page
    # Its members still see their own in full.
    sign_in(client, people["owner"])
    assert "FR76 3000 6000 0112 3456 7890 189" in flat(client.get(f"/structures/{org}").text)
