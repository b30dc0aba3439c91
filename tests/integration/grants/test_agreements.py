"""The grant agreement (convention): generated from the articles, signed online by the
organisation's representative (consent, fingerprint, e-mailed code), countersigned by
staff holding the delegation, its evidence page; a scanned copy checked by an officer;
the stored files' integrity; no instalment approved before the agreement is in force."""

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from app.accounts.services import Actor
from app.core.storage import FileStorage
from app.grants import agreement_rule, agreements
from app.grants.tables import Agreement, Grant, Instalment
from tests.factories import (
    MINIMAL_PDF,
    csrf_token,
    emails_to,
    make_grant,
    make_user,
    post_form,
    run,
    sign_in,
    text_of,
)


def plain(text):
    import html

    return html.unescape(text_of(text)).replace("\u202f", " ").replace("\xa0", " ")


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


@pytest.fixture(scope="module")
def people(client):
    return {
        "officer": make_user(client, roles=["officer"]),
        "finance": make_user(client, roles=["finance"]),
        "admin": make_user(client, roles=["admin"]),
        "owner": make_user(client),
        "stranger": make_user(client),
    }


_sessions: dict[int, dict] = {}


def as_(client, person):
    client.cookies.clear()
    if person["id"] not in _sessions:
        sign_in(client, person)
        _sessions[person["id"]] = dict(client.cookies.items())
    for name, value in _sessions[person["id"]].items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


def page(grant: int) -> str:
    return f"/suivi/subventions/{grant}/convention"


def latest(client, grant: int) -> dict:
    return run(
        client,
        lambda: (
            Agreement.select()
            .where(Agreement.grant == grant)
            .order_by(Agreement.id, ascending=False)
            .first()
            .run()
        ),
    )


def first_instalment(client, grant: int) -> dict:
    return run(
        client,
        lambda: (
            Instalment.select()
            .where((Instalment.grant == grant) & (Instalment.position == 1))
            .first()
            .run()
        ),
    )


def approve_first(client, people, grant: int) -> str:
    as_(client, people["officer"])
    part = first_instalment(client, grant)
    post_form(client, f"/suivi/subventions/{grant}/echeances/{part['id']}", {"action": "approve"})
    return first_instalment(client, grant)["status"]


def generate(client, people, grant: int) -> dict:
    as_(client, people["officer"])
    response = post_form(client, page(grant) + "/generer")
    assert response.status_code == 303
    return latest(client, grant)


def code_for(client, person) -> str:
    mails = [m for m in emails_to(client, person["email"]) if m["template"] == "agreement_code"]
    return re.search(r"\b(\d{6})\b", mails[-1]["body_text"]).group(1)


def sign(client, person, grant: int, agreement: dict, **overrides):
    as_(client, person)
    data = {
        "name": "Alex Exemple",
        "capacity": "Président",
        "consent": "yes",
        "sha256": agreement["document_sha256"],
        "code": "",
        **overrides,
    }
    return post_form(client, f"{page(grant)}/{agreement['id']}/signature", data)


def ask_code(client, person, grant: int, agreement: dict) -> str:
    as_(client, person)
    assert post_form(client, f"{page(grant)}/{agreement['id']}/code").status_code == 303
    return code_for(client, person)


def countersign(client, person, grant: int, agreement: dict, **overrides):
    as_(client, person)
    data = {"capacity": "Cheffe du service, par délégation", "consent": "yes", **overrides}
    return post_form(client, f"{page(grant)}/{agreement['id']}/contresignature", data)


def test_the_generated_agreement_has_its_articles_amount_and_parties(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    agreement = generate(client, people, g["grant"])
    assert agreement["status"] == "to_sign" and len(agreement["document_sha256"]) == 64
    siret = run(
        client,
        lambda: (
            Grant.select(Grant.organisation.siret.as_alias("siret"))
            .where(Grant.id == g["grant"])
            .first()
            .run()
        ),
    )["siret"]
    as_(client, people["owner"])
    response = client.get(f"{page(g['grant'])}/{agreement['id']}/document")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == agreement["document_sha256"]
    text = pdf_text(response.content)
    for words in (
        "Convention d’attribution de subvention",
        "Article 1 — Objet",
        "Article 2 — Montant de la subvention",
        "200 000,00 € (deux cent mille euros)",
        f"SIRET {siret}",
        "50,00 %",  # its share of the project's cost (the project costs twice the grant)
        "Échéance 1 : 100 000,00 €",
        "CERFA n° 15059",
        "six mois",
        "Reversement en cas d’inexécution",
        "tribunal administratif",
        "Annexe 2 — Budget prévisionnel",
        "Pour le bénéficiaire",
    ):
        assert words in text, (words, text[:6000])
    # The owner is asked to sign, by e-mail.
    assert any(
        m["template"] == "agreement_step" for m in emails_to(client, people["owner"]["email"])
    )


def test_signed_online_by_both_then_the_first_instalment_can_be_approved(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    grant = g["grant"]
    assert approve_first(client, people, grant) == "due"  # no agreement: refused
    agreement = generate(client, people, grant)
    # Nobody but a member of the organisation signs: staff who see the grant are refused.
    refused = sign(client, people["officer"], grant, agreement, code="000000")
    assert refused.status_code == 422
    assert "membre de la structure" in plain(refused.text)
    assert sign(client, people["stranger"], grant, agreement).status_code == 404
    # Consent and the code are required; a wrong code counts.
    code = ask_code(client, people["owner"], grant, agreement)
    no_consent = sign(client, people["owner"], grant, agreement, code=code, consent="")
    assert no_consent.status_code == 422 and "Cochez" in plain(no_consent.text)
    wrong = sign(
        client, people["owner"], grant, agreement, code="999999" if code != "999999" else "111111"
    )
    assert wrong.status_code == 422 and "pas correct" in plain(wrong.text)
    assert latest(client, grant)["code_attempts"] == 1
    # A consent to another document is refused.
    other = sign(client, people["owner"], grant, agreement, code=code, sha256="0" * 64)
    assert other.status_code == 422
    assert sign(client, people["owner"], grant, agreement, code=code).status_code == 303
    signed = latest(client, grant)
    assert signed["status"] == "to_countersign"
    assert signed["signer_method"] == "email_code" and signed["signer_ip"]
    assert approve_first(client, people, grant) == "due"  # one signature is not enough
    # Only staff holding the signing delegation countersign.
    assert countersign(client, people["finance"], grant, agreement).status_code == 403
    assert countersign(client, people["officer"], grant, agreement).status_code == 303
    done = latest(client, grant)
    assert done["status"] == "signed"
    # The signed PDF: the document unchanged, then the evidence page.
    as_(client, people["owner"])
    response = client.get(f"{page(grant)}/{agreement['id']}/signee")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == done["signed_sha256"]
    reader = PdfReader(io.BytesIO(response.content))
    original = PdfReader(
        io.BytesIO(client.get(f"{page(grant)}/{agreement['id']}/document").content)
    )
    assert len(reader.pages) == len(original.pages) + 1
    evidence = re.sub(r"\s+", " ", reader.pages[-1].extract_text().replace("\u202f", " "))
    for words in (
        "Preuve des signatures électroniques",
        "Alex Exemple",
        "Président",
        people["owner"]["email"],
        "Contre-signature du financeur",
        "Cheffe du service, par délégation",
        people["officer"]["email"],
        "code à usage unique",
    ):
        assert words in evidence, words
    assert agreement["document_sha256"] in evidence.replace(" ", "")
    # In force: the grant names it, the first instalment is approvable now.
    in_force = run(
        client,
        lambda: (
            Grant.select(Grant.agreement_file, Grant.agreement_sha256)
            .where(Grant.id == grant)
            .first()
            .run()
        ),
    )
    assert in_force == {
        "agreement_file": done["signed_file"],
        "agreement_sha256": done["signed_sha256"],
    }
    assert approve_first(client, people, grant) == "approved"
    subjects = [m["subject"] for m in emails_to(client, people["owner"]["email"])]
    assert any("signée par les deux parties" in s for s in subjects)


def test_an_expired_or_overused_code_is_refused(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    agreement = generate(client, people, g["grant"])
    code = ask_code(client, people["owner"], g["grant"], agreement)
    run(
        client,
        lambda: (
            Agreement.update({Agreement.code_expires_at: datetime.now(UTC) - timedelta(minutes=1)})
            .where(Agreement.id == agreement["id"])
            .run()
        ),
    )
    expired = sign(client, people["owner"], g["grant"], agreement, code=code)
    assert expired.status_code == 422 and "expiré" in plain(expired.text)
    code = ask_code(client, people["owner"], g["grant"], agreement)
    for _ in range(agreements.CODE_ATTEMPTS):
        sign(client, people["owner"], g["grant"], agreement, code="12345x")
    blocked = sign(client, people["owner"], g["grant"], agreement, code=code)
    assert blocked.status_code == 422 and "Trop de codes" in plain(blocked.text)
    assert latest(client, g["grant"])["status"] == "to_sign"


def test_a_changed_byte_in_the_stored_agreement_is_detected(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    agreement = generate(client, people, g["grant"])
    files = FileStorage.of_app(client.app)
    path = files.path_of(agreement["document_file"])
    assert path.stat().st_mode & 0o222 == 0  # written once: read-only
    assert run(
        client, agreements.verify, files, agreement["document_file"], agreement["document_sha256"]
    )
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    assert not run(
        client, agreements.verify, files, agreement["document_file"], agreement["document_sha256"]
    )
    as_(client, people["owner"])
    response = client.get(f"{page(g['grant'])}/{agreement['id']}/document")
    assert response.status_code == 409 and "altéré" in plain(response.text)
    assert "altéré" in plain(client.get(page(g["grant"])).text)
    # Nor is it signed: the consent would be to other bytes.
    code = ask_code(client, people["owner"], g["grant"], agreement)
    assert sign(client, people["owner"], g["grant"], agreement, code=code).status_code == 422
    results = run(client, agreements.verify_all, files)
    assert (agreement["id"], "document", False) in results


def test_a_scanned_copy_is_in_force_only_once_an_officer_accepts_it(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    grant = g["grant"]
    as_(client, people["owner"])
    sent = client.post(
        f"/dossiers/{g['app']}/convention",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("convention.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303
    uploaded = latest(client, grant)
    assert uploaded["status"] == "uploaded"
    assert approve_first(client, people, grant) == "due"  # not checked yet
    check = f"{page(grant)}/{uploaded['id']}/verification"
    as_(client, people["owner"])
    assert post_form(client, check, {"decision": "accept"}).status_code == 403
    as_(client, people["officer"])
    no_reason = post_form(client, check, {"decision": "refuse", "reason": ""})
    assert no_reason.status_code == 422 and "motif" in plain(no_reason.text)
    assert (
        post_form(client, check, {"decision": "refuse", "reason": "Page 3 absente"}).status_code
        == 303
    )
    assert latest(client, grant)["status"] == "refused"
    assert any(
        "Page 3 absente" in m["body_text"] for m in emails_to(client, people["owner"]["email"])
    )
    # Sent again, accepted: in force; a generated version nobody signed is replaced.
    generated = generate(client, people, grant)
    stored = FileStorage.of_app(client.app).store_bytes(
        MINIMAL_PDF, filename="c.pdf", kinds={"pdf"}
    )
    second = run(
        client,
        agreements.receive_upload,
        grant,
        storage_id=stored.storage_id,
        name="c.pdf",
        sha256=stored.sha256,
        actor=Actor(user_id=people["owner"]["id"]),
    )
    as_(client, people["officer"])
    assert (
        post_form(
            client, f"{page(grant)}/{second}/verification", {"decision": "accept"}
        ).status_code
        == 303
    )
    assert latest(client, grant)["status"] == "accepted"
    replaced = run(
        client,
        lambda: (
            Agreement.select(Agreement.status).where(Agreement.id == generated["id"]).first().run()
        ),
    )
    assert replaced["status"] == "replaced"
    assert approve_first(client, people, grant) == "approved"


def test_articles_edited_for_a_funder_and_for_a_call(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    funder = run(
        client,
        lambda: (
            Grant.select(Grant.call.funder.as_alias("funder"))
            .where(Grant.id == g["grant"])
            .first()
            .run()
        ),
    )["funder"]
    as_(client, people["officer"])
    path = f"/suivi/conventions/financeurs/{funder}"
    assert "Article 9 — Litiges" in plain(client.get(path).text)
    bad = post_form(client, path, {"body": "# Article 1\nMontant : {montant.__class__} <b>"})
    assert bad.status_code == 422 and "{montant.__class__}" in plain(bad.text)
    assert "<b>" not in bad.text.split("<textarea", 1)[1].split("</textarea>")[0]
    body = "# Article unique — Objet\nSubvention de {montant} à {organisation} <b>gras</b>."
    assert post_form(client, path, {"body": body}).status_code == 303
    call_path = f"/suivi/conventions/appels/{g['call']}"
    assert "Article unique" in plain(client.get(call_path).text)  # inherited from the funder
    assert (
        post_form(client, call_path, {"body": "# Article propre à l'appel\n{projet}"}).status_code
        == 303
    )
    agreement = generate(client, people, g["grant"])
    text = pdf_text(client.get(f"{page(g['grant'])}/{agreement['id']}/document").content)
    assert "Article propre à l'appel" in text and "Article 1 — Objet" not in text
    # Back to the funder's: the user text is drawn as text, tags and all.
    assert post_form(client, call_path, {"reset": "yes"}).status_code == 303
    agreement = generate(client, people, g["grant"])
    text = pdf_text(client.get(f"{page(g['grant'])}/{agreement['id']}/document").content)
    assert "Subvention de 200 000,00 €" in text and "<b>gras</b>" in text
    as_(client, people["owner"])
    assert client.get(path, follow_redirects=False).status_code == 403


def test_the_threshold_is_a_setting_admins_may_lower(client, people):
    assert run(client, agreement_rule.threshold_cents) == 2_300_000
    assert agreement_rule.agreement_reason(2_300_000, call_asks=False) is None
    assert agreement_rule.agreement_reason(2_300_001, call_asks=False) == "law"
    assert agreement_rule.agreement_reason(100, call_asks=True) == "call"
    as_(client, people["officer"])
    assert post_form(client, "/suivi/conventions/seuil", {"threshold": "10 000"}).status_code == 403
    as_(client, people["admin"])
    too_high = post_form(
        client, "/suivi/conventions/seuil", {"threshold": "30 000"}, follow_redirects=True
    )
    assert "23 000" in plain(too_high.text)
    assert post_form(client, "/suivi/conventions/seuil", {"threshold": "10 000"}).status_code == 303
    try:
        assert run(client, agreement_rule.threshold_cents) == 1_000_000
        g = make_grant(
            client, people["officer"], people["owner"], amount=1_500_000, agreement=False
        )
        required = run(
            client,
            lambda: (
                Grant.select(Grant.agreement_required).where(Grant.id == g["grant"]).first().run()
            ),
        )
        assert required["agreement_required"] is True
    finally:
        post_form(client, "/suivi/conventions/seuil", {"threshold": "23 000"})


def test_an_amended_schedule_gets_its_avenant_signed_the_same_way(client, people):
    from app.grants import services as grants
    from app.grants.tables import ScheduleAmendment

    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    grant = g["grant"]
    agreement = generate(client, people, grant)
    code = ask_code(client, people["owner"], grant, agreement)
    assert sign(client, people["owner"], grant, agreement, code=code).status_code == 303
    assert countersign(client, people["officer"], grant, agreement).status_code == 303
    in_force = latest(client, grant)["signed_file"]
    parts = run(
        client,
        lambda: (
            Instalment.select().where(Instalment.grant == grant).order_by(Instalment.position).run()
        ),
    )
    run(
        client,
        grants.amend_schedule,
        grant,
        {parts[1]["id"]: 5_000_000, parts[2]["id"]: 5_000_000},
        reason="Calendrier du chantier décalé",
        actor=Actor(user_id=people["officer"]["id"]),
    )
    amendment = run(
        client,
        lambda: (
            ScheduleAmendment.select(ScheduleAmendment.id)
            .where(ScheduleAmendment.grant == grant)
            .first()
            .run()
        ),
    )["id"]
    as_(client, people["officer"])
    assert "Établir l’avenant" in plain(client.get(page(grant)).text)
    assert post_form(client, f"{page(grant)}/avenants/{amendment}").status_code == 303
    avenant = latest(client, grant)
    assert (avenant["kind"], avenant["status"], avenant["amendment"]) == (
        "amendment",
        "to_sign",
        amendment,
    )
    text = pdf_text(client.get(f"{page(grant)}/{avenant['id']}/document").content)
    for words in (
        "Avenant n° 1 à la convention d’attribution de subvention",
        "Calendrier du chantier décalé",
        "Échéancier antérieur : — Échéance 1 : 100 000,00 € — Échéance 2 : 60 000,00 €",
        "Nouvel échéancier : — Échéance 1 : 100 000,00 € — Échéance 2 : 50 000,00 € "
        "— Échéance 3 : 50 000,00 €",
        "200 000,00 € (deux cent mille euros)",
    ):
        assert words in text, (words, text)
    # Once only for one amendment.
    post_form(client, f"{page(grant)}/avenants/{amendment}")
    assert latest(client, grant)["id"] == avenant["id"]
    code = ask_code(client, people["owner"], grant, avenant)
    assert sign(client, people["owner"], grant, avenant, code=code).status_code == 303
    assert countersign(client, people["officer"], grant, avenant).status_code == 303
    signed = latest(client, grant)
    assert signed["status"] == "signed" and signed["signed_file"]
    as_(client, people["owner"])
    evidence = PdfReader(io.BytesIO(client.get(f"{page(grant)}/{avenant['id']}/signee").content))
    last = re.sub(r"\s+", " ", evidence.pages[-1].extract_text())
    assert "Avenant à la convention" in last and avenant["document_sha256"] in last.replace(" ", "")
    # The agreement in force stays the agreement; the avenant is kept beside it.
    kept = run(
        client, lambda: Grant.select(Grant.agreement_file).where(Grant.id == grant).first().run()
    )
    assert kept["agreement_file"] == in_force


def test_a_member_of_the_organisation_does_not_countersign_for_the_funder(client, people):
    """Review finding: an officer who is also a member of the beneficiary signed its
    agreement for the organisation, then countersigned it for the funder: one person on
    both sides of the contract."""
    insider = make_user(client, roles=["officer"])
    g = make_grant(client, people["officer"], insider, agreement=False)
    grant = g["grant"]
    agreement = generate(client, people, grant)
    code = ask_code(client, insider, grant, agreement)
    assert sign(client, insider, grant, agreement, code=code).status_code == 303
    refused = countersign(client, insider, grant, agreement)
    assert refused.status_code == 422 and "un autre agent traite" in plain(refused.text)
    assert latest(client, grant)["status"] == "to_countersign"
    assert countersign(client, people["officer"], grant, agreement).status_code == 303


def test_new_codes_are_bounded_so_the_code_cannot_be_guessed_by_asking_again(client, people):
    """Review finding: each new code reset the count of wrong codes, and codes could be
    asked without limit: five guesses per code, as many codes as one likes."""
    owner = make_user(client)
    g = make_grant(client, people["officer"], owner, agreement=False)
    grant = g["grant"]
    agreement = generate(client, people, grant)
    url = f"{page(grant)}/{agreement['id']}/code"
    as_(client, owner)
    statuses = [post_form(client, url).status_code for _ in range(agreements.CODES_PER_HOUR + 1)]
    assert statuses == [303] * agreements.CODES_PER_HOUR + [429]


def test_a_member_of_the_organisation_does_not_accept_its_own_scanned_copy(client, people):
    """Review finding: an officer who is also a member of the beneficiary uploaded any
    PDF as « the signed agreement » and accepted it themselves: in force, with no
    signature of the funder's."""
    insider = make_user(client, roles=["officer"])
    g = make_grant(client, people["officer"], insider, agreement=False)
    grant = g["grant"]
    as_(client, insider)
    sent = client.post(
        f"/dossiers/{g['app']}/convention",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("convention.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303
    uploaded = latest(client, grant)
    check = f"{page(grant)}/{uploaded['id']}/verification"
    refused = post_form(client, check, {"decision": "accept"})
    assert refused.status_code == 422 and "un autre agent traite" in plain(refused.text)
    assert latest(client, grant)["status"] == "uploaded"
    as_(client, people["officer"])
    assert post_form(client, check, {"decision": "accept"}).status_code == 303


def test_a_title_typed_by_the_applicant_cannot_add_an_article_to_the_agreement(client, people):
    """Review finding: the file's title (typed by the applicant, kept with its line
    breaks) filled « {projet} » as it was, so « \\n# Article … » became an article of
    the agreement both parties sign."""
    from app.applications.tables import Application
    from app.core import i18n
    from app.grants import agreement_text

    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    injected = "Projet\n\n# Article 99 — Le financeur renonce à tout reversement\n\nFin"
    run(
        client,
        lambda: (
            Application.update({Application.title: injected})
            .where(Application.id == g["app"])
            .run()
        ),
    )
    facts = run(client, agreements.facts_of, g["grant"])
    with i18n.use_locale("fr"):
        values = agreements.placeholder_values(facts)
    titles = [a.title for a in agreement_text.articles(facts.template, values)]
    assert not any("renonce" in t for t in titles), titles
    assert "Article 99" in " ".join(
        " ".join(a.paragraphs) for a in agreement_text.articles(facts.template, values)
    )
