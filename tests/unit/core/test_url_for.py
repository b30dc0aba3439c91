"""The pages' ``url_for`` (core.templating, routes looked up once) gives the path
Litestar's ``route_reverse`` gives for every named route, and fails where it fails."""

import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from litestar.exceptions import NoRouteMatchFoundException

from app.core.templating import url_for
from app.main import create_app
from app.settings import load_settings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    settings = load_settings(
        {"GUICHET_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data}/db"}
    )
    return create_app(settings)


SAMPLES = {
    int: 7,
    str: "abc-12",
    uuid.UUID: uuid.UUID(int=5),
    date: date(2026, 12, 4),
    Path: Path("css/site.css"),
}


def test_every_named_route_gives_litestars_path(app):
    context = {"request": SimpleNamespace(app=app)}
    names = {h.name for r in app.routes for h in r.route_handlers if h.name}
    assert len(names) > 100
    for name in sorted(names):
        index = app.get_handler_index_by_name(name)
        for route in app.asgi_router.route_mapping[index["identifier"]]:
            values = {p.name: SAMPLES[p.type] for p in route.path_parameters.values()}
            # Twice: the first call finds the route, the second reads what it kept.
            for _ in range(2):
                assert url_for(context, name, **values) == app.route_reverse(name, **values)
        assert url_for(context, name, **values, extra=3) == app.route_reverse(
            name, **values, extra=3
        )


def test_a_wrong_name_or_value_fails_as_in_litestar(app):
    context = {"request": SimpleNamespace(app=app)}
    with pytest.raises(NoRouteMatchFoundException):
        url_for(context, "no:such-route")
    url_for(context, "applications:staff-file", app_id=3)
    with pytest.raises(NoRouteMatchFoundException):
        url_for(context, "applications:staff-file", app_id=[3])
    with pytest.raises(NoRouteMatchFoundException):
        url_for(context, "applications:staff-file")
