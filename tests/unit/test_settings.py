"""Configuration: a bad or missing value stops start-up with one clear line."""

import pytest

from app.settings import ConfigError, load_settings


def env(tmp_path, **values):
    return {"GUICHET_DATA_DIR": str(tmp_path), **values}


def test_defaults_are_sqlite_under_var_and_a_generated_secret(tmp_path):
    settings = load_settings(env(tmp_path))
    assert settings.database_url == "sqlite:///var/guichet.sqlite3"
    assert settings.is_sqlite and settings.sqlite_path.name == "guichet.sqlite3"
    assert len(settings.secret_key) >= 32
    assert (tmp_path / "secret_key").read_text() == settings.secret_key
    assert load_settings(env(tmp_path)).secret_key == settings.secret_key  # kept


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://relative"}, "DATABASE_URL"),
        ({"GUICHET_ENV": "prod"}, "GUICHET_ENV"),
        ({"GUICHET_ENV": "production", "ALLOWED_HOSTS": "x.fr"}, "SECRET_KEY"),
        ({"GUICHET_ENV": "production", "SECRET_KEY": "k" * 40}, "ALLOWED_HOSTS"),
        (
            {"GUICHET_ENV": "production", "SECRET_KEY": "k" * 40, "ALLOWED_HOSTS": "x.fr"},
            "GUICHET_BASE_URL",
        ),
        ({"GUICHET_BASE_URL": "guichet.example.fr"}, "GUICHET_BASE_URL"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"SMTP_URL": "mail.example.fr"}, "SMTP_URL"),
        ({"MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"),
        ({"STAFF_MFA": "yes"}, "STAFF_MFA"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, values, variable):
    with pytest.raises(ConfigError) as err:
        load_settings(env(tmp_path, **values))
    message = str(err.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match=r"^GUICHET_DATA_DIR:"):
        load_settings({"GUICHET_DATA_DIR": str(target)})


def test_production_settings(tmp_path):
    settings = load_settings(
        env(
            tmp_path,
            GUICHET_ENV="production",
            SECRET_KEY="s" * 40,
            ALLOWED_HOSTS="guichet.example.fr",
            GUICHET_BASE_URL="https://guichet.example.fr",
        )
    )
    assert settings.production and settings.allowed_hosts == ("guichet.example.fr",)


@pytest.mark.parametrize(
    ("values", "required"),
    [
        ({}, False),
        ({"GUICHET_ENV": "test"}, False),
        ({"STAFF_MFA": "required"}, True),
        ({"STAFF_MFA": " Required "}, True),
        (
            {
                "GUICHET_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "ALLOWED_HOSTS": "x.fr",
                "GUICHET_BASE_URL": "https://x.fr",
            },
            True,
        ),
        (
            {
                "GUICHET_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "ALLOWED_HOSTS": "x.fr",
                "GUICHET_BASE_URL": "https://x.fr",
                "STAFF_MFA": "optional",
            },
            False,
        ),
    ],
)
def test_staff_second_factor_is_required_in_production_unless_told_otherwise(
    tmp_path, values, required
):
    settings = load_settings(env(tmp_path, **values))
    assert settings.staff_mfa_required is required
    assert settings.staff_mfa == ("required" if required else "optional")
