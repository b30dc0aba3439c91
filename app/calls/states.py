"""The life of a call, as a table: action -> (from, to). Officers and admins fire them."""

CALL_TRANSITIONS: dict[str, tuple[str, str]] = {
    "publish": ("draft", "published"),
    "close": ("published", "closed"),
    "archive": ("closed", "archived"),
}
