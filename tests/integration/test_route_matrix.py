"""Every route × every role (and anonymous), on their own and on others' objects.

The matrix is checked against the router: a route without an entry fails here, so
nobody adds a page without deciding who may open it. Objects someone may not see
answer 404; pages for signed-in people send anonymous visitors to sign in (303),
and refuse an anonymous form (401); staff pages refuse other roles (403)."""

import json

import pytest

from app.applications.tables import Application
from app.calls import formspec
from app.calls.tables import Call
from app.organisations.tables import MemberInvitation, Membership
from app.reviews.tables import Assignment
from tests.factories import (
    attach_pdf,
    csrf_token,
    letter_of,
    make_application,
    make_call,
    make_decidable,
    make_organisation,
    make_user,
    publish_award,
    run,
    sign_in,
    write_letters,
)

ROLES = ["anonymous", "owner", "stranger", "reviewer", "officer", "finance", "admin"]
# Staff whose role is limited to one funder (« funder A »), and the role they hold.
SCOPED = {"reviewer_a": "reviewer", "officer_a": "officer", "finance_a": "finance"}
SIGNED_IN = ROLES[1:]


def same(status):
    return dict.fromkeys(ROLES, status)


def page(status=200):
    """A page for anyone signed in."""
    return {**dict.fromkeys(SIGNED_IN, status), "anonymous": 303}


def form(status):
    """A form for anyone signed in."""
    return {**dict.fromkeys(SIGNED_IN, status), "anonymous": 401}


def only(allowed, status, *, others=403, anonymous=303):
    return {
        **{r: (status if r in allowed else others) for r in SIGNED_IN},
        "anonymous": anonymous,
    }


STAFF_VIEWERS = ("owner", "officer", "finance", "admin")
FOLLOWERS = ("officer", "finance", "admin")
PAYERS = ("finance", "admin")
CALL_STAFF = ("officer", "admin")

# (method, route path) -> (concrete path, expected status by role)
MATRIX = {
    ("GET", "/"): ("/", same(200)),
    ("GET", "/financeurs"): ("/financeurs", same(200)),
    ("GET", "/financeurs/{slug:str}/subventions"): (
        "/financeurs/{funder_slug}/subventions",
        same(200),
    ),
    ("GET", "/financeurs/{slug:str}/subventions.csv"): (
        "/financeurs/{funder_slug}/subventions.csv",
        same(200),
    ),
    ("GET", "/donnees-personnelles"): ("/donnees-personnelles", same(200)),
    # « Mon espace »: anyone signed in, each their own (the queries start from them).
    ("GET", "/mon-espace"): ("/mon-espace", page()),
    ("GET", "/langue"): ("/langue?lang=fr", same(303)),
    ("GET", "/healthz"): ("/healthz", same(200)),
    ("GET", "/static"): ("/static/css/guichet.css", same(200)),
    # Accounts
    ("GET", "/connexion"): ("/connexion", same(200)),
    ("POST", "/connexion"): ("/connexion", same(422)),
    ("GET", "/connexion/verification"): ("/connexion/verification", same(303)),
    ("POST", "/connexion/verification"): ("/connexion/verification", same(303)),
    ("GET", "/connexion/confirmer"): ("/connexion/confirmer", page()),
    ("POST", "/connexion/confirmer"): ("/connexion/confirmer", form(422)),
    ("POST", "/deconnexion"): ("/deconnexion", form(303)),
    ("POST", "/connexion/prolonger"): ("/connexion/prolonger", form(204)),
    ("GET", "/inscription"): ("/inscription", same(200)),
    ("POST", "/inscription"): ("/inscription", same(422)),
    ("GET", "/compte/confirmer"): ("/compte/confirmer?jeton=forged", same(400)),
    ("POST", "/compte/confirmer"): ("/compte/confirmer", same(400)),
    ("POST", "/compte/confirmer/renvoyer"): ("/compte/confirmer/renvoyer", same(200)),
    ("GET", "/mot-de-passe-oublie"): ("/mot-de-passe-oublie", same(200)),
    ("POST", "/mot-de-passe-oublie"): ("/mot-de-passe-oublie", same(422)),
    ("GET", "/mot-de-passe/nouveau"): ("/mot-de-passe/nouveau?jeton=forged", same(400)),
    ("POST", "/mot-de-passe/nouveau"): ("/mot-de-passe/nouveau", same(400)),
    ("GET", "/invitation"): ("/invitation?jeton=forged", same(400)),
    ("POST", "/invitation"): ("/invitation", same(400)),
    ("GET", "/compte"): ("/compte", page()),
    ("POST", "/compte"): ("/compte", form(422)),
    ("POST", "/compte/mot-de-passe"): ("/compte/mot-de-passe", form(422)),
    ("GET", "/compte/securite"): ("/compte/securite", page()),
    ("POST", "/compte/securite/activer"): ("/compte/securite/activer", form(422)),
    ("POST", "/compte/securite/desactiver"): ("/compte/securite/desactiver", form(422)),
    ("GET", "/compte/donnees"): ("/compte/donnees", page()),
    ("GET", "/compte/donnees/export.json"): ("/compte/donnees/export.json", page()),
    ("POST", "/compte/supprimer"): ("/compte/supprimer", form(422)),
    # Admin and audit trail
    ("GET", "/admin/utilisateurs"): ("/admin/utilisateurs", only(["admin"], 200)),
    ("GET", "/admin/utilisateurs/inviter"): ("/admin/utilisateurs/inviter", only(["admin"], 200)),
    ("POST", "/admin/utilisateurs/inviter"): (
        "/admin/utilisateurs/inviter",
        only(["admin"], 422, anonymous=401),
    ),
    ("GET", "/admin/utilisateurs/{user_id:int}"): (
        "/admin/utilisateurs/{victim}",
        only(["admin"], 200),
    ),
    ("POST", "/admin/utilisateurs/{user_id:int}/roles"): (
        "/admin/utilisateurs/{victim}/roles",
        only(["admin"], 404, anonymous=401),
    ),
    ("POST", "/admin/utilisateurs/{user_id:int}/statut"): (
        "/admin/utilisateurs/{victim}/statut",
        only(["admin"], 303, anonymous=401),
    ),
    ("GET", "/admin/reglages"): ("/admin/reglages", only(["admin"], 200)),
    ("POST", "/admin/reglages"): ("/admin/reglages", only(["admin"], 303, anonymous=401)),
    ("GET", "/admin/financeurs"): ("/admin/financeurs", only(["admin"], 200)),
    ("GET", "/admin/financeurs/{funder_id:int}"): (
        "/admin/financeurs/{funder}",
        only(["admin"], 200),
    ),
    ("POST", "/admin/financeurs/{funder_id:int}"): (
        "/admin/financeurs/{funder}",
        only(["admin"], 422, anonymous=401),
    ),
    # A plain form where a multipart one is expected: refused before anything is stored.
    ("POST", "/admin/financeurs/{funder_id:int}/logo"): (
        "/admin/financeurs/{funder}/logo",
        only(["admin"], 400, anonymous=401),
    ),
    ("POST", "/admin/financeurs/{funder_id:int}/signature"): (
        "/admin/financeurs/{funder}/signature",
        only(["admin"], 400, anonymous=401),
    ),
    ("POST", "/admin/financeurs/{funder_id:int}/mentions"): (
        "/admin/financeurs/{funder}/mentions",
        only(["admin"], 303, anonymous=401),
    ),
    ("GET", "/admin/financeurs/{funder_id:int}/apercu.pdf"): (
        "/admin/financeurs/{funder}/apercu.pdf",
        only(["admin"], 200),
    ),
    # A notice that does not exist: those who may see the grant get 404 like the others.
    ("GET", "/suivi/subventions/{grant_id:int}/avis/{notice_id:int}"): (
        "/suivi/subventions/{grant}/avis/999999",
        page(404),
    ),
    ("GET", "/journal"): ("/journal", only(["officer", "admin"], 200)),
    ("GET", "/journal/export.csv"): ("/journal/export.csv", only(["officer", "admin"], 200)),
    # Organisations (the owner's organisation A)
    ("GET", "/structures"): ("/structures", page()),
    ("GET", "/structures/nouvelle"): ("/structures/nouvelle", page()),
    ("POST", "/structures/nouvelle"): ("/structures/nouvelle", form(422)),
    ("GET", "/structures/{org_id:int}"): (
        "/structures/{org}",
        only(STAFF_VIEWERS, 200, others=404),
    ),
    ("GET", "/structures/{org_id:int}/modifier"): (
        "/structures/{org}/modifier",
        only(["owner"], 200, others=404),
    ),
    ("POST", "/structures/{org_id:int}/modifier"): (
        "/structures/{org}/modifier",
        only(["owner"], 422, others=404, anonymous=401),
    ),
    ("POST", "/structures/{org_id:int}/membres/inviter"): (
        "/structures/{org}/membres/inviter",
        only(["owner"], 422, others=404, anonymous=401),
    ),
    # Staff may see the organisation, so they are told they are not owners (303 + message).
    ("POST", "/structures/{org_id:int}/membres/{membership_id:int}/retirer"): (
        "/structures/{org}/membres/{membership}/retirer",
        only(STAFF_VIEWERS, 303, others=404, anonymous=401),
    ),
    ("POST", "/structures/{org_id:int}/membres/{membership_id:int}/role"): (
        "/structures/{org}/membres/{membership}/role",
        form(404),
    ),
    ("POST", "/structures/{org_id:int}/invitations/{invitation_id:int}/annuler"): (
        "/structures/{org}/invitations/{invitation}/annuler",
        only(STAFF_VIEWERS, 303, others=404, anonymous=401),
    ),
    ("POST", "/structures/{org_id:int}/choisir"): (
        "/structures/{org}/choisir",
        only(["owner"], 303, others=404, anonymous=401),
    ),
    ("GET", "/structures/invitation"): ("/structures/invitation?jeton=forged", same(400)),
    # No SIRET / no decision sent: nothing to ask or answer (the rules of asking and
    # answering, owners only, are in tests/integration/organisations/test_join_requests.py).
    ("POST", "/structures/rejoindre"): ("/structures/rejoindre", form(404)),
    ("POST", "/structures/{org_id:int}/demandes/{request_id:int}"): (
        "/structures/{org}/demandes/0",
        form(404),
    ),
    # Calls: officers and admins prepare them (the draft call D, the published call P)
    ("GET", "/instruction/appels"): ("/instruction/appels", only(CALL_STAFF, 200)),
    ("GET", "/instruction/appels/nouveau"): ("/instruction/appels/nouveau", only(CALL_STAFF, 200)),
    ("POST", "/instruction/appels/nouveau"): (
        "/instruction/appels/nouveau",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}"): (
        "/instruction/appels/{draft}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}"): (
        "/instruction/appels/{draft}",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/etat"): (
        "/instruction/appels/{draft}/etat",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # The checklist before publication, and the call as an applicant will see it
    # (a draft is 404 to the public and to applicants: see « /appels/{draft} » below).
    ("GET", "/instruction/appels/{call_id:int}/publier"): (
        "/instruction/appels/{draft}/publier",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/apercu"): (
        "/instruction/appels/{draft}/apercu",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/eligibilite/{key:str}"): (
        "/instruction/appels/{draft}/eligibilite/{draft_question}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/eligibilite/{key:str}"): (
        "/instruction/appels/{draft}/eligibilite/{draft_question}",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/documents/{key:str}"): (
        "/instruction/appels/{draft}/documents/{draft_document}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/documents/{key:str}"): (
        "/instruction/appels/{draft}/documents/{draft_document}",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/grille/{key:str}"): (
        "/instruction/appels/{draft}/grille/{draft_criterion}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/grille/{key:str}"): (
        "/instruction/appels/{draft}/grille/{draft_criterion}",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/dupliquer"): (
        "/instruction/appels/{draft}/dupliquer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/eligibilite"): (
        "/instruction/appels/{draft}/eligibilite",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/eligibilite/{key:str}/supprimer"): (
        "/instruction/appels/{draft}/eligibilite/qnone/supprimer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/documents"): (
        "/instruction/appels/{draft}/documents",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/documents/{key:str}/supprimer"): (
        "/instruction/appels/{draft}/documents/dnone/supprimer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/grille"): (
        "/instruction/appels/{draft}/grille",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/grille/{key:str}/supprimer"): (
        "/instruction/appels/{draft}/grille/cnone/supprimer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/formulaire"): (
        "/instruction/appels/{draft}/formulaire",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/formulaire/sections"): (
        "/instruction/appels/{draft}/formulaire/sections",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/formulaire/champs"): (
        "/instruction/appels/{draft}/formulaire/champs",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}"): (
        "/instruction/appels/{draft}/formulaire/champs/{field}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}"): (
        "/instruction/appels/{draft}/formulaire/champs/{field}",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}/supprimer"): (
        "/instruction/appels/{draft}/formulaire/champs/fnone/supprimer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}/deplacer"): (
        "/instruction/appels/{draft}/formulaire/champs/{field}/deplacer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # Anyone reads the published calls; a draft is not found.
    ("GET", "/appels"): ("/appels", same(200)),
    ("GET", "/appels/{call_id:int}"): ("/appels/{published}", same(200)),
    # Applications: the owner's organisation's draft A (and W, to withdraw)
    ("GET", "/appels/{call_id:int}/candidater"): ("/appels/{published}/candidater", page()),
    ("POST", "/appels/{call_id:int}/candidater"): ("/appels/{published}/candidater", form(422)),
    ("GET", "/dossiers"): ("/dossiers", page()),
    ("GET", "/dossiers/{app_id:int}"): ("/dossiers/{app}", only(["owner"], 200, others=404)),
    # Posted without a session, the answers are kept and sign-in leads back (303).
    # The matrix's empty form is what is stored: saved, no conflict.
    ("POST", "/dossiers/{app_id:int}"): (
        "/dossiers/{app}",
        only(["owner"], 303, others=404, anonymous=303),
    ),
    ("POST", "/dossiers/{app_id:int}/enregistrer"): (
        "/dossiers/{app}/enregistrer",
        only(["owner"], 200, others=404, anonymous=401),
    ),
    ("POST", "/dossiers/{app_id:int}/pieces/{key:str}"): (
        "/dossiers/{app}/pieces/{document}",
        only(["owner"], 400, others=404, anonymous=401),
    ),
    ("GET", "/dossiers/{app_id:int}/pieces/{attachment_id:int}"): (
        "/dossiers/{app}/pieces/{attachment}",
        only(("owner", "officer", "admin"), 200, others=404),
    ),
    ("GET", "/dossiers/{app_id:int}/accuse-de-reception.pdf"): (
        "/dossiers/{app}/accuse-de-reception.pdf",
        only((), 200, others=404),
    ),
    # A file that is not ineligible has no such decision.
    ("GET", "/dossiers/{app_id:int}/irrecevabilite.pdf"): (
        "/dossiers/{app}/irrecevabilite.pdf",
        only((), 200, others=404),
    ),
    ("GET", "/dossiers/{app_id:int}/deposer"): (
        "/dossiers/{app}/deposer",
        only(["owner"], 200, others=404),
    ),
    ("POST", "/dossiers/{app_id:int}/deposer"): (
        "/dossiers/{app}/deposer",
        only(["owner"], 422, others=404, anonymous=401),
    ),
    ("GET", "/dossiers/{app_id:int}/retirer"): (
        "/dossiers/{withdrawable}/retirer",
        only(["owner"], 200, others=404),
    ),
    ("POST", "/dossiers/{app_id:int}/retirer"): (
        "/dossiers/{withdrawable}/retirer",
        only(["owner"], 303, others=404, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/dossiers"): (
        "/instruction/appels/{published}/dossiers",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/dossiers/export.csv"): (
        "/instruction/appels/{published}/dossiers/export.csv",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/dossiers/export.xlsx"): (
        "/instruction/appels/{published}/dossiers/export.xlsx",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/dossiers/{app_id:int}/messages"): (
        "/dossiers/{app}/messages",
        only(("owner", "officer", "admin"), 400, others=404, anonymous=401),
    ),
    ("POST", "/instruction/dossiers/{app_id:int}/recevabilite"): (
        "/instruction/dossiers/{app}/recevabilite",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/dossiers/recevabilite"): (
        "/instruction/appels/{published}/dossiers/recevabilite",
        only(CALL_STAFF, 422, anonymous=401),  # nothing ticked: shown again with the message
    ),
    # Review: officers set it up; reviewers see their assignments only.
    ("GET", "/instruction/appels/{call_id:int}/evaluation"): (
        "/instruction/appels/{reviewed_call}/evaluation",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation"): (
        "/instruction/appels/{reviewed_call}/evaluation",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation/evaluateurs"): (
        "/instruction/appels/{reviewed_call}/evaluation/evaluateurs",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation/conflits"): (
        "/instruction/appels/{reviewed_call}/evaluation/conflits",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/evaluation/affectation"): (
        "/instruction/appels/{reviewed_call}/evaluation/affectation",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation/affectation"): (
        "/instruction/appels/{reviewed_call}/evaluation/affectation",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation/affectation-manuelle"): (
        "/instruction/appels/{reviewed_call}/evaluation/affectation-manuelle",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/evaluation/relancer"): (
        "/instruction/appels/{reviewed_call}/evaluation/relancer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/a-traiter"): (
        "/a-traiter",
        only(("reviewer", "officer", "finance", "admin"), 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/classement/evaluations.csv"): (
        "/instruction/appels/{reviewed_call}/classement/evaluations.csv",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/classement/evaluations.xlsx"): (
        "/instruction/appels/{reviewed_call}/classement/evaluations.xlsx",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/classement"): (
        "/instruction/appels/{reviewed_call}/classement",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/evaluation"): ("/evaluation", only(["reviewer"], 200)),
    ("GET", "/evaluation/liens"): ("/evaluation/liens?q=ab", only(["reviewer"], 200)),
    ("POST", "/evaluation/liens"): (
        "/evaluation/liens",
        only(["reviewer"], 303, anonymous=401),
    ),
    ("GET", "/evaluation/{assignment_id:int}"): (
        "/evaluation/{assignment}",
        only(["reviewer"], 200),
    ),
    ("POST", "/evaluation/{assignment_id:int}"): (
        "/evaluation/{assignment}",
        only(["reviewer"], 303, anonymous=401),
    ),
    ("GET", "/evaluation/{assignment_id:int}/pieces/{attachment_id:int}"): (
        "/evaluation/{assignment}/pieces/{reviewed_attachment}",
        only(["reviewer"], 200),
    ),
    ("POST", "/evaluation/{assignment_id:int}/total"): (
        "/evaluation/{assignment}/total",
        only(["reviewer"], 200, anonymous=401),
    ),
    ("POST", "/evaluation/{assignment_id:int}/conflit"): (
        "/evaluation/{other_assignment}/conflit",
        only(["reviewer"], 303, anonymous=401),
    ),
    ("GET", "/instruction/dossiers/{app_id:int}/evaluations"): (
        "/instruction/dossiers/{reviewed}/evaluations",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/evaluations/{assignment_id:int}/rouvrir"): (
        "/instruction/evaluations/{assignment}/rouvrir",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # Each role tries to take back an assignment of its own (« {spare_of_role} »).
    ("POST", "/instruction/evaluations/{assignment_id:int}/retirer"): (
        "/instruction/evaluations/{spare_of_role}/retirer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/instruction/dossiers/{app_id:int}"): (
        "/instruction/dossiers/{app}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/dossiers/{app_id:int}/a-completer"): (
        "/instruction/dossiers/{app}/a-completer",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/structures/invitation"): ("/structures/invitation", form(400)),
    # Decisions: officers run the committee's sheet; the organisation reads its letter.
    ("GET", "/instruction/appels/{call_id:int}/decisions"): (
        "/instruction/appels/{decided_call}/decisions",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/decisions/reglages"): (
        "/instruction/appels/{decided_call}/decisions/reglages",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/decisions/lot"): (
        "/instruction/appels/{decided_call}/decisions/lot",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/decisions/annexe.pdf"): (
        "/instruction/appels/{decided_call}/decisions/annexe.pdf",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/decisions/annexe.xlsx"): (
        "/instruction/appels/{decided_call}/decisions/annexe.xlsx",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/appels/{call_id:int}/decisions/courriers"): (
        "/instruction/appels/{decided_call}/decisions/courriers",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/decisions/courriers"): (
        "/instruction/appels/{decided_call}/decisions/courriers",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/appels/{call_id:int}/decisions/courriers/apercu"): (
        "/instruction/appels/{decided_call}/decisions/courriers/apercu",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/decisions/publier"): (
        "/instruction/appels/{decided_call}/decisions/publier",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/appels/{call_id:int}/decisions/publier"): (
        "/instruction/appels/{decided_call}/decisions/publier",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/appels/{call_id:int}/decisions/publication"): (
        "/instruction/appels/{decided_call}/decisions/publication",
        only(CALL_STAFF, 200),
    ),
    ("GET", "/instruction/dossiers/{app_id:int}/decision"): (
        "/instruction/dossiers/{awarded}/decision",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/dossiers/{app_id:int}/decision"): (
        "/instruction/dossiers/{awarded}/decision",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/instruction/dossiers/{app_id:int}/decision/echeancier"): (
        "/instruction/dossiers/{awarded}/decision/echeancier",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/instruction/dossiers/{app_id:int}/courriers/{letter_id:int}"): (
        "/instruction/dossiers/{awarded}/courriers/{letter}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/instruction/dossiers/{app_id:int}/courriers"): (
        "/instruction/dossiers/{awarded}/courriers",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/dossiers/{app_id:int}/decision"): (
        "/dossiers/{awarded}/decision",
        only(["owner"], 200, others=404),
    ),
    ("GET", "/dossiers/{app_id:int}/courriers/{letter_id:int}"): (
        "/dossiers/{awarded}/courriers/{letter}",
        only(["owner"], 200, others=404),
    ),
    ("POST", "/dossiers/{app_id:int}/acceptation"): (
        "/dossiers/{awarded}/acceptation",
        only(["owner"], 422, others=404, anonymous=401),
    ),
    ("POST", "/dossiers/{app_id:int}/convention"): (
        "/dossiers/{awarded}/convention",
        only(["owner"], 303, others=404, anonymous=401),
    ),
    # Grant follow-up: officers instruct, finance pays, the organisation reports.
    ("GET", "/finances"): ("/finances", only(FOLLOWERS, 200)),
    ("GET", "/finances/export/{file:str}"): (
        "/finances/export/versements.csv",
        only(FOLLOWERS, 200),
    ),
    ("GET", "/suivi/subventions/{grant_id:int}"): (
        "/suivi/subventions/{grant}",
        only(FOLLOWERS, 200),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/coordonnees-bancaires"): (
        "/suivi/subventions/{grant}/coordonnees-bancaires",
        only(["finance"], 200, anonymous=401),
    ),
    # Payment batches: finance only (the officer approves, finance pays).
    ("GET", "/finances/lots"): ("/finances/lots", only(PAYERS, 200)),
    ("POST", "/finances/lots"): ("/finances/lots", only(PAYERS, 422, anonymous=401)),
    ("GET", "/finances/lots/{batch_id:int}"): ("/finances/lots/{batch}", only(PAYERS, 200)),
    ("GET", "/finances/lots/{batch_id:int}/export/{file:str}"): (
        "/finances/lots/{batch}/export/lot-{batch}.csv",
        only(PAYERS, 200),
    ),
    ("POST", "/finances/lots/{batch_id:int}/paiement"): (
        "/finances/lots/{batch}/paiement",
        only(PAYERS, 422, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/echeances/{instalment_id:int}"): (
        "/suivi/subventions/{grant}/echeances/{instalment}",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/versements"): (
        "/suivi/subventions/{grant}/versements",
        only(PAYERS, 422, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/versements/{entry_id:int}/annulation"): (
        "/suivi/subventions/{grant}/versements/0/annulation",
        only(PAYERS, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/reversements/{recovery_id:int}"): (
        "/suivi/subventions/{grant}/reversements/0",
        only(PAYERS, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/reversements"): (
        "/suivi/subventions/{grant}/reversements",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/echeancier"): (
        "/suivi/subventions/{grant}/echeancier",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/delais"): (
        "/suivi/subventions/{grant}/delais",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/bilans/{kind:str}"): (
        "/suivi/subventions/{grant}/bilans/final",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/reduction"): (
        "/suivi/subventions/{grant}/reduction",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # The agreement: its organisation's members and staff see it; each side acts.
    ("GET", "/suivi/subventions/{grant_id:int}/convention"): (
        "/suivi/subventions/{grant}/convention",
        only(STAFF_VIEWERS, 200, others=404),
    ),
    ("GET", "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/{which:str}"): (
        "/suivi/subventions/{grant}/convention/0/document",
        page(404),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/convention/generer"): (
        "/suivi/subventions/{grant}/convention/generer",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # No such amendment: refused by the service, said on the page.
    ("POST", "/suivi/subventions/{grant_id:int}/convention/avenants/{amendment_id:int}"): (
        "/suivi/subventions/{grant}/convention/avenants/0",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    # No such version: those who see the grant are told so (the service refuses).
    ("POST", "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/code"): (
        "/suivi/subventions/{grant}/convention/0/code",
        only(STAFF_VIEWERS, 303, others=404, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/signature"): (
        "/suivi/subventions/{grant}/convention/0/signature",
        only(STAFF_VIEWERS, 422, others=404, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/contresignature"): (
        "/suivi/subventions/{grant}/convention/0/contresignature",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("POST", "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/verification"): (
        "/suivi/subventions/{grant}/convention/0/verification",
        only(CALL_STAFF, 422, anonymous=401),
    ),
    ("GET", "/suivi/conventions"): ("/suivi/conventions", only(CALL_STAFF, 200)),
    ("POST", "/suivi/conventions/seuil"): (
        "/suivi/conventions/seuil",
        only(["admin"], 303, anonymous=401),
    ),
    ("GET", "/suivi/conventions/financeurs/{funder_id:int}"): (
        "/suivi/conventions/financeurs/{funder}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/suivi/conventions/financeurs/{funder_id:int}"): (
        "/suivi/conventions/financeurs/{funder}",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/suivi/conventions/appels/{call_id:int}"): (
        "/suivi/conventions/appels/{draft}",
        only(CALL_STAFF, 200),
    ),
    ("POST", "/suivi/conventions/appels/{call_id:int}"): (
        "/suivi/conventions/appels/{draft}",
        only(CALL_STAFF, 303, anonymous=401),
    ),
    ("GET", "/dossiers/{app_id:int}/bilans/{kind:str}"): (
        "/dossiers/{awarded}/bilans/interim",
        only(["owner"], 200, others=404),
    ),
    ("POST", "/dossiers/{app_id:int}/bilans/{kind:str}"): (
        "/dossiers/{awarded}/bilans/interim",
        only(["owner"], 422, others=404, anonymous=401),
    ),
    ("POST", "/dossiers/{app_id:int}/bilans/{kind:str}/pieces"): (
        "/dossiers/{awarded}/bilans/interim/pieces",
        only(["owner"], 303, others=404, anonymous=401),
    ),
    ("POST", "/dossiers/{app_id:int}/bilans/{kind:str}/enregistrement"): (
        "/dossiers/{awarded}/bilans/interim/enregistrement",
        only(["owner"], 422, others=404, anonymous=401),  # the grant is not accepted
    ),
    # Not submitted: no receipt, even for its organisation (tests/integration/grants).
    ("GET", "/dossiers/{app_id:int}/bilans/{kind:str}/accuse-de-reception.pdf"): (
        "/dossiers/{awarded}/bilans/interim/accuse-de-reception.pdf",
        only((), 200, others=404),
    ),
    # Ownership of report documents is tested in tests/integration/grants.
    ("GET", "/suivi/pieces-de-bilan/{attachment_id:int}"): (
        "/suivi/pieces-de-bilan/0",
        only((), 200, others=404),
    ),
    # API tokens (staff); the API itself answers only to a token, never to a session.
    ("GET", "/compte/api"): ("/compte/api", only(FOLLOWERS, 200)),
    ("POST", "/compte/api"): ("/compte/api", only(FOLLOWERS, 422, anonymous=401)),
    ("POST", "/compte/api/{token_id:int}/revoquer"): (
        "/compte/api/0/revoquer",
        only(FOLLOWERS, 404, anonymous=401),
    ),
    ("GET", "/api/v1/calls"): ("/api/v1/calls", same(401)),
    ("GET", "/api/v1/calls/{call_id:int}"): ("/api/v1/calls/{published}", same(401)),
    ("GET", "/api/v1/grants"): ("/api/v1/grants", same(401)),
    ("GET", "/api/v1/grants/{grant_id:int}"): ("/api/v1/grants/{grant}", same(401)),
    ("GET", "/api/v1/grants/{grant_id:int}/instalments"): (
        "/api/v1/grants/{grant}/instalments",
        same(401),
    ),
    ("GET", "/api/v1/payments"): ("/api/v1/payments", same(401)),
    # The API's description is public (it holds no data).
    ("GET", "/api/v1/schema"): ("/api/v1/schema", same(200)),
    ("GET", "/api/v1/schema/openapi.json"): ("/api/v1/schema/openapi.json", same(200)),
    ("GET", "/api/v1/schema/{path:str}"): ("/api/v1/schema/elsewhere", same(404)),
    # No agreement uploaded yet: not found, even for those who could read it.
    ("GET", "/dossiers/{app_id:int}/convention"): (
        "/dossiers/{awarded}/convention",
        only((), 200, others=404),
    ),
}


def app_routes(app):
    found = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            path = "/static" if route.path.startswith("/static") else route.path
            found.add((method, path))
    return found


def test_every_route_has_an_entry(app):
    missing = app_routes(app) - set(MATRIX)
    assert not missing, f"routes missing from the access matrix: {sorted(missing)}"
    stale = set(MATRIX) - app_routes(app)
    assert not stale, f"matrix entries for routes that no longer exist: {sorted(stale)}"


@pytest.fixture(scope="module")
def world(client):
    roles = {
        "owner": [],
        "stranger": [],
        "reviewer": ["reviewer"],
        "officer": ["officer"],
        "finance": ["finance"],
        "admin": ["admin"],
    }
    people = {name: make_user(client, roles=r) for name, r in roles.items()}
    org = make_organisation(client, people["owner"])
    make_organisation(client, people["stranger"])
    membership = run(
        client,
        lambda: (
            Membership.select(Membership.id).where(Membership.organisation == org).first().run()
        ),
    )
    invitation = run(
        client,
        lambda: (
            MemberInvitation.insert(
                MemberInvitation(
                    organisation=org,
                    email="guest@asso.test",
                    role="member",
                    token_hash="0" * 64,
                    expires_at=__import__("datetime").datetime(
                        2100, 1, 1, tzinfo=__import__("datetime").UTC
                    ),
                )
            )
            .returning(MemberInvitation.id)
            .run()
        ),
    )[0]["id"]
    victim = make_user(client)
    draft = make_call(client, people["officer"])
    published = make_call(client, people["officer"], publish=True)
    draft_setup = _draft_setup(client, people["officer"], draft)
    row = run(client, lambda: Call.select(Call.form).where(Call.id == draft).first().run())
    form = json.loads(row["form"]) if isinstance(row["form"], str) else row["form"]
    call_row = run(
        client, lambda: Call.select(Call.documents).where(Call.id == published).first().run()
    )
    documents = (
        json.loads(call_row["documents"])
        if isinstance(call_row["documents"], str)
        else call_row["documents"]
    )
    app = make_application(client, people["owner"], org, published)
    withdrawable = make_application(
        client, people["owner"], org, make_call(client, people["officer"], publish=True)
    )
    attachment = attach_pdf(client, people["owner"], app, documents[0]["key"])
    reviewed_call = make_call(client, people["officer"], publish=True)
    reviewed = make_application(client, people["owner"], org, reviewed_call)
    superseded_attachment = attach_pdf(client, people["owner"], reviewed, documents[0]["key"])
    reviewed_attachment = attach_pdf(client, people["owner"], reviewed, documents[0]["key"])
    message_attachments = {
        author: _message_with_pdf(client, people[author], reviewed)
        for author in ("owner", "officer")
    }
    run(
        client,
        lambda: (
            Application.update({Application.status: "in_review"})
            .where(Application.id == reviewed)
            .run()
        ),
    )
    assignment = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=reviewed, reviewer=people["reviewer"]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    second_org = make_organisation(client, people["owner"])
    other = make_application(client, people["owner"], second_org, reviewed_call)
    other_assignment, spare_assignment = (
        run(
            client,
            lambda reviewer=reviewer: (
                Assignment.insert(Assignment(application=other, reviewer=reviewer))
                .returning(Assignment.id)
                .run()
            ),
        )[0]["id"]
        for reviewer in (people["reviewer"]["id"], people["admin"]["id"])
    )
    # One assignment per role to take back (one role's success leaves the others theirs).
    spare_app = make_application(
        client, people["owner"], make_organisation(client, people["owner"]), reviewed_call
    )
    spares = {
        role: run(
            client,
            lambda user=user: (
                Assignment.insert(Assignment(application=spare_app, reviewer=user["id"]))
                .returning(Assignment.id)
                .run()
            ),
        )[0]["id"]
        for role, user in {**people, "anonymous": victim}.items()
    }
    decided_call, awarded, letter = _published_award(client, people, org)
    from app.grants.tables import Grant, Instalment

    grant = run(
        client, lambda: Grant.select(Grant.id).where(Grant.application == awarded).first().run()
    )
    instalment = run(
        client,
        lambda: (
            Instalment.select(Instalment.id).where(Instalment.grant == grant["id"]).first().run()
        ),
    )
    from app.grants.tables import PaymentBatch

    batch = run(
        client, lambda: PaymentBatch.insert(PaymentBatch()).returning(PaymentBatch.id).run()
    )[0]["id"]
    funder = run(
        client,
        lambda: (
            Call.select(Call.funder, Call.funder.slug.as_alias("slug"))
            .where(Call.id == draft)
            .first()
            .run()
        ),
    )
    ids = {
        "funder_slug": funder["slug"],
        "grant": grant["id"],
        "batch": batch,
        "instalment": instalment["id"],
        "funder": funder["funder"],
        "decided_call": decided_call,
        "awarded": awarded,
        "letter": letter,
        "reviewed": reviewed,
        "other_assignment": other_assignment,
        "spare_assignment": spare_assignment,
        "spares": spares,
        "reviewed_call": reviewed_call,
        "reviewed_attachment": reviewed_attachment,
        "superseded_attachment": superseded_attachment,
        "owner_message_attachment": message_attachments["owner"],
        "officer_message_attachment": message_attachments["officer"],
        "assignment": assignment,
        "app": app,
        "withdrawable": withdrawable,
        "attachment": attachment,
        "document": documents[0]["key"],
        "org": org,
        "membership": membership["id"],
        "invitation": invitation,
        "victim": victim["id"],
        "draft": draft,
        "published": published,
        "field": formspec.fields_of(form)[0]["key"],
        **draft_setup,
    }
    # Roles per funder: staff of funder A only; every object above is of other funders.
    from app.accounts.services import SYSTEM, grant_role
    from app.funders.services import ensure_funder

    funder_a = run(
        client, ensure_funder, name="Région A", slug="region-a", kind="région", address="",
        website="",
    )  # fmt: skip
    for name, role in SCOPED.items():
        people[name] = make_user(client)
        run(client, grant_role, people[name]["id"], role, actor=SYSTEM, funder_id=funder_a)
    ids["funder_a"] = funder_a
    ids["a_call"] = make_call(client, people["officer"], publish=True, funder=funder_a)
    a_decided = make_call(client, people["officer"], publish=True, funder=funder_a)
    a_awarded = make_decidable(client, people["owner"], a_decided)
    publish_award(client, people["officer"], a_decided, a_awarded, schedule="single")
    ids["a_grant"] = run(
        client,
        lambda: Grant.select(Grant.id).where(Grant.application == a_awarded).first().run(),
    )["id"]
    client.app.state.rate_limiter._counts.clear()
    sessions = {}
    for name, person in people.items():
        client.cookies.clear()
        sign_in(client, person)
        sessions[name] = dict(client.cookies.items())
    client.cookies.clear()
    return {"people": people, "ids": ids, "sessions": sessions}


def _draft_setup(client, officer: dict, draft: int) -> dict:
    """An eligibility question and a criterion on the draft call, and the keys of its
    question, document and criterion (their edit pages)."""
    from app.calls import services as calls

    actor = calls.Actor(user_id=officer["id"])
    run(
        client,
        calls.add_eligibility_question,
        draft,
        {"label": "Association ?", "blocking": "no", "explanation": "Réservé."},
        actor=actor,
    )
    run(
        client,
        calls.add_criterion,
        draft,
        {"title": "Qualité", "weight": "1", "scale": "5"},
        actor=actor,
    )
    call = run(client, calls.get_call, draft)
    return {
        "draft_question": call["eligibility"][0]["key"],
        "draft_document": call["documents"][0]["key"],
        "draft_criterion": call["rubric"][0]["key"],
    }


def _message_with_pdf(client, author: dict, app_id: int) -> int:
    """A message on the file with a PDF attached, through the real service."""
    from app.accounts.services import Actor, load_current_user
    from app.applications import services
    from app.applications.services import NewFile
    from app.applications.tables import Attachment
    from app.core.storage import FileStorage
    from app.quotas import StorageLimits
    from tests.factories import MINIMAL_PDF

    stored = FileStorage.of_app(client.app).store_bytes(
        MINIMAL_PDF, filename="message.pdf", kinds={"pdf"}
    )
    user = run(client, load_current_user, author["id"])
    message_id = run(
        client,
        services.post_message,
        app_id,
        "Pièce jointe au message",
        NewFile.of(stored),
        user=user,
        actor=Actor(user_id=author["id"]),
        base_url="",
        limits=StorageLimits.from_settings(client.app.state.settings),
    )
    row = run(
        client,
        lambda: (
            Attachment.select(Attachment.id).where(Attachment.message == message_id).first().run()
        ),
    )
    return row["id"]


def _published_award(client, people, org):
    """A call whose committee awarded the owner's file, published, its letter written."""
    call = make_call(client, people["officer"], publish=True)
    awarded = make_decidable(client, people["owner"], call)
    publish_award(client, people["officer"], call, awarded, schedule="single")
    write_letters(client)
    return call, awarded, letter_of(client, awarded)


# Forms whose page puts what they need in the session (the second factor's secret): the
# page is opened first, so that the test does not depend on the page's own test before it.
OPENED_FIRST = {("POST", "/compte/securite/activer"): "/compte/securite"}


def use(client, world, role):
    client.cookies.clear()
    for name, value in world["sessions"].get(role, {}).items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_access(client, world, role, route):
    method, _template = route
    path, expected = MATRIX[route]
    path = path.format(**world["ids"], spare_of_role=world["ids"]["spares"].get(role))
    use(client, world, role)
    if route in OPENED_FIRST:
        client.get(OPENED_FIRST[route])
    kwargs = {"data": {"_csrf_token": csrf_token(client)}} if method == "POST" else {}
    response = client.request(method, path, follow_redirects=False, **kwargs)
    assert response.status_code == expected[role], (role, method, path, response.text[:300])
    if role != "anonymous":
        if route == ("POST", "/deconnexion"):
            client.cookies.clear()
            sign_in(client, world["people"][role])
        # Signing out, or a new session id (choosing an organisation), changes the cookie.
        world["sessions"][role] = dict(client.cookies.items())
    client.cookies.clear()


def _route_permissions(app) -> dict[tuple[str, str], str]:
    """(method, path) -> the permission its ``requires`` guard asks ``app.permissions``."""
    found = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for wrapped in handler.resolve_guards():
                guard = getattr(wrapped, "func", wrapped)  # Litestar wraps sync guards
                if hasattr(guard, "permission"):
                    for method in handler.http_methods:
                        found[(method, route.path)] = guard.permission
    return found


def test_the_matrix_agrees_with_the_permissions_module(client):
    """A staff route answers 403 to exactly the roles its permission refuses: the
    matrix is checked against ``app.permissions``, the one home of who may do what."""
    from app.accounts.services import CurrentUser
    from app.permissions import PERMISSIONS

    checked = 0
    for route, permission in _route_permissions(client.app).items():
        if route not in MATRIX:
            continue  # test_every_route_has_an_entry says so
        expected = MATRIX[route][1]
        for role in SIGNED_IN:
            roles = (
                frozenset({role})
                if role in ("reviewer", "officer", "finance", "admin")
                else frozenset()
            )
            person = CurrentUser(1, "x@y.fr", "X", "fr", 1, True, roles)
            allowed = PERMISSIONS[permission](person, None)
            assert (expected[role] == 403) == (not allowed), (route, permission, role)
            checked += 1
    assert checked > 100


# Beyond the matrix's one path per route: what a reviewer assigned to a file may
# download is what the review page lists (the documents of the file as submitted),
# never a message's attachment (the association's or an officer's) nor a version the
# association replaced; other ids of the file answer 404 like unknown ones.
EXTRA_CASES = [
    ("/evaluation/{assignment}/pieces/{reviewed_attachment}", {"reviewer": 200}),
    ("/evaluation/{assignment}/pieces/{superseded_attachment}", {"reviewer": 404}),
    ("/evaluation/{assignment}/pieces/{owner_message_attachment}", {"reviewer": 404}),
    ("/evaluation/{assignment}/pieces/{officer_message_attachment}", {"reviewer": 404}),
    # The staff and the association still reach them from the file itself.
    ("/dossiers/{reviewed}/pieces/{owner_message_attachment}", {"owner": 200, "officer": 200}),
    ("/dossiers/{reviewed}/pieces/{officer_message_attachment}", {"owner": 200, "officer": 200}),
    ("/dossiers/{reviewed}/pieces/{superseded_attachment}", {"owner": 200, "officer": 200}),
    ("/dossiers/{reviewed}/pieces/{reviewed_attachment}", {"reviewer": 404, "stranger": 404}),
]


@pytest.mark.parametrize(("path", "expected"), EXTRA_CASES)
def test_extra_cases(client, world, path, expected):
    for role, status in expected.items():
        use(client, world, role)
        response = client.get(path.format(**world["ids"]), follow_redirects=False)
        assert response.status_code == status, (role, path)
        world["sessions"][role] = dict(client.cookies.items())
        client.cookies.clear()


API_ENDPOINTS = sorted(
    path for method, path in MATRIX if path.startswith("/api/v1/") and "schema" not in path
)


@pytest.mark.parametrize("role", ["officer", "finance", "admin", "demoted"])
def test_api_endpoints_with_a_token(client, world, role):
    """Every API endpoint answers a staff member's token; a token whose holder is no
    longer staff opens nothing."""
    from app.accounts.services import Actor, load_current_user, revoke_role
    from app.api import services as api

    person = world["people"]["admin" if role == "demoted" else role]
    if role == "demoted":
        person = make_user(client, roles=["finance"])
    user = run(client, load_current_user, person["id"])
    token = run(client, api.create_token, user, f"matrix {role}", actor=Actor(user_id=user.id))
    if role == "demoted":
        run(client, revoke_role, person["id"], "finance", actor=Actor(user_id=None))
    client.cookies.clear()
    for route in API_ENDPOINTS:
        path = MATRIX[("GET", route)][0].format(**world["ids"])
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == (401 if role == "demoted" else 200), (role, path)


# --- Roles per funder: staff of funder A see nothing of the other funders --------------------

# A path naming one of these objects is checked against the person's funders.
OBJECT_PARAMS = ("{call_id", "{app_id", "{grant_id", "{assignment_id", "{funder_id")
FUNDER_PERMISSIONS = {
    "manage_calls",
    "review",
    "follow_grants",
    "instruct_grant",
    "sign_agreements",
    "pay",
}
# Pages of files and grants that their organisation's members and the staff share.
SHARED_PAGES = ("/dossiers/", "/suivi/")
# The audit trail is not split by funder: it is for officers of every funder.
EVERY_FUNDER_ONLY = {("GET", "/journal"), ("GET", "/journal/export.csv")}


def scoped_expectation(route, role: str, permissions: dict) -> int:
    """What staff of funder A get where the same role for every funder gets
    ``MATRIX``'s answer: « not found » for every call, file, review or grant (all of
    other funders here), the rest as everyone."""
    _method, template = route
    status = MATRIX[route][1][SCOPED[role]]
    if route in EVERY_FUNDER_ONLY:
        return 403
    if status == 403 or not any(p in template for p in OBJECT_PARAMS):
        return status
    if permissions.get(route) in FUNDER_PERMISSIONS or template.startswith(SHARED_PAGES):
        return 404
    return status


def test_scoped_staff_are_refused_most_object_routes(client):
    """The rule above turns many answers into 404 (a guard on the way keeps it so)."""
    permissions = _route_permissions(client.app)
    changed = [
        (route, role)
        for route in MATRIX
        for role in SCOPED
        if scoped_expectation(route, role, permissions) != MATRIX[route][1][SCOPED[role]]
    ]
    assert len(changed) > 60


@pytest.mark.parametrize("role", sorted(SCOPED))
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_access_of_staff_of_another_funder(client, world, role, route):
    method, _template = route
    path = MATRIX[route][0].format(
        **world["ids"], spare_of_role=world["ids"]["spares"].get(SCOPED[role])
    )
    expected = scoped_expectation(route, role, _route_permissions(client.app))
    use(client, world, role)
    if route in OPENED_FIRST:
        client.get(OPENED_FIRST[route])
    kwargs = {"data": {"_csrf_token": csrf_token(client)}} if method == "POST" else {}
    response = client.request(method, path, follow_redirects=False, **kwargs)
    assert response.status_code == expected, (role, method, path, response.text[:300])
    if route == ("POST", "/deconnexion"):
        client.cookies.clear()
        sign_in(client, world["people"][role])
    world["sessions"][role] = dict(client.cookies.items())
    client.cookies.clear()


def _page(client, world, role: str, path: str) -> str:
    use(client, world, role)
    response = client.get(path, follow_redirects=False)
    world["sessions"][role] = dict(client.cookies.items())
    client.cookies.clear()
    assert response.status_code == 200, (role, path, response.status_code)
    return response.text


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("officer_a", "/instruction/appels"),
        ("officer_a", "/a-traiter"),
        ("officer_a", "/finances"),
        ("finance_a", "/finances"),
        ("finance_a", "/a-traiter"),
        ("officer_a", "/instruction/appels/nouveau"),
        ("reviewer_a", "/evaluation"),
    ],
)
def test_lists_show_no_other_funder(client, world, role, path):
    """Lists, queues and the dashboard name no call of another funder (the same pages
    name them for the same role held for every funder)."""
    funder_a = world["ids"]["funder_a"]
    others = [
        r["title"]
        for r in run(client, lambda: Call.select(Call.title).where(Call.funder != funder_a).run())
    ]
    text = _page(client, world, role, path)
    assert not [t for t in others if t in text]
    assert 'href="/journal"' not in text  # the trail is for officers of every funder
    if role != "reviewer_a":
        everyone = _page(client, world, SCOPED[role], path)
        if path in ("/instruction/appels", "/finances"):
            assert [t for t in others if t in everyone]  # the test sees what it hides
    if path == "/instruction/appels/nouveau":
        assert "Région A" in text and "Région 1<" not in text


def test_queues_and_dashboard_totals_count_only_their_funder(client, world):
    from app.accounts.services import load_current_user
    from app.grants import dashboard
    from app.permissions import funders_for
    from app.site.queues import queues_for

    def user(role):
        return run(client, load_current_user, world["people"][role]["id"])

    from app.grants.tables import Instalment

    # Work waiting at another funder: a file to screen, an instalment to pay.
    waiting = make_application(
        client,
        world["people"]["owner"],
        make_organisation(client, world["people"]["owner"]),
        world["ids"]["published"],
    )
    run(
        client,
        lambda: (
            Application.update({Application.status: "submitted"})
            .where(Application.id == waiting)
            .run()
        ),
    )
    run(
        client,
        lambda: (
            Instalment.update({Instalment.status: "approved"})
            .where(Instalment.id == world["ids"]["instalment"])
            .run()
        ),
    )
    for role in ("officer", "finance"):
        assert not run(client, queues_for, user(role)).empty, role
    for role in ("officer_a", "finance_a"):
        queues = run(client, queues_for, user(role))
        assert queues.empty, (role, queues)
    _a_payment(client, world)
    assert run(client, dashboard.monthly_payments)
    everything = run(client, dashboard.summary)
    assert everything.committed > 0
    for role in ("officer_a", "finance_a"):
        funders = funders_for(user(role), "follow_grants")
        assert funders == {world["ids"]["funder_a"]}
        mine = run(client, lambda funders=funders: dashboard.summary(funders=funders))
        # Funder A's line alone: its one grant, nothing paid (the payment is elsewhere).
        assert [f.key for f in mine.calls] == [world["ids"]["funder_a"]]
        assert mine.grants == 1 and mine.paid == 0
        assert 0 < mine.committed < everything.committed
        months = run(client, lambda funders=funders: dashboard.monthly_payments(funders=funders))
        assert months == []


def _a_payment(client, world) -> None:
    """One payment in the ledger of the world's grant (written once, as test data)."""
    from datetime import date

    from app.grants.tables import LedgerEntry

    key = "matrix-payment"
    if not run(
        client, lambda: LedgerEntry.exists().where(LedgerEntry.idempotency_key == key).run()
    ):
        entry = LedgerEntry(
            grant=world["ids"]["grant"],
            instalment=world["ids"]["instalment"],
            kind="payment",
            amount_cents=100,
            value_date=date(2026, 1, 15),
            reference="MANDAT-1",
            idempotency_key=key,
        )
        run(client, lambda: LedgerEntry.insert(entry).run())


@pytest.mark.parametrize("name", ["subventions", "echeances", "versements"])
@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_finance_exports_hold_only_their_funder(client, world, name, extension):
    """Every export names only grants of the person's funders: the world's grant (of
    another funder) is in finance's export, never in funder A's staff's."""
    import io

    import openpyxl

    column = 0 if name == "subventions" else 1  # the grant's id

    def grant_ids(role) -> set[str]:
        use(client, world, role)
        response = client.get(f"/finances/export/{name}.{extension}")
        world["sessions"][role] = dict(client.cookies.items())
        client.cookies.clear()
        assert response.status_code == 200
        if extension == "csv":
            rows = [line.split(";") for line in response.text.splitlines()[1:] if line.strip()]
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            rows = [[str(v) for v in r] for r in sheet.iter_rows(min_row=2, values_only=True)]
        return {row[column].strip() for row in rows if row and row[column].strip().isdigit()}

    _a_payment(client, world)
    world_grant, a_grant = str(world["ids"]["grant"]), str(world["ids"]["a_grant"])
    assert world_grant in grant_ids("finance")
    for role in ("finance_a", "officer_a"):
        mine = grant_ids(role)
        assert mine <= {a_grant}, (role, mine)
        if name != "versements":  # funder A's grant has no payment
            assert mine == {a_grant}


@pytest.mark.parametrize("role", sorted(SCOPED.keys() - {"reviewer_a"}))
def test_api_answers_only_their_funder(client, world, role):
    from app.accounts.services import Actor, load_current_user
    from app.api import services as api

    user = run(client, load_current_user, world["people"][role]["id"])
    token = run(client, api.create_token, user, f"scoped {role}", actor=Actor(user_id=user.id))
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path):
        return client.get(path.format(**world["ids"]), headers=headers)

    calls = get("/api/v1/calls").json()
    assert {c["funder"] for c in calls["items"]} == {"Région A"}, calls
    assert calls["total"] == 2  # funder A's two calls
    assert get("/api/v1/calls/{a_call}").status_code == 200
    assert get("/api/v1/calls/{published}").status_code == 404
    grants = get("/api/v1/grants").json()
    assert [g["id"] for g in grants["items"]] == [world["ids"]["a_grant"]], grants
    assert grants["total"] == 1
    assert get("/api/v1/grants?call={decided_call}").json()["total"] == 0
    assert get("/api/v1/grants/{a_grant}").status_code == 200
    assert get("/api/v1/grants/{grant}").status_code == 404
    assert get("/api/v1/grants/{grant}/instalments").status_code == 404
    assert get("/api/v1/payments").json()["total"] == 0
    assert get("/api/v1/payments?grant={grant}").json()["total"] == 0


def test_the_pool_offers_only_reviewers_of_the_calls_funder(client, world):
    """Assigning offers a reviewer of funder A for A's calls only; reviewers of every
    funder everywhere; adding one of funder A to another funder's call is refused."""
    from app.core.audit import Actor
    from app.reviews import pool
    from app.reviews.errors import ReviewError

    reviewer_a = world["people"]["reviewer_a"]["id"]
    reviewer = world["people"]["reviewer"]["id"]
    other_funder = run(
        client,
        lambda: (
            Call.select(Call.funder).where(Call.id == world["ids"]["reviewed_call"]).first().run()
        ),
    )["funder"]
    offered_a = {r.id for r in run(client, pool.reviewers, world["ids"]["funder_a"])}
    offered_b = {r.id for r in run(client, pool.reviewers, other_funder)}
    assert {reviewer_a, reviewer} <= offered_a
    assert reviewer in offered_b and reviewer_a not in offered_b
    with pytest.raises(ReviewError):
        run(
            client,
            pool.add_to_pool,
            world["ids"]["reviewed_call"],
            reviewer_a,
            actor=Actor(user_id=world["people"]["admin"]["id"]),
        )
    page = _page(
        client, world, "officer", f"/instruction/appels/{world['ids']['reviewed_call']}/evaluation"
    )
    assert world["people"]["reviewer_a"]["email"] not in page


@pytest.mark.parametrize(
    "path",
    [
        "/instruction/appels/{a_call}",
        "/instruction/appels/{a_call}/formulaire",
        "/instruction/appels/{a_call}/dossiers",
        "/instruction/appels/{a_call}/dossiers/export.csv",
        "/instruction/appels/{a_call}/evaluation",
        "/instruction/appels/{a_call}/classement",
        "/instruction/appels/{a_call}/decisions",
    ],
)
def test_staff_of_funder_a_work_on_its_calls(client, world, path):
    """The same pages open for funder A's own call (and list it)."""
    _page(client, world, "officer_a", path.format(**world["ids"]))


@pytest.mark.parametrize("role", ["officer_a", "finance_a"])
def test_staff_of_funder_a_act_on_its_grants(client, world, role):
    """Funder A's grant opens with the actions of the role (the page asks the
    permissions about the grant, which carries its funder)."""
    page = _page(client, world, role, "/suivi/subventions/{a_grant}".format(**world["ids"]))
    schedule = "/suivi/subventions/{a_grant}/delais".format(**world["ids"])
    # Finance's payment part (nothing approved yet: its message stands for the form).
    payments = "/suivi/subventions/{a_grant}/versements".format(**world["ids"])
    assert ("Aucune échéance n’est validée" in page or payments in page) is (role == "finance_a"), (
        page[page.find('id="ledger"') :][:400]
    )
    assert (schedule in page) is (role == "officer_a")


def test_staff_of_funder_a_see_its_call_in_their_lists(client, world):
    title = run(
        client,
        lambda: Call.select(Call.title).where(Call.id == world["ids"]["a_call"]).first().run(),
    )["title"]
    assert title in _page(client, world, "officer_a", "/instruction/appels")
    assert title in _page(client, world, "finance_a", "/finances")


def test_a_reviewer_of_funder_a_is_not_shown_another_funders_files(client, world):
    """An assignment on another funder's file (given before the role was narrowed) is
    left out of the reviewer's list and queue, and its page is « not found »."""
    from app.accounts.services import load_current_user
    from app.site.queues import queues_for

    reviewer_a = world["people"]["reviewer_a"]["id"]
    elsewhere = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=world["ids"]["reviewed"], reviewer=reviewer_a))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    assert f"/evaluation/{elsewhere}" not in _page(client, world, "reviewer_a", "/evaluation")
    user = run(client, load_current_user, reviewer_a)
    assert sum(q.count for q in run(client, queues_for, user).reviewer) == 0
    use(client, world, "reviewer_a")
    assert client.get(f"/evaluation/{elsewhere}").status_code == 404
    world["sessions"]["reviewer_a"] = dict(client.cookies.items())
    client.cookies.clear()
