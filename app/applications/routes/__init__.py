"""Application pages, one module per side: the applicant's (eligibility, draft,
submission, withdrawal), the documents and messages both sides use, and the staff's
(table, exports, file view, screening). Each module is a Router with its guards."""

from app.applications.routes import applicant, documents, staff

ROUTES = [applicant.router, documents.router, staff.router]
