from services.clients.api.clients import blp as clients_blp
from services.clients.api.contacts import blp as contacts_blp

BLUEPRINTS = [clients_blp, contacts_blp]
