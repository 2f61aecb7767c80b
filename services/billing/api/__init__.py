from services.billing.api.deliveries import service_acts_blp, shipments_blp
from services.billing.api.invoices import blp as invoices_blp
from services.billing.api.payments import blp as payments_blp
from services.billing.api.products import blp as products_blp
from services.billing.api.receivables import blp as receivables_blp
from services.billing.api.requisites import blp as requisites_blp
from services.billing.api.statements import blp as statements_blp

BLUEPRINTS = [products_blp, requisites_blp, invoices_blp, shipments_blp, service_acts_blp, payments_blp,
              statements_blp, receivables_blp]
