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
    # What the law asks its letters to say (funders/models.py FunderLegal): the service
    # in charge and how to reach it, who signs « par délégation », the appeal routes,
    # the deliberating body and the SIRET published with the open data.
    service_name = Varchar(length=200, default="")
    service_address = Text(default="")
    service_email = Varchar(length=254, default="")
    service_phone = Varchar(length=30, default="")
    signatory_name = Varchar(length=200, default="")
    signatory_capacity = Varchar(length=300, default="")
    # The signature image: a PNG or JPEG in the file storage (its storage id).
    signature_file = Varchar(length=64, null=True, default=None)
    appeal_routes = Text(default="")  # "" = the default text (models.DEFAULT_APPEAL_ROUTES)
    deliberation_body = Varchar(length=200, default="")
    siret = Varchar(length=14, default="")
