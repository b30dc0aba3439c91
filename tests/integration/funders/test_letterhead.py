"""The funder's letterhead: name, address and logo on its letters (admin only)."""

import io

import pypdf
from PIL import Image

from app.funders.tables import Funder
from tests.factories import (
    csrf_token,
    make_call,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (29, 63, 143)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_admin_sets_the_letterhead_and_its_logo(client):
    admin = make_user(client, roles=["admin"])
    officer = make_user(client, roles=["officer"])
    call = make_call(client, officer)
    from app.calls.tables import Call

    funder = run(client, lambda: Call.select(Call.funder).where(Call.id == call).first().run())[
        "funder"
    ]
    sign_in(client, admin)
    page = client.get(f"/admin/financeurs/{funder}")
    assert page.status_code == 200
    refused = post_form(
        client, f"/admin/financeurs/{funder}", {"name": "", "address": "x", "website": "ftp://x"}
    )
    assert refused.status_code == 422
    assert "https://" in text_of(refused.text)
    saved = post_form(
        client,
        f"/admin/financeurs/{funder}",
        {
            "name": "Région Test",
            "address": "1 rue A\n75001 Paris",
            "website": "https://region.test",
        },
    )
    assert saved.status_code == 303
    not_an_image = client.post(
        f"/admin/financeurs/{funder}/logo",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("logo.png", b"%PDF-1.4 no", "image/png")),
        ],
        follow_redirects=False,
    )
    assert not_an_image.status_code == 303
    assert (
        run(
            client, lambda: Funder.select(Funder.logo_file).where(Funder.id == funder).first().run()
        )["logo_file"]
        is None
    )
    uploaded = client.post(
        f"/admin/financeurs/{funder}/logo",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("logo.png", png_bytes(), "image/png")),
        ],
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    row = run(client, lambda: Funder.select().where(Funder.id == funder).first().run())
    assert row["name"] == "Région Test" and row["logo_file"]

    # The letter preview carries the logo (an image) and the new name.
    sign_in(client, officer)
    preview = post_form(
        client,
        f"/instruction/appels/{call}/decisions/courriers/apercu",
        {"award_template": "Bonjour {organisation}.\n\nCordialement.", "kind": "award"},
    )
    assert preview.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(preview.content))
    assert "Région Test" in reader.pages[0].extract_text()
    assert list(reader.pages[0].images)

    # Removing it deletes the file.
    sign_in(client, admin)
    removed = client.post(
        f"/admin/financeurs/{funder}/logo",
        files=[("_csrf_token", (None, csrf_token(client))), ("remove", (None, "yes"))],
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert (
        run(
            client, lambda: Funder.select(Funder.logo_file).where(Funder.id == funder).first().run()
        )["logo_file"]
        is None
    )
    from app.core.storage import FileStorage

    assert not FileStorage.of_app(client.app).path_of(row["logo_file"]).exists()


def test_a_website_typed_without_https_gets_it(client):
    from app.core.forms import web_address

    assert web_address("www.asso.fr") == "https://www.asso.fr"
    assert web_address(" asso.fr/contact ") == "https://asso.fr/contact"
    assert web_address("http://asso.fr") == "http://asso.fr"
    assert web_address("") == ""
    for wrong in ("javascript:alert(1)", "ftp://x", "pas une adresse", "asso", "www.asso .fr"):
        assert web_address(wrong) is None, wrong
    admin, officer = make_user(client, roles=["admin"]), make_user(client, roles=["officer"])
    call = make_call(client, officer)
    from app.calls.tables import Call

    funder = run(client, lambda: Call.select(Call.funder).where(Call.id == call).first().run())[
        "funder"
    ]
    sign_in(client, admin)
    saved = post_form(
        client,
        f"/admin/financeurs/{funder}",
        {"name": "Région Www", "address": "1 rue A\n75001 Paris", "website": "www.asso.fr"},
    )
    assert saved.status_code == 303
    stored = run(
        client, lambda: Funder.select(Funder.website).where(Funder.id == funder).first().run()
    )
    assert stored["website"] == "https://www.asso.fr"
    sign_out(client)
