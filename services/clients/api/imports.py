"""CSV import (POST /clients/import -> a job, GET /imports/{id}) and export (GET /clients/export) of client cards."""
from flask import request
from flask.views import MethodView
from flask_smorest import abort

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.exports import export_doc, export_response
from glassbox.settings import current_settings
from glassbox.web import Blueprint, accepts_bodies
from services.clients.schemas import ClientExportArgs, ImportJobSchema
from services.clients.service import csv_files, imports

blp = Blueprint("imports", __name__, description="Import of client cards from CSV, and their export")
IMPORT_ENDPOINT = "imports.ClientImport"

_CSV_BODY = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD = {"required": True, "content": {
    "text/csv": _CSV_BODY,
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}


@blp.url_value_preprocessor
def _import_body_limit(endpoint, _values):
    """An upload may be larger than the app-wide body limit (MAX_CONTENT_LENGTH): IMPORT_MAX_BYTES, for this
    route only. Set here because Flask runs URL value preprocessors before every before_request hook, and the
    first of those to read the body (the Idempotency-Key check hashes it) fixes the limit for the request."""
    if endpoint == IMPORT_ENDPOINT and request.method == "POST":
        request.max_content_length = current_settings().import_max_bytes


@blp.route("/clients/import")
class ClientImport(MethodView):
    @accepts_bodies("text/csv", "multipart/form-data")
    @blp.doc(requestBody=_UPLOAD)
    @blp.response(202, ImportJobSchema, headers={"Location": {"description": "the job: /api/v1/imports/{id}",
                                                              "schema": {"type": "string"}}})
    @blp.alt_response(413, description="the file is larger than the body limit")
    def post(self):
        """Queue a CSV of client cards for import (head_of_sales and admin).

        UTF-8 (a BOM is fine), `;` or `,`, a header row of card fields (name and kind required; owner_id an active manager, else the importer).
        The file is checked (encoding, header, CSV syntax) at once; its rows are created by a worker, each as
        a POST /clients would, duplicates by tax_id or e-mail skipped. Follow the job at the Location."""
        filename = None
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                abort(422, message="the multipart body has no `file` part", errors={"file": ["missing"]})
            content, filename = upload.read(), upload.filename
        else:
            content = request.get_data()
        job = imports.queue_import(current_db(), current_principal(), content, filename)
        view = imports.job_view(job)
        return view, 202, {"Location": f"/api/v1/imports/{job.id}"}


@blp.route("/imports/<uuid:job_id>")
class ImportItem(MethodView):
    @blp.response(200, ImportJobSchema)
    def get(self, job_id):
        """An import job: status, progress, counts and per-row problems.

        Seen by its creator and admins; to anyone else it does not exist (404)."""
        return imports.get_import(current_db(), current_principal(), job_id)


@blp.route("/clients/export")
class ClientExport(MethodView):
    @blp.arguments(ClientExportArgs, location="query")
    @blp.doc(responses=export_doc("the clients as CSV (UTF-8 with a BOM, `,`) or XLSX"))
    def get(self, args):
        """Export the client list as CSV or XLSX (head_of_sales and admin).

        The filters and sort of GET /clients, every matching row, streamed: the columns of a card plus id,
        owner_id and created_at; a cell a spreadsheet would run as a formula starts with an apostrophe."""
        rows = csv_files.export_clients(current_db(), current_principal(), args)
        return export_response("clients", args["format"], csv_files.EXPORT_COLUMNS, rows)
