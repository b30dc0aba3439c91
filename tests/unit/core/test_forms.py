"""Redirect targets and e-mail addresses typed in forms."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.forms import safe_next, valid_email


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\t\\evil.example",
        "/\nLocation: x",
        "javascript:alert(1)",
        "",
        None,
        "evil",
        "/%0d%0a".replace("%0d%0a", "\r\n"),
    ],
)
def test_never_leaves_the_site(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/structures/3", "/structures/invitation?jeton=abc-_1"])
def test_keeps_local_paths(target):
    assert safe_next(target) == target


@given(st.text())
def test_any_text_gives_a_local_path(text):
    result = safe_next(text)
    assert result.startswith("/") and not result.startswith("//") and "\\" not in result


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("nom@exemple.fr", True),
        ("prénom.nom@association.org", True),
        ("a@b.fr,c@d.fr", False),
        ("Nom <nom@exemple.fr>", False),
        ("nom@exemple", False),
        ("nom@@exemple.fr", False),
        ("compte-supprime-3@guichet.invalid", False),
        ("x" * 250 + "@a.fr", False),
        ("nom @exemple.fr", False),
    ],
)
def test_valid_email(address, ok):
    assert valid_email(address) is ok
