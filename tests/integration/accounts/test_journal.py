"""The audit trail read by a person: actions in words, objects named, amounts
formatted, filters by action, object, person and date; the CSV export the same, for
French Excel."""

import csv
import io
import re

from app.grants.tables import Grant, Instalment
from tests.factories import make_grant, make_user, post_form, run, sign_in, text_of


def flat(text):
    return text_of(text).replace("\u202f", " ").replace("\xa0", " ")


def test_the_trail_names_objects_and_reads_in_words(client):
    officer = make_user(client, roles=["officer"])
    g = make_grant(client, officer, make_user(client), amount=2_000_000)
    first = run(
        client,
        lambda: (
            Instalment.select()
            .where((Instalment.grant == g["grant"]) & (Instalment.position == 1))
            .first()
            .run()
        ),
    )
    grant = run(
        client,
        lambda: (
            Grant.select(
                Grant.application.reference.as_alias("reference"),
                Grant.organisation.name.as_alias("name"),
            )
            .where(Grant.id == g["grant"])
            .first()
            .run()
        ),
    )
    sign_in(client, officer)
    assert (
        post_form(
            client,
            f"/suivi/subventions/{g['grant']}/echeances/{first['id']}",
            {"action": "approve"},
        ).status_code
        == 303
    )
    filters = {"object_type": "grant", "object_id": str(g["grant"])}
    page = flat(client.get("/journal", params=filters).text)
    assert "Échéance validée pour paiement" in page
    assert f"subvention {grant['reference']} — {grant['name']}" in page
    assert "montant : 10 000,00 €" in page and "échéance : 1" in page
    assert "Subvention acceptée en ligne" in page

    # By the file's reference too, as people know it.
    by_reference = {"object_type": "grant", "object_id": grant["reference"].lower()}
    found = flat(client.get("/journal", params=by_reference).text)
    count = re.compile(r"(\d+) entrées")
    assert count.search(found).group(1) == count.search(page).group(1)
    assert "montant : 10 000,00 €" in found
    unknown = client.get("/journal", params={"object_id": "IDF-1999-9999"})
    assert unknown.status_code == 422 and "Aucun dossier ne porte cette référence" in unknown.text

    only = flat(client.get("/journal", params={**filters, "action": "grants.accepted"}).text)
    assert "1 entrée" in only and "montant : 10 000,00 €" not in only
    wrong = client.get("/journal", params={"action": "grants.nothing"})
    assert wrong.status_code == 422 and "Choisissez une action dans la liste" in wrong.text

    export = client.get("/journal/export.csv", params=filters)
    assert export.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(export.text[1:]), delimiter=";"))
    approved = next(r for r in rows if r["Action (code)"] == "grants.instalment_approve")
    assert approved["Action"] == "Échéance validée pour paiement"
    assert approved["Objet"] == f"subvention {grant['reference']} — {grant['name']}"
    assert "montant : 10" in approved["Détails"] and len(approved["Empreinte"]) == 64
    assert approved["Qui"] == officer["email"]
