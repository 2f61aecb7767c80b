from services.analytics.api.exports import blp as kpi_exports_blp
from services.analytics.api.fx_rates import blp as fx_rates_blp
from services.analytics.api.kpi import blp as kpi_blp

BLUEPRINTS = [kpi_blp, fx_rates_blp, kpi_exports_blp]
