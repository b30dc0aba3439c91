"""Open data of awards (décret n° 2017-779): per funder, a public page and a file in the
SCDL « subventions » table schema (version 2.0.1, vendored in tests/data), validated
with frictionless; only published awards above 23 000 € with their agreement received."""

import csv
import io
import json
from pathlib import Path

import pytest

from app.accounts.services import Actor
from app.calls.tables import Call
from app.funders import services as funders
from tests.factories import make_grant, make_user, run

frictionless = pytest.importorskip("frictionless")

SCHEMA = Path(__file__).parents[2] / "data" / "scdl_subventions_2.0.1.schema.json"


def funder_of(client, call_id):
    return run(
        client,
        lambda: (
            Call.select(Call.funder, Call.funder.slug.as_alias("slug"))
            .where(Call.id == call_id)
            .first()
            .run()
        ),
    )


def validate(data: bytes, tmp_path) -> frictionless.Report:
    path = tmp_path / "subventions.csv"
    path.write_bytes(data)
    resource = frictionless.Resource(
        path=path.name,
        basepath=str(tmp_path),
        schema=frictionless.Schema.from_descriptor(json.loads(SCHEMA.read_text("utf-8"))),
    )
    return resource.validate()


def test_the_scdl_file_lists_signed_awards_above_the_threshold_and_validates(client, tmp_path):
    officer = make_user(client, roles=["officer"])
    owner = make_user(client)
    signed = make_grant(client, officer, owner, amount=20_000_000)
    funder = funder_of(client, signed["call"])
    slug = funder["slug"]

    # Without the funder's SIRET the file cannot be valid: it stays empty.
    empty = client.get(f"/financeurs/{slug}/subventions.csv")
    assert empty.status_code == 200
    assert empty.text.strip().count("\n") == 0

    errors = run(
        client,
        funders.update_legal,
        funder["funder"],
        {"siret": "23750007900312", "deliberation_body": "la commission permanente"},
        actor=Actor(user_id=None),
    )
    assert not errors
    # The same funder's other awards: one under the threshold, one without its agreement.
    from app.calls.tables import Call as C

    small = make_grant(client, officer, owner, amount=2_000_000)
    unsigned = make_grant(client, officer, owner, amount=5_000_000, agreement=False)
    for other in (small, unsigned):
        run(
            client,
            lambda c=other["call"]: C.update({C.funder: funder["funder"]}).where(C.id == c).run(),
        )

    response = client.get(f"/financeurs/{slug}/subventions.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(rows) == 1
    (row,) = rows
    assert row["idAttribuant"] == "23750007900312"
    assert row["montant"] == "200000.00"
    assert row["referenceDecision"] == "CP 2017-123"
    assert row["conditionsVersement"] == "échelonné"
    assert row["nature"] == "aide en numéraire" and row["notificationUE"] == "non"

    report = validate(response.content, tmp_path)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "message"])

    page = client.get(f"/financeurs/{slug}/subventions")
    assert page.status_code == 200
    assert "200 000,00" in page.text.replace("\u202f", " ").replace("\xa0", " ")
    assert "2017-779" in page.text
    assert client.get("/financeurs/nobody/subventions.csv").status_code == 404


def test_the_vendored_schema_refuses_a_broken_line(tmp_path):
    """The check has teeth: a wrong SIRET, a comma decimal and a missing date fail."""
    from app.decisions.opendata import HEADER

    bad = (
        ",".join(HEADER)
        + "\r\n"
        + ",".join(
            [
                "Région",
                "123",
                "",
                "CP",
                "Asso",
                "38047555800058",
                "Objet",
                "200000,00",
                "aide en numéraire",
                "unique",
                "2017-06-01",
                "",
                "non",
                "1.00",
            ]
        )
        + "\r\n"
    )
    report = validate(bad.encode("utf-8"), tmp_path)
    assert not report.valid
    fields = {e[0] for e in report.flatten(["fieldName"])}
    assert None not in fields, report.flatten(["type", "message"])
    assert {"idAttribuant", "dateConvention"} <= fields
