"""Demo data: what `make run` shows a newcomer. Each feature extends it, in the module
of its story (people, calls, files, review, committee, my_space; loader runs them).

Organisations and calls come from a real story (see shared/product.md); every person
is a clearly fictitious placeholder.
"""

from app.demo.loader import load
from app.demo.people import DEMO_PASSWORD, accounts_text

__all__ = ["DEMO_PASSWORD", "accounts_text", "load"]
