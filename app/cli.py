"""The ``guichet`` command: serve, migrate, demo, create-admin, backup, restore…"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from app.settings import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"guichet: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _with_database(settings: Settings, work):
    from app.core import audit, db

    audit.use_key(settings.audit_key)
    engine = db.bind(db.engine_from_url(settings.database_url))
    await db.start(engine, pool_size=2)
    try:
        return await work()
    finally:
        await db.stop(engine)


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.core import db

    settings = _settings()
    if settings.is_sqlite:
        db.create_sqlite_file(settings.database_url)
    try:
        asyncio.run(_with_database(settings, db.migrate))
    except (OSError, RuntimeError) as exc:
        print(f"guichet: migration failed: {exc}", file=sys.stderr)
        return 1
    print("guichet: database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app import demo

    settings = _settings()
    if settings.production:
        print("guichet: refusing to load demo data when GUICHET_ENV=production", file=sys.stderr)
        return 2
    loaded = asyncio.run(
        _with_database(
            settings,
            lambda: demo.load(
                if_empty=args.if_empty, settings=settings, committee=not args.before_committee
            ),
        )
    )
    if loaded:
        print(demo.accounts_text())
    else:
        print("guichet: the database already holds data; demo not loaded")
        if args.if_empty:
            print(demo.accounts_text())
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.accounts.services import AccountError, create_user
    from app.accounts.tables import StaffRole

    settings = _settings()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (12 characters or more): ")
    try:
        asyncio.run(
            _with_database(
                settings,
                lambda: create_user(
                    email=args.email,
                    full_name=args.name,
                    password=password,
                    roles=[StaffRole.admin],
                ),
            )
        )
    except AccountError as exc:
        print(f"guichet: cannot create the admin: {exc.code}", file=sys.stderr)
        return 1
    print(f"guichet: admin {args.email} created")
    return 0


def _database_answers(settings: Settings) -> bool:
    from app.core import db

    if settings.is_sqlite and not settings.sqlite_path.exists():
        print(
            f"guichet: no database at {settings.sqlite_path}; run `guichet migrate`",
            file=sys.stderr,
        )
        return False
    try:
        asyncio.run(_with_database(settings, db.ping))
    except Exception as exc:
        print(
            f"guichet: the database at DATABASE_URL does not answer or is not migrated "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "run `guichet migrate`",
            file=sys.stderr,
        )
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import recovery
    from app.core.logs import configure_logging

    settings = _settings()  # fail fast with one clear line
    if not _database_answers(settings):
        return 1
    configure_logging()
    # Held until the process ends (a SIGKILL included): one server per data dir recovers.
    data_dir_lock = recovery.hold_data_dir(settings.data_dir)
    if data_dir_lock is None:
        print(
            f"guichet: another server uses {settings.data_dir}; "
            "leftovers of a crash are not looked for",
            file=sys.stderr,
        )
    else:
        asyncio.run(
            _with_database(
                settings,
                lambda: recovery.recover(settings, previous_start=data_dir_lock.previous_start),
            )
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,  # the app's own middleware, from TRUSTED_PROXIES
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=30,
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core import audit_checkpoints

    settings = _settings()
    path = Path(args.checkpoints) if args.checkpoints else settings.audit_checkpoints_path
    return asyncio.run(
        _with_database(settings, lambda: audit_checkpoints.verify_command(path, settings.audit_key))
    )


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from app.accounts.services import email_audit_checkpoint
    from app.core import audit_checkpoints

    settings = _settings()

    async def work():
        written = await audit_checkpoints.write_checkpoint(
            settings.audit_checkpoints_path, settings.audit_key
        )
        sent = await email_audit_checkpoint(written) if args.email else 0
        return written, sent

    try:
        checkpoint, sent = asyncio.run(_with_database(settings, work))
    except OSError as exc:
        print(f"guichet: cannot write the checkpoint: {exc}", file=sys.stderr)
        return 1
    print(
        f"guichet: checkpoint written to {settings.audit_checkpoints_path}: "
        f"{checkpoint.entries} entries up to #{checkpoint.last_id}"
    )
    print(checkpoint.line)
    if args.email:
        print(f"guichet: the head e-mailed to {sent} administrators (through the outbox)")
    return 0


def cmd_reviews_remind(args: argparse.Namespace) -> int:
    from app.reviews.services import send_reminders

    settings = _settings()
    count = asyncio.run(
        _with_database(settings, lambda: send_reminders(base_url=settings.base_url))
    )
    print(f"guichet: {count} review reminders written to the outbox")
    return 0


def cmd_finance_check_totals(args: argparse.Namespace) -> int:
    """The sums kept for the finance dashboard against the ledger's: exit code 1 and
    one line per difference; ``--repair`` writes them again from the ledger."""
    from app.core.db import write_transaction
    from app.grants import totals

    async def work():
        problems = await totals.check()
        if problems and args.repair:
            async with write_transaction():
                await totals.rebuild()
        return problems

    problems = asyncio.run(_with_database(_settings(), work))
    for line in problems:
        print(f"guichet: {line}", file=sys.stderr)
    if not problems:
        print("guichet: the kept totals equal the ledger's sums")
        return 0
    if args.repair:
        print(f"guichet: {len(problems)} differences repaired from the ledger")
        return 0
    return 1


def cmd_agreements_verify(args: argparse.Namespace) -> int:
    """Every stored agreement PDF against the SHA-256 recorded when it was written:
    exit code 1 and one line per altered or missing file."""
    from app.core.storage import FileStorage
    from app.grants import agreements

    settings = _settings()
    results = asyncio.run(
        _with_database(settings, lambda: agreements.verify_all(FileStorage.from_settings(settings)))
    )
    altered = [(n, which) for n, which, ok in results if not ok]
    for n, which in altered:
        print(f"guichet: agreement {n}: the {which} file is altered or missing", file=sys.stderr)
    if altered:
        return 1
    print(f"guichet: {len(results)} agreement files intact")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.backup import BackupError, backup

    settings = _settings()
    try:
        manifest = backup(settings.database_url, settings.data_dir, Path(args.destination))
    except BackupError as exc:
        print(f"guichet: backup failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"guichet: backup of the {manifest['database']} database and {manifest['files']} "
        f"files written to {args.destination}"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.backup import BackupError, restore

    settings = _settings()
    try:
        manifest = restore(
            Path(args.source), settings.database_url, settings.data_dir, force=args.force
        )
    except BackupError as exc:
        print(f"guichet: restore refused: {exc}", file=sys.stderr)
        return 1
    print(f"guichet: restored the backup of {manifest['created_at']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guichet", description="Guichet grant portal")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="load the demo data (refused in production)")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no user")
    demo.add_argument(
        "--before-committee",
        action="store_true",
        help="leave the 2017 call's files submitted, before screening and the committee "
        "(to walk through screening, review and decisions)",
    )
    demo.set_defaults(func=cmd_demo)

    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True, help="full name")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.set_defaults(func=cmd_create_admin)
    audit_cmd = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check the keyed hash chain and hold it against the checkpoints; "
        "name every problem (exit code 1)",
    )
    verify.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="hold the chain against the signed lines in FILE (e.g. heads kept from the "
        "e-mails) instead of the data dir's audit/checkpoints.jsonl",
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit_sub.add_parser(
        "checkpoint",
        help="append the chain's head (count, last id and hash) to the signed checkpoints "
        "file in the data dir, and print it",
    )
    checkpoint.add_argument(
        "--email",
        action="store_true",
        help="also e-mail the signed head to every active administrator, to keep elsewhere",
    )
    checkpoint.set_defaults(func=cmd_audit_checkpoint)
    reviews_cmd = sub.add_parser("reviews", help="the review of applications")
    reviews_sub = reviews_cmd.add_subparsers(dest="reviews_command", required=True)
    remind = reviews_sub.add_parser("remind", help="e-mail reviewers before and after the due date")
    remind.set_defaults(func=cmd_reviews_remind)
    finance_cmd = sub.add_parser("finance", help="grant follow-up and its ledger")
    finance_sub = finance_cmd.add_subparsers(dest="finance_command", required=True)
    check_totals = finance_sub.add_parser(
        "check-totals",
        help="compare the totals kept for the finance dashboard (per grant, per call) "
        "with the ledger's sums; name every difference (exit code 1)",
    )
    check_totals.add_argument(
        "--repair", action="store_true", help="write the totals again from the ledger"
    )
    check_totals.set_defaults(func=cmd_finance_check_totals)
    agreements_cmd = sub.add_parser("agreements", help="grant agreements (conventions)")
    agreements_sub = agreements_cmd.add_subparsers(dest="agreements_command", required=True)
    verify = agreements_sub.add_parser(
        "verify",
        help="check every stored agreement PDF against its recorded SHA-256 (exit code 1 "
        "when one is altered or missing)",
    )
    verify.set_defaults(func=cmd_agreements_verify)
    backup = sub.add_parser(
        "backup", help="write a consistent copy of the database and the stored files"
    )
    backup.add_argument("destination", help="a new (or empty) folder")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="put a backup back (stop the application first)")
    restore.add_argument("source", help="a folder written by guichet backup")
    restore.add_argument("--force", action="store_true", help="replace a database that holds data")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
