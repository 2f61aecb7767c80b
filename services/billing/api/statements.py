"""/bank-statements: import a bank statement (1CClientBankExchange), its lines matched to invoices or listed for
matching by hand."""
from flask import request
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.errors import Invalid
from glassbox.web import Blueprint, accepts_bodies
from services.billing.schemas import (ManualMatchSchema, PaymentSchema, StatementLinesArgs, StatementPageSchema,
                                      StatementQueryArgs, StatementSchema)
from services.billing.service import statements

blp = Blueprint("bank_statements", __name__, description="Bank statements (1CClientBankExchange): incoming payments "
                                                         "matched to invoices, the rest matched by hand")

_FILE = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD = {"required": True, "content": {
    "text/plain": _FILE, "application/octet-stream": _FILE,
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}


def _uploaded() -> bytes:
    """The file: the body itself, or the `file` part of a multipart form."""
    if request.mimetype != "multipart/form-data":
        return request.get_data()
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("the multipart body has no `file` part", {"file": ["missing"]})
    return upload.read()


@blp.route("/bank-statements")
class BankStatements(MethodView):
    @blp.arguments(StatementQueryArgs, location="query")
    @blp.response(200, StatementPageSchema)
    def get(self, args):
        """List the imported statements, newest first (accountants, admins, the head of sales)."""
        return statements.list_statements(current_db(), current_principal(), args)

    @accepts_bodies("text/plain", "application/octet-stream", "multipart/form-data")
    @blp.doc(requestBody=_UPLOAD)
    @blp.response(201, StatementSchema, headers={"Location": {"description": "the statement: "
                                                                            "/api/v1/bank-statements/{id}",
                                                              "schema": {"type": "string"}}})
    @blp.alt_response(200, schema=StatementSchema,
                      description="the same file was imported before: that statement, `duplicate: true`, nothing "
                                  "recorded again")
    @blp.alt_response(413, description="the file is larger than the body limit")
    def post(self):
        """Import a statement (accountants): the file as the body (text/plain or application/octet-stream) or as
        the `file` part of a form; Windows-1251, DOS-866 or UTF-8.

        An incoming payment is matched when exactly one client has the payer's INN and either the invoice numbers
        in its purpose name open invoices of that client with at least its amount outstanding (paid in the order
        named), or it names none and exactly one open invoice of the client has its amount outstanding. A matched
        one is recorded as a payment and allocated; the rest are lines `unmatched` with a note saying why, to be
        matched by hand. A payment recorded before (an overlapping statement) is a line `known`; outgoing
        payments are lines `outgoing`.
        A file that cannot be read is a 422 naming its line, and nothing is written; a statement of another
        account than the seller's is a 422."""
        statement = statements.import_statement(current_db(), current_principal(), _uploaded())
        status = 200 if statement.duplicate else 201
        return statement, status, {"Location": f"/api/v1/bank-statements/{statement.id}"}


@blp.route("/bank-statements/<uuid:statement_id>")
class BankStatementItem(MethodView):
    @blp.arguments(StatementLinesArgs, location="query")
    @blp.response(200, StatementSchema)
    def get(self, args, statement_id):
        """A statement with its lines, in file order (`status` keeps those of one status, e.g. unmatched)."""
        return statements.get_statement(current_db(), current_principal(), statement_id, args.get("status"))


@blp.route("/bank-statements/<uuid:statement_id>/lines/<int:line_id>/match")
class StatementLineMatch(MethodView):
    @blp.arguments(ManualMatchSchema)
    @blp.response(201, PaymentSchema)
    def post(self, data, statement_id, line_id):
        """Match an unmatched line by hand (accountants): it is recorded as a payment of the client named, allocated
        as given; what is not allocated stays as the client's credit. A line matched already, known or outgoing
        is a 409: a bank document is never recorded twice."""
        return statements.manual_match(current_db(), current_principal(), statement_id, line_id, data)
