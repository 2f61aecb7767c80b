"""Contacts: the people at a client."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint, PageArgs
from services.clients.schemas import ContactCreateSchema, ContactPageSchema, ContactSchema, ContactUpdateSchema
from services.clients.service import contacts

blp = Blueprint("contacts", __name__, description="Contacts of a client")


@blp.route("/clients/<uuid:client_id>/contacts")
class ClientContacts(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ContactPageSchema)
    def get(self, args, client_id):
        return contacts.list_contacts(current_db(), current_principal(), client_id, args)

    @blp.arguments(ContactCreateSchema)
    @blp.response(201, ContactSchema)
    def post(self, data, client_id):
        return contacts.create_contact(current_db(), current_principal(), client_id, data)


@blp.route("/contacts/<uuid:contact_id>")
class ContactItem(MethodView):
    @blp.response(200, ContactSchema)
    def get(self, contact_id):
        return contacts.get_contact(current_db(), current_principal(), contact_id)

    @blp.arguments(ContactUpdateSchema)
    @blp.response(200, ContactSchema)
    def patch(self, changes, contact_id):
        return contacts.update_contact(current_db(), current_principal(), contact_id, changes)

    @blp.response(204)
    def delete(self, contact_id):
        contacts.delete_contact(current_db(), current_principal(), contact_id)
