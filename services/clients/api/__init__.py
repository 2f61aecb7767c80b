from services.clients.api.activities import blp as activities_blp
from services.clients.api.campaigns import blp as campaigns_blp
from services.clients.api.clients import blp as clients_blp
from services.clients.api.code_lists import activity_types_blp, channels_blp
from services.clients.api.contacts import blp as contacts_blp
from services.clients.api.imports import blp as imports_blp
from services.clients.api.service_cases import blp as service_cases_blp
from services.clients.api.surveys import blp as surveys_blp

BLUEPRINTS = [clients_blp, contacts_blp, activity_types_blp, activities_blp, channels_blp, campaigns_blp,
              surveys_blp, service_cases_blp, imports_blp]
