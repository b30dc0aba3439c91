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
        ({"AUDIT_KEY": "too short for a key"}, "AUDIT_KEY"),
        ({"APPLICATION_QUOTA_MB": "0"}, "APPLICATION_QUOTA_MB"),
        ({"APPLICATION_QUOTA_MB": "100 Mo"}, "APPLICATION_QUOTA_MB"),
        ({"ORGANISATION_QUOTA_MB": "-5"}, "ORGANISATION_QUOTA_MB"),
        ({"APPLICATION_QUOTA_MB": "200", "ORGANISATION_QUOTA_MB": "150"}, "ORGANISATION_QUOTA_MB"),
        ({"DOCUMENT_VERSIONS_MAX": "1"}, "DOCUMENT_VERSIONS_MAX"),
        ({"MESSAGE_FILE_MAX_MB": "51"}, "MESSAGE_FILE_MAX_MB"),
        ({"MESSAGE_FILE_MAX_MB": "2.5"}, "MESSAGE_FILE_MAX_MB"),
        ({"KEPT_DRAFT_VERSIONS": "all"}, "KEPT_DRAFT_VERSIONS"),
        ({"UPLOADS_PER_MINUTE": "0"}, "UPLOADS_PER_MINUTE"),
        ({"UPLOADS_PER_MINUTE": "20", "UPLOADS_PER_HOUR": "10"}, "UPLOADS_PER_HOUR"),
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


def test_the_audit_key_is_its_own_setting_or_derived_from_the_secret_key(tmp_path):
    import hashlib
    import hmac

    derived = load_settings(env(tmp_path, SECRET_KEY="s" * 40))
    assert derived.audit_key_source == "SECRET_KEY"
    hex_key = hmac.new(b"s" * 40, b"guichet.audit", hashlib.sha256).hexdigest()
    assert derived.audit_key == hex_key.encode()
    assert derived.audit_key != derived.secret_key.encode()
    # Another SECRET_KEY, another audit key: why production sets AUDIT_KEY (docs/security.md).
    assert load_settings(env(tmp_path, SECRET_KEY="t" * 40)).audit_key != derived.audit_key
    explicit = load_settings(env(tmp_path, SECRET_KEY="t" * 40, AUDIT_KEY="a" * 32))
    assert (explicit.audit_key, explicit.audit_key_source) == (b"a" * 32, "AUDIT_KEY")
    assert "a" * 32 not in repr(explicit) and "audit_key=" not in repr(explicit)
    # SECRET_KEY rotated, AUDIT_KEY set to the old derived key: the same audit key.
    rotated = load_settings(env(tmp_path, SECRET_KEY="t" * 40, AUDIT_KEY=hex_key))
    assert rotated.audit_key == derived.audit_key
    assert explicit.audit_checkpoints_path == tmp_path / "audit" / "checkpoints.jsonl"


def test_storage_quotas_and_upload_rate_have_defaults(tmp_path):
    settings = load_settings(env(tmp_path))
    mb = 1024 * 1024
    assert (settings.application_quota_bytes, settings.organisation_quota_bytes) == (
        100 * mb,
        500 * mb,
    )
    assert (settings.document_versions_max, settings.kept_draft_versions) == (20, 2)
    assert settings.message_file_max_bytes == 10 * mb
    assert (settings.uploads_per_minute, settings.uploads_per_hour) == (10, 100)
    tuned = load_settings(env(tmp_path, APPLICATION_QUOTA_MB="40", KEPT_DRAFT_VERSIONS="0"))
    assert tuned.application_quota_bytes == 40 * mb and tuned.kept_draft_versions == 0


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
