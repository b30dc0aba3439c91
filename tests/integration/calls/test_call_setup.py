"""Preparing a call: the checklist before publication, the envelope kept above what is
awarded, editing eligibility questions, documents and criteria while nothing depends on
them, the officers' preview, and the builder's conditions picked from a list."""

from datetime import UTC, datetime, timedelta

import pytest

from app.applications.tables import Application
from app.calls import formspec
from app.calls import services as calls
from app.calls.services import CallError
from app.calls.tables import FormVersion
from app.reviews.tables import Assignment, ReviewSettings
from tests.factories import (
    make_application,
    make_call,
    make_decidable,
    make_organisation,
    make_user,
    post_form,
    publish_award,
    run,
    sign_in,
    sign_out,
    text_of,
)


def said(response) -> str:
    return text_of(response.text).replace("\u202f", " ").replace("\u00a0", " ")


def actor_of(user):
    return calls.Actor(user_id=user["id"])


def call_of(client, call_id):
    return run(client, calls.get_call, call_id)


def settings_of(call, **changes):
    values = {
        "funder": str(call["funder"]),
        "title": call["title"],
        "reference_prefix": call["reference_prefix"],
        "summary": call["summary"],
        "body": call["body"],
        "envelope": "1 000 000",
        "min_award": "10 000",
        "max_award": "20 000",
        "max_rate": "80",
        "opens_at": "2026-01-01T09:00",
        "closes_at": "2036-01-01T12:00",
    }
    return {**values, **changes}


# --- Publication ------------------------------------------------------------------


def test_a_call_whose_closing_date_has_passed_is_not_published(client):
    officer = make_user(client, roles=["officer"])
    past = datetime.now(UTC) - timedelta(days=1)
    call_id = make_call(client, officer, opens_at=past - timedelta(days=30), closes_at=past)
    with pytest.raises(CallError) as refused:
        run(client, calls.transition, call_id, "publish", actor=actor_of(officer))
    assert refused.value.code == "closes_at" and refused.value.field == "closes_at"
    assert call_of(client, call_id)["status"] == "draft"

    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/publier")
    assert page.status_code == 200
    text = said(page)
    assert "À corriger" in text and "est passée" in text
    # The failed item links to the field to fix; no « publish » button is offered.
    assert f'href="/instruction/appels/{call_id}#field-closes_at"' in page.text
    assert 'name="action" value="publish"' not in page.text
    sign_out(client)


def test_the_rubric_is_required_once_the_review_is_set_up(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer)
    run(client, lambda: ReviewSettings.insert(ReviewSettings(call=call_id)).run())
    with pytest.raises(CallError) as refused:
        run(client, calls.transition, call_id, "publish", actor=actor_of(officer))
    assert refused.value.code == "rubric"
    run(
        client,
        calls.add_criterion,
        call_id,
        {"title": "Qualité", "weight": "1", "scale": "5"},
        actor=actor_of(officer),
    )
    assert run(client, calls.transition, call_id, "publish", actor=actor_of(officer)) == "published"


def test_publish_asks_for_confirmation_after_the_checklist(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer)
    sign_in(client, officer)
    edit = client.get(f"/instruction/appels/{call_id}").text
    # The settings page's « Publier l'appel » leads to the checklist, not straight to it.
    assert f'href="/instruction/appels/{call_id}/publier"' in edit
    page = client.get(f"/instruction/appels/{call_id}/publier")
    text = said(page)
    assert "Fait" in text and "Enveloppe : 1 000 000,00 €" in text
    assert 'name="action" value="publish"' in page.text and "Confirmer" in text
    done = post_form(client, f"/instruction/appels/{call_id}/etat", {"action": "publish"})
    assert done.status_code == 303 and call_of(client, call_id)["status"] == "published"
    sign_out(client)


# --- The envelope and what is committed ---------------------------------------------


def test_a_published_calls_envelope_stays_above_what_is_awarded(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    app_id = make_decidable(client, owner, call_id, requested=10_000_000)
    publish_award(client, officer, call_id, app_id)
    call = call_of(client, call_id)
    cleaned, errors = calls.clean_settings(settings_of(call, envelope="50 000"), {call["funder"]})
    assert not errors
    with pytest.raises(CallError) as refused:
        run(client, calls.update_settings, call_id, cleaned, actor=actor_of(officer))
    assert refused.value.code == "envelope_below_committed"
    assert refused.value.field == "envelope"
    assert call_of(client, call_id)["envelope_cents"] == 100_000_000  # unchanged

    sign_in(client, officer)
    page = post_form(client, f"/instruction/appels/{call_id}", settings_of(call, envelope="50 000"))
    assert page.status_code == 422
    assert "L’enveloppe ne peut pas être inférieure aux 100 000,00 € déjà attribués" in said(page)
    assert 'value="50 000"' in page.text  # kept as typed
    # Exactly what is awarded, or more: accepted.
    ok = post_form(client, f"/instruction/appels/{call_id}", settings_of(call, envelope="100 000"))
    assert ok.status_code == 303
    assert call_of(client, call_id)["envelope_cents"] == 10_000_000
    sign_out(client)


# --- Editing what nothing depends on -----------------------------------------------


def test_questions_and_documents_are_edited_until_an_application_depends_on_them(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer)
    actor = actor_of(officer)
    run(
        client,
        calls.add_eligibility_question,
        call_id,
        {"label": "Association ?", "blocking": "no", "explanation": "Réservé."},
        actor=actor,
    )
    call = call_of(client, call_id)
    question, document = call["eligibility"][0]["key"], call["documents"][0]["key"]

    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/eligibilite/{question}")
    assert page.status_code == 200 and 'value="Association ?"' in page.text
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/eligibilite/{question}",
        {"label": "", "blocking": "no", "explanation": "Réservé."},
    )
    assert refused.status_code == 422 and "Réservé." in refused.text
    saved = post_form(
        client,
        f"/instruction/appels/{call_id}/eligibilite/{question}",
        {"label": "Êtes-vous une association ?", "blocking": "no", "explanation": "Réservé."},
    )
    assert saved.status_code == 303
    assert call_of(client, call_id)["eligibility"][0]["label"] == "Êtes-vous une association ?"
    page = client.get(f"/instruction/appels/{call_id}/documents/{document}")
    assert page.status_code == 200 and 'value="Statuts"' in page.text
    saved = post_form(
        client,
        f"/instruction/appels/{call_id}/documents/{document}",
        {
            "label": "Statuts signés",
            "required": "yes",
            "kinds": "pdf",
            "max_mb": "5",
            "about_organisation": "yes",
        },
    )
    assert saved.status_code == 303
    (edited,) = call_of(client, call_id)["documents"]
    assert edited == {
        "key": document,
        "label": "Statuts signés",
        "required": True,
        "kinds": ["pdf"],
        "max_mb": 5,
        "about_organisation": True,
    }

    # Published, no application yet: still editable; a document's change is a new version.
    run(client, calls.transition, call_id, "publish", actor=actor)
    versions = run(client, lambda: FormVersion.count().where(FormVersion.call == call_id).run())
    run(
        client,
        calls.edit_document,
        call_id,
        document,
        {"label": "Statuts à jour", "required": "yes", "kinds": ["pdf"], "max_mb": "5"},
        actor=actor,
    )
    latest = run(client, calls.current_form_version, call_id)
    assert latest["documents"][0]["label"] == "Statuts à jour"
    assert run(client, lambda: FormVersion.count().where(FormVersion.call == call_id).run()) == (
        versions + 1
    )
    edit_page = client.get(f"/instruction/appels/{call_id}").text
    assert f'/eligibilite/{question}"' in edit_page

    # An application exists: both are fixed (the service refuses; no « Edit » offered).
    make_application(client, owner, make_organisation(client, owner), call_id)
    for edit, key, values in (
        (
            calls.edit_eligibility_question,
            question,
            {"label": "Autre ?", "blocking": "no", "explanation": "x"},
        ),
        (
            calls.edit_document,
            document,
            {"label": "Autre", "required": "yes", "kinds": ["pdf"], "max_mb": "5"},
        ),
    ):
        with pytest.raises(CallError) as refused:
            run(client, edit, call_id, key, values, actor=actor)
        assert refused.value.code == "in_use"
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/eligibilite/{question}",
        {"label": "Autre ?", "blocking": "no", "explanation": "x"},
    )
    assert refused.status_code == 422 and "Des dossiers ont été commencés" in said(refused)
    edit_page = client.get(f"/instruction/appels/{call_id}").text
    assert f'/eligibilite/{question}"' not in edit_page
    assert f'/documents/{document}"' not in edit_page
    sign_out(client)


def test_a_criterion_is_edited_until_a_review_marks_it(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    reviewer = make_user(client, roles=["reviewer"])
    call_id = make_call(client, officer, publish=True)
    actor = actor_of(officer)
    for title in ("Qualité", "Budget"):
        run(
            client,
            calls.add_criterion,
            call_id,
            {"title": title, "weight": "1", "scale": "5"},
            actor=actor,
        )
    quality, budget = (c["key"] for c in call_of(client, call_id)["rubric"])
    values = {"title": "Qualité du parcours", "weight": "2", "scale": "20", "guidance": "Lire."}
    run(client, calls.edit_criterion, call_id, quality, values, actor=actor)
    assert call_of(client, call_id)["rubric"][0] == {
        "key": quality,
        **values,
        "weight": 2,
        "scale": 20,
    }

    # A draft review (not submitted) marks « Qualité »: that criterion is fixed, not the other.
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    run(
        client,
        lambda: Assignment.insert(
            Assignment(application=app_id, reviewer=reviewer["id"], scores={quality: 12})
        ).run(),
    )
    with pytest.raises(CallError) as refused:
        run(client, calls.edit_criterion, call_id, quality, values, actor=actor)
    assert refused.value.code == "criterion_in_use"
    run(
        client,
        calls.edit_criterion,
        call_id,
        budget,
        {"title": "Budget réaliste", "weight": "1", "scale": "5"},
        actor=actor,
    )
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}").text
    assert f'/grille/{quality}"' not in page and f'/grille/{budget}"' in page
    refused = post_form(client, f"/instruction/appels/{call_id}/grille/{quality}", values)
    assert refused.status_code == 422 and "a déjà noté ce critère" in said(refused)
    sign_out(client)


# --- The preview ---------------------------------------------------------------------


def test_officers_preview_a_draft_call_as_applicants_will_see_it(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    make_organisation(client, owner)
    call_id = make_call(client, officer)
    actor = actor_of(officer)
    run(
        client,
        calls.add_eligibility_question,
        call_id,
        {"label": "Êtes-vous une association ?", "blocking": "no", "explanation": "Réservé."},
        actor=actor,
    )

    def with_condition(form):
        section = form["sections"][0]["key"]
        form = formspec.add_field(
            form,
            section,
            formspec.clean_field({"type": "yes_no", "label": "Salariés ?"}, form),
        )
        employs = form["sections"][0]["fields"][-1]["key"]
        return formspec.add_field(
            form,
            section,
            formspec.clean_field(
                {
                    "type": "short_text",
                    "label": "Combien ?",
                    "condition_field": employs,
                    "condition_value": "yes",
                },
                form,
            ),
        )

    run(client, calls.change_form, call_id, with_condition, actor=actor)
    applications = run(client, lambda: Application.count().run())

    # Not public, not for applicants: the draft is not found.
    assert client.get(f"/appels/{call_id}").status_code == 404
    sign_in(client, owner)
    assert client.get(f"/appels/{call_id}").status_code == 404
    assert client.get(f"/instruction/appels/{call_id}/apercu").status_code == 403
    sign_out(client)

    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/apercu")
    assert page.status_code == 200
    text = said(page)
    assert "Aperçu" in text and "aucun dossier n’est créé" in text
    assert "<strong>complet</strong>" in page.text  # the public page's text
    assert "Êtes-vous une association ?" in text
    assert "Titre du projet" in text and "Description" in text
    assert "Seulement si vous avez répondu « Oui » à « Salariés ? »." in text
    assert "Statuts" in text
    assert 'data-condition-field="' in page.text
    # Read-only: no form to send, the answers cannot be typed.
    assert "<form" not in page.text.split('id="preview-banner"')[1].split("</main>")[0]
    assert run(client, lambda: Application.count().run()) == applications
    sign_out(client)


# --- The builder -----------------------------------------------------------------------


def test_the_builder_shows_the_built_in_section_and_picks_conditions_from_a_list(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer)
    actor = actor_of(officer)
    section = call_of(client, call_id)["form"]["sections"][0]["key"]
    run(
        client,
        calls.change_form,
        call_id,
        lambda form: formspec.add_field(
            form,
            section,
            formspec.clean_field(
                {"type": "single_choice", "label": "Public", "choices": "Jeunes\nAdultes = 25 ans"},
                form,
            ),
        ),
        actor=actor,
    )
    public = call_of(client, call_id)["form"]["sections"][0]["fields"][-1]["key"]
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/formulaire")
    text = said(page)
    assert "Le projet intégrée" in text or "Le projet intégré" in text
    assert "Titre du projet" in text
    # One select: each answer of each choice question, no free text.
    assert f'<option value="{public}=Jeunes">' in page.text
    assert f'<option value="{public}=Adultes = 25 ans">' in page.text
    assert 'name="condition_value"' not in page.text
    added = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {
            "section": section,
            "type": "short_text",
            "label": "Âge",
            "condition": f"{public}=Adultes = 25 ans",
        },
    )
    assert added.status_code == 303
    field = call_of(client, call_id)["form"]["sections"][0]["fields"][-1]
    assert field["condition"] == {"field": public, "equals": "Adultes = 25 ans"}
    edit = client.get(f"/instruction/appels/{call_id}/formulaire/champs/{field['key']}").text
    assert f'<option value="{public}=Adultes = 25 ans" selected>' in edit
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/formulaire/champs",
        {
            "section": section,
            "type": "short_text",
            "label": "Âge",
            "condition": f"{public}=Seniors",
        },
    )
    assert refused.status_code == 422
    assert 'id="field-condition-error"' in refused.text and "#field-condition" in refused.text
    sign_out(client)
