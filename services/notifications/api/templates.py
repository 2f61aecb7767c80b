"""/templates: e-mail templates (Jinja2, sandboxed) and their preview (marketing, heads of sales, admins)."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.notifications.schemas import (PreviewSchema, RenderedSchema, TemplateCreateSchema, TemplatePageSchema,
                                            TemplateQueryArgs, TemplateSchema, TemplateUpdateSchema)
from services.notifications.service import templates

blp = Blueprint("templates", __name__, description="E-mail templates: a template that does not render is a 422 "
                                                   "naming the line")


@blp.route("/templates")
class Templates(MethodView):
    @blp.arguments(TemplateQueryArgs, location="query")
    @blp.response(200, TemplatePageSchema)
    def get(self, args):
        return templates.list_templates(current_db(), current_principal(), args)

    @blp.arguments(TemplateCreateSchema)
    @blp.response(201, TemplateSchema)
    def post(self, data):
        """Checked by rendering it for the sample client."""
        return templates.create_template(current_db(), current_principal(), data)


@blp.route("/templates/<uuid:template_id>")
class TemplateItem(MethodView):
    @blp.response(200, TemplateSchema)
    def get(self, template_id):
        return templates.get_template(current_db(), current_principal(), template_id)

    @blp.arguments(TemplateUpdateSchema)
    @blp.response(200, TemplateSchema)
    def patch(self, changes, template_id):
        return templates.update_template(current_db(), current_principal(), template_id, changes)

    @blp.response(204)
    def delete(self, template_id):
        """Only a template no mailing used (409 otherwise)."""
        templates.delete_template(current_db(), current_principal(), template_id)


@blp.route("/templates/<uuid:template_id>/preview")
class TemplatePreview(MethodView):
    @blp.arguments(PreviewSchema)
    @blp.response(200, RenderedSchema)
    def post(self, args, template_id):
        """The template rendered for a client (and deal) of the projection, or for the sample client."""
        return templates.preview(current_db(), current_principal(), template_id, args)
