"""The organisation form's rules without HTTP: each refused field carries its own
message, in the order of the form (the error summary reads top down)."""

from app.core.i18n import use_locale
from app.organisations.services import FIELDS, REQUIRED, clean_organisation

VALID = {
    "name": "Le PoleS",
    "legal_form": "association",
    "siret": "73282932000074",
    "rna": "W921000001",
    "street": "1 rue de l'Exemple",
    "postcode": "92390",
    "city": "Villeneuve-la-Garenne",
    "legal_rep_name": "Prénom Nom",
    "legal_rep_title": "Président",
    "contact_email": "contact@asso.test",
    "phone": "01 23 45 67 89",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPP",
    "description": "",
}


def test_a_valid_form_gives_the_stored_values_and_no_error():
    cleaned, errors = clean_organisation(VALID)
    assert errors == {}
    assert cleaned["iban"] == "FR7630006000011234567890189" and cleaned["rna"] == "W921000001"


def test_an_empty_form_names_every_required_field_in_the_order_of_the_form():
    _cleaned, errors = clean_organisation({})
    assert list(errors) == [name for name in FIELDS if name in REQUIRED]
    for name, error in errors.items():
        assert error.code == "required" and error.field == name
        with use_locale("en"):
            assert error.text() == REQUIRED[name]


def test_each_wrong_field_says_why_in_french():
    wrong = VALID | {
        "siret": "1234",
        "legal_form": "association",
        "rna": "",
        "postcode": "²³¹⁴⁵",
        "contact_email": "pas une adresse",
        "iban": "FR76 3000 6000 0112 3456 7890 18",
        "bic": "AGRI",
    }
    _cleaned, errors = clean_organisation(wrong)
    assert {name: error.code for name, error in errors.items()} == {
        "siret": "siret_length",
        "rna": "rna_required",
        "postcode": "postcode",
        "contact_email": "email",
        "iban": "iban_length",
        "bic": "bic_length",
    }
    with use_locale("fr"):
        assert errors["siret"].text() == "Le numéro SIRET doit comporter 14 chiffres."
        assert "longueur" in errors["iban"].text()
    assert all(error.field == name for name, error in errors.items())
