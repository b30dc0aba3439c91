"""Browser tests wait for states, not for fixed times: no sleep and no
``wait_for_timeout`` as a wait, no hard-coded ``timeout=`` that a busy machine
outlasts. A sleep is allowed only as the pause of a polling loop (``while``) that
checks a state each round (the live server's health, the outbox's files)."""

import ast
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
SLEEPS = {"sleep", "wait_for_timeout"}


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def fixed_waits(source: str) -> list[str]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def in_polling_loop(node: ast.AST) -> bool:
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.While):
                return True
        return False

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _name(node) in SLEEPS and (
            _name(node) == "wait_for_timeout" or not in_polling_loop(node)
        ):
            found.append(f"line {node.lineno}: {_name(node)}()")
        for keyword in node.keywords:
            if keyword.arg == "timeout" and isinstance(keyword.value, ast.Constant):
                found.append(f"line {node.lineno}: {_name(node)}(timeout={keyword.value.value})")
    return found


@pytest.mark.parametrize("path", sorted(E2E.glob("test_*.py")), ids=lambda p: p.name)
def test_browser_tests_wait_for_states(path):
    assert fixed_waits(path.read_text()) == []


def test_the_check_finds_fixed_waits():
    source = (
        "import time\n"
        "def test_x(page):\n"
        "    time.sleep(2)\n"
        "    page.wait_for_timeout(500)\n"
        "    page.get_by_text('Fait').wait_for(timeout=30_000)\n"
        "    while not done():\n"
        "        time.sleep(0.2)\n"
    )
    assert fixed_waits(source) == [
        "line 3: sleep()",
        "line 4: wait_for_timeout()",
        "line 5: wait_for(timeout=30000)",
    ]
