from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Funder(Table):
    """A public funder (région, département, commune, foundation) that publishes calls."""

    name = Varchar(length=200, unique=True)
    slug = Varchar(length=80, unique=True, index=True)
    kind = Varchar(length=40)  # région, département, commune, fondation...
    address = Text(default="")
    website = Varchar(length=300, default="")
    # The letterhead logo: a PNG or JPEG in the data dir's file storage (its storage id).
    logo_file = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
