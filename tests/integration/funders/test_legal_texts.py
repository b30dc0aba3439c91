"""The funder's legal texts and contacts (admin): saved with clear refusals, shown on a
sample letter, and its signature image printed above the signatory's name."""

import io

import pypdf

from app.funders.tables import Funder
from tests.factories import csrf_token, make_call, make_user, post_form, run, sign_in, text_of
from tests.integration.funders.test_letterhead import png_bytes

GOOD = {
    "service_name": "Pôle formation professionnelle",
    "service_address": "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
    "service_email": "formation@region.test",
    "service_phone": "01 53 85 53 85",
    "signatory_name": "Claude Signataire",
    "signatory_capacity": "La directrice de la formation professionnelle",
    "deliberation_body": "la commission permanente du conseil régional",
    "appeal_routes": "",
    "siret": "237 500 079 00312",
}


def pdf_text(response) -> tuple[str, pypdf.PdfReader]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/pdf")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split()), reader


def funder_of(client, call):
    from app.calls.tables import Call

    return run(client, lambda: Call.select(Call.funder).where(Call.id == call).first().run())[
        "funder"
    ]


def test_an_admin_sets_the_legal_texts_and_sees_them_on_a_sample_letter(client):
    admin = make_user(client, roles=["admin"])
    officer = make_user(client, roles=["officer"])
    funder = funder_of(client, make_call(client, officer))
    sign_in(client, admin)
    page = client.get(f"/admin/financeurs/{funder}")
    assert page.status_code == 200
    # The default appeal text is written out in the form, ready to adapt.
    assert "Télérecours citoyens" in page.text

    refused = post_form(
        client,
        f"/admin/financeurs/{funder}/mentions",
        {
            **GOOD,
            "service_email": "pas-une-adresse",
            "siret": "12345678901234",
            "service_phone": "x",
        },
    )
    assert refused.status_code == 422
    shown = text_of(refused.text)
    assert "adresse électronique" in shown and "SIRET" in shown and "téléphone" in shown
    assert "Claude Signataire" in refused.text  # what was typed is kept
    row = run(client, lambda: Funder.select().where(Funder.id == funder).first().run())
    assert row["signatory_name"] == ""  # nothing half-written

    wrong_placeholder = post_form(
        client, f"/admin/financeurs/{funder}/mentions", {**GOOD, "appeal_routes": "Voir {motif}"}
    )
    assert wrong_placeholder.status_code == 422
    assert "{financeur}" in text_of(wrong_placeholder.text)

    saved = post_form(client, f"/admin/financeurs/{funder}/mentions", GOOD)
    assert saved.status_code == 303
    row = run(client, lambda: Funder.select().where(Funder.id == funder).first().run())
    assert row["siret"] == "23750007900312" and row["appeal_routes"] == ""
    assert row["service_address"] == "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine"

    uploaded = client.post(
        f"/admin/financeurs/{funder}/signature",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("signature.png", png_bytes(), "image/png")),
        ],
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    assert run(
        client,
        lambda: Funder.select(Funder.signature_file).where(Funder.id == funder).first().run(),
    )["signature_file"]

    award, reader = pdf_text(client.get(f"/admin/financeurs/{funder}/apercu.pdf"))
    assert "Pour Région" in award and "par délégation" in award
    assert "La directrice de la formation professionnelle" in award and "Claude Signataire" in award
    assert "Affaire suivie par" in award and "01 53 85 53 85" in award
    assert "la commission permanente du conseil régional a décidé" in award
    assert list(reader.pages[-1].images)  # the signature image
    rejection, _reader = pdf_text(
        client.get(f"/admin/financeurs/{funder}/apercu.pdf?kind=rejection")
    )
    assert "Voies et délais de recours" in rejection and "Télérecours citoyens" in rejection
    assert client.get("/admin/financeurs/999999/apercu.pdf").status_code == 404

    from app.core.audit import search

    entries, _count = run(
        client, search, object_type="funder", object_id=funder, action="funders.*"
    )
    assert {"funders.legal_updated", "funders.signature_set"} <= {e["action"] for e in entries}
