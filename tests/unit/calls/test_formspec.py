"""The form as data: definitions, conditions, compatible changes, answers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.calls import formspec
from app.calls.formspec import FormError


def build():
    form = formspec.add_section(formspec.empty_form(), "Le projet")
    section = form["sections"][0]["key"]
    for values in (
        {"type": "yes_no", "label": "Quartiers prioritaires ?", "required": "yes"},
        {"type": "single_choice", "label": "Public", "choices": "Jeunes\nAdultes"},
        {"type": "money", "label": "Budget"},
    ):
        form = formspec.add_field(form, section, formspec.clean_field(values, form))
    qpv = form["sections"][0]["fields"][0]["key"]
    cond = formspec.clean_field(
        {
            "type": "long_text",
            "label": "Quels quartiers ?",
            "required": "yes",
            "max_length": "500",
            "condition_field": qpv,
            "condition_value": "yes",
        },
        form,
    )
    return formspec.add_field(form, section, cond), qpv, cond["key"]


def test_every_field_type_is_accepted():
    form = formspec.add_section(formspec.empty_form(), "S")
    for kind in formspec.FIELD_TYPES:
        values = {"type": kind, "label": kind, "choices": "A\nB"}
        form = formspec.add_field(
            form, form["sections"][0]["key"], formspec.clean_field(values, form)
        )
    assert [f["type"] for f in formspec.fields_of(form)] == list(formspec.FIELD_TYPES)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"type": "nope", "label": "x"}, "field_type"),
        ({"type": "short_text", "label": ""}, "label_required"),
        ({"type": "single_choice", "label": "x", "choices": "one"}, "choices_required"),
        ({"type": "single_choice", "label": "x", "choices": "a\na"}, "choices_unique"),
        ({"type": "long_text", "label": "x", "max_length": "0"}, "max_length"),
        (
            {
                "type": "short_text",
                "label": "x",
                "condition_field": "missing",
                "condition_value": "yes",
            },
            "condition_field",
        ),
    ],
)
def test_bad_definitions(values, code):
    with pytest.raises(FormError) as err:
        formspec.clean_field(values, formspec.empty_form())
    assert err.value.code == code


def test_a_condition_hides_and_drops_the_answer():
    form, qpv, cond = build()
    answers, errors = formspec.clean_answers(form, {qpv: "no", cond: "Villeneuve"})
    assert cond not in answers and not errors
    answers, _ = formspec.clean_answers(form, {qpv: "yes", cond: "Villeneuve"})
    assert answers[cond] == "Villeneuve"
    assert [f["key"] for f in formspec.missing_answers(form, {qpv: "yes"}, set())] == [cond]
    assert formspec.missing_answers(form, {qpv: "no"}, set()) == []


def test_answers_are_checked_by_type():
    form, _qpv, _cond = build()
    money = formspec.fields_of(form)[2]["key"]
    answers, errors = formspec.clean_answers(form, {money: "1 250,50 €"})
    assert answers[money] == 125_050
    _answers, errors = formspec.clean_answers(form, {money: "douze"})
    assert errors[money].code == "money_invalid"
    assert errors[money].text() == "Indiquez un montant comme 200 000 ou 1 250,50."


@pytest.mark.parametrize(
    "change",
    [
        lambda f, keys: formspec.remove_field(f, keys[2]),
        lambda f, keys: formspec.replace_field(
            f, {**formspec.field_by_key(f, keys[2]), "type": "number"}
        ),
        lambda f, keys: formspec.replace_field(
            f, {**formspec.field_by_key(f, keys[1]), "required": True}
        ),
        lambda f, keys: formspec.replace_field(
            f, {**formspec.field_by_key(f, keys[1]), "choices": ["Jeunes"]}
        ),
        lambda f, keys: formspec.replace_field(
            f, {**formspec.field_by_key(f, keys[3]), "max_length": 100}
        ),
        lambda f, keys: formspec.add_field(
            f,
            f["sections"][0]["key"],
            formspec.clean_field({"type": "short_text", "label": "New", "required": "yes"}, f),
        ),
    ],
)
def test_changes_that_break_answers_are_refused_after_publication(change):
    form, _qpv, _cond = build()
    keys = [f["key"] for f in formspec.fields_of(form)]
    with pytest.raises(FormError):
        formspec.check_compatible(form, change(form, keys))


def test_compatible_changes_pass():
    form, _qpv, _cond = build()
    keys = [f["key"] for f in formspec.fields_of(form)]
    new = formspec.replace_field(
        form,
        {
            **formspec.field_by_key(form, keys[1]),
            "label": "Public visé",
            "choices": ["Jeunes", "Adultes", "Seniors"],
        },
    )
    new = formspec.add_field(
        new,
        new["sections"][0]["key"],
        formspec.clean_field({"type": "short_text", "label": "Optionnel"}, new),
    )
    new = formspec.move_field(new, keys[0], 1)
    formspec.check_compatible(form, new)


@given(st.lists(st.sampled_from([-1, 1]), max_size=20))
def test_moves_keep_every_field_once(moves):
    form, _qpv, _cond = build()
    keys = sorted(f["key"] for f in formspec.fields_of(form))
    for i, offset in enumerate(moves):
        form = formspec.move_field(form, keys[i % len(keys)], offset)
    assert sorted(f["key"] for f in formspec.fields_of(form)) == keys


def test_a_yes_no_condition_can_be_typed_in_french():
    form, qpv, _cond = build()
    field = formspec.clean_field(
        {"type": "short_text", "label": "x", "condition_field": qpv, "condition_value": "Oui"}, form
    )
    assert field["condition"] == {"field": qpv, "equals": "yes"}
