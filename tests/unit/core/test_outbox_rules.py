"""Outbox rules that need no database: rendering, addresses, files, backoff, SMTP URL."""

import os
import stat
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from app.core import i18n, mail, outbox

CONTEXT = {"name": "Zoé <b>&</b>", "requested_at": datetime(2026, 11, 26, 12, 0, tzinfo=UTC)}


def test_rendering_escapes_html_only_and_keeps_the_subject_on_one_line():
    email = mail.render_email("test_message", "en", CONTEXT)
    assert "\n" not in email.subject and email.subject
    assert "Hello Zoé <b>&</b>," in email.text
    assert "Hello Zoé &lt;b&gt;&amp;&lt;/b&gt;," in email.html
    assert "<b>" not in email.html


def test_rendering_follows_the_language():
    french = mail.render_email("test_message", "fr", CONTEXT)
    english = mail.render_email("test_message", "en", CONTEXT)
    with i18n.use_locale("fr"):
        assert french.subject == i18n.gettext("Guichet test message")
    assert "26 nov. 2026" in french.text and "26 nov. 2026" in french.html
    assert "26 Nov 2026" in english.text
    assert english.subject == "Guichet test message"
    assert i18n.get_locale() == i18n.DEFAULT_LOCALE  # the caller's locale is restored


@pytest.mark.parametrize("name", ["../base", "Test", "test message", ""])
def test_template_names_are_plain(name):
    with pytest.raises(ValueError):
        mail.render_email(name, "fr", CONTEXT)


@pytest.mark.parametrize(
    "address", ["a@b.fr", " Camille.Durand+guichet@asso-exemple.fr ", "élise@exemple.fr"]
)
def test_plain_addresses_pass(address):
    assert mail.check_address(address) == address.strip()


@pytest.mark.parametrize(
    "address",
    [
        "",
        "no-at-sign",
        "a@b@c",
        "a@b.fr\nBcc: victim@x.fr",
        "Camille <a@b.fr>",
        "a@b.fr, c@d.fr",
        "@b.fr",
        "a@",
    ],
)
def test_other_addresses_are_refused(address):
    with pytest.raises(ValueError):
        mail.check_address(address)


def test_backoff_doubles_then_caps():
    assert outbox.backoff(1) == timedelta(minutes=1)
    assert outbox.backoff(2) == timedelta(minutes=2)
    assert outbox.backoff(4) == timedelta(minutes=8)
    assert outbox.backoff(30) == outbox.MAX_DELAY


def test_smtp_urls():
    plain = mail.parse_smtp_url("smtp://127.0.0.1:2525")
    assert (plain.hostname, plain.port, plain.use_tls, plain.username) == (
        "127.0.0.1",
        2525,
        False,
        None,
    )
    tls = mail.parse_smtp_url("smtps://guichet%40region.fr:p%40ss%3Aword@smtp.region.fr")
    assert (tls.port, tls.use_tls, tls.username, tls.password) == (
        465,
        True,
        "guichet@region.fr",
        "p@ss:word",
    )
    with pytest.raises(ValueError):
        mail.parse_smtp_url("http://smtp.region.fr")


def test_message_headers_and_parts():
    message_id = mail.new_message_id()
    data = mail.build_message(
        message_id=message_id,
        from_address="Guichet <ne-pas-repondre@guichet.example.fr>",
        to="camille@asso.fr",
        subject="Message d’essai — Guichet",
        text="Bonjour,\n",
        html="<p>Bonjour,</p>",
        created_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    ).as_bytes(policy=policy.SMTP)
    assert data.isascii()
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["Message-ID"] == message_id
    assert parsed["Subject"] == "Message d’essai — Guichet"
    assert parsed["To"] == "camille@asso.fr"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parsed.get_body(("plain",)).get_content().strip() == "Bonjour,"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Bonjour,</p>"


def test_eml_files_are_written_once_atomically_and_privately(tmp_path):
    message_id = "<0123abcd@guichet>"
    first = mail.write_eml(tmp_path / "outbox", message_id, b"one")
    second = mail.write_eml(tmp_path / "outbox", message_id, b"two")
    assert first == second == tmp_path / "outbox" / "0123abcd@guichet.eml"
    assert os.listdir(tmp_path / "outbox") == ["0123abcd@guichet.eml"]
    assert first.read_bytes() == b"two"
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_eml_names_cannot_leave_the_directory():
    assert mail.eml_name("<../../etc/passwd@x>") == ".._.._etc_passwd@x.eml"
    assert "/" not in mail.eml_name("</a/b@c>")
