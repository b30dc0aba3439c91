"""Officers prepare and publish calls; the public reads the open ones."""

from app.calls import services as calls
from app.calls.tables import Call, FormVersion
from tests.factories import make_call, make_user, post_form, run, sign_in, sign_out

SETTINGS = {
    "title": "Le numérique au service de la formation professionnelle",
    "reference_prefix": "idf-2017",
    "summary": "Former au numérique.",
    "body": "Texte **gras** <script>alert(1)</script>",
    "envelope": "26 000 000",
    "min_award": "10 000",
    "max_award": "1 500 000",
    "max_rate": "80",
    "opens_at": "2030-12-01T09:00",
    "closes_at": "2031-03-17T12:00",
}


def funder_id(client):
    return str(run(client, calls.funders)[0]["id"])


def test_create_with_clear_errors_then_build_the_form_and_publish(client):
    officer = make_user(client, roles=["officer"])
    make_call(client, officer)  # makes sure a funder exists
    sign_in(client, officer)
    bad = post_form(
        client,
        "/instruction/appels/nouveau",
        {
            **SETTINGS,
            "funder": funder_id(client),
            "reference_prefix": "?",
            "max_award": "5 000",
            "opens_at": "2030-03-31T02:30",
        },
    )
    assert bad.status_code == 422
    for message in ("2 à 19 majuscules", "inférieur au minimum", "n’existe pas à Paris"):
        assert message in bad.text
    assert 'value="Le numérique au service de la formation professionnelle"' in bad.text
    created = post_form(
        client, "/instruction/appels/nouveau", {**SETTINGS, "funder": funder_id(client)}
    )
    assert created.status_code == 303
    call_id = int(created.headers["location"].rsplit("/", 1)[1])
    call = run(client, calls.get_call, call_id)
    assert (
        call["reference_prefix"] == "IDF-2017"
        and call["envelope_cents"] == 2_600_000_000
        and call["max_rate_bp"] == 8000
    )

    refused = post_form(client, f"/instruction/appels/{call_id}/etat", {"action": "publish"})
    assert refused.headers["location"] == f"/instruction/appels/{call_id}/publier"
    checklist = client.get(refused.headers["location"]).text
    assert "Ajoutez au moins un champ" in checklist and 'name="action"' not in checklist
    post_form(client, f"/instruction/appels/{call_id}/formulaire/sections", {"title": "Le projet"})
    section = run(client, calls.get_call, call_id)["form"]["sections"][0]["key"]
    post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {"section": section, "type": "yes_no", "label": "QPV ?", "required": "yes"},
    )
    qpv = run(client, calls.get_call, call_id)["form"]["sections"][0]["fields"][0]["key"]
    added = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {
            "section": section,
            "type": "long_text",
            "label": "Quels quartiers ?",
            "condition": f"{qpv}=yes",
        },
    )
    assert added.status_code == 303
    bad_field = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {"section": section, "type": "single_choice", "label": "Public", "choices": "un seul"},
    )
    assert bad_field.status_code == 422 and "au moins deux choix" in bad_field.text
    post_form(
        client,
        f"/instruction/appels/{call_id}/documents",
        {"label": "Statuts", "required": "yes", "kinds": "pdf", "max_mb": "5"},
    )
    assert (
        post_form(client, f"/instruction/appels/{call_id}/etat", {"action": "publish"}).status_code
        == 303
    )
    assert run(client, lambda: FormVersion.count().where(FormVersion.call == call_id).run()) == 1

    # Published: a change that would break answers is refused; a compatible one is a new version.
    in_use = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs/{qpv}/supprimer",
        follow_redirects=True,
    )
    assert "s’affiche selon celui-ci" in in_use.text
    quartiers = run(client, calls.get_call, call_id)["form"]["sections"][0]["fields"][1]["key"]
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs/{quartiers}/supprimer",
        follow_redirects=True,
    )
    assert "ne peut pas être supprimé" in refused.text
    post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {"section": section, "type": "url", "label": "Site web"},
    )
    assert run(client, lambda: FormVersion.count().where(FormVersion.call == call_id).run()) == 2

    public = client.get(f"/appels/{call_id}").text
    assert "<strong>gras</strong>" in public and "<script>alert(1)</script>" not in public
    assert "26\u202f000\u202f000,00\xa0€" in public and "80\xa0%" in public
    sign_out(client)


def test_drafts_are_not_public_and_open_calls_show_the_deadline(client):
    officer = make_user(client, roles=["officer"])
    draft = make_call(client, officer)
    published = make_call(client, officer, publish=True)
    assert client.get(f"/appels/{draft}").status_code == 404
    listing = client.get("/appels").text
    title = run(client, calls.get_call, published)["title"]
    assert title in listing and "heure de Paris" in listing and "encore" in listing


def test_duplicate_for_next_year(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer, publish=True, reference_prefix="CVL-2026")
    sign_in(client, officer)
    response = post_form(client, f"/instruction/appels/{call_id}/dupliquer")
    copy_id = int(response.headers["location"].rsplit("/", 1)[1])
    original, copy = run(client, calls.get_call, call_id), run(client, calls.get_call, copy_id)
    assert copy["status"] == "draft" and copy["reference_prefix"] == "CVL-2027"
    assert copy["form"] == original["form"] and copy["documents"] == original["documents"]
    assert copy["closes_at"].year == original["closes_at"].year + 1
    assert run(client, lambda: Call.count().run()) >= 2
    sign_out(client)


def test_rubric_criteria_with_weight_and_scale(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer)
    sign_in(client, officer)
    bad = post_form(
        client,
        f"/instruction/appels/{call_id}/grille",
        {"title": "Qualité", "weight": "0", "scale": "5"},
    )
    assert bad.status_code == 422 and "poids entre 1 et 100" in bad.text
    ok = post_form(
        client,
        f"/instruction/appels/{call_id}/grille",
        {"title": "Qualité", "guidance": "Contenus", "weight": "3", "scale": "20"},
    )
    assert ok.status_code == 303
    (criterion,) = run(client, calls.get_call, call_id)["rubric"]
    assert criterion["weight"] == 3 and criterion["scale"] == 20
    post_form(client, f"/instruction/appels/{call_id}/grille/{criterion['key']}/supprimer")
    assert run(client, calls.get_call, call_id)["rubric"] == []
    sign_out(client)
