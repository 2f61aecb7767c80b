"""/commission-schemes: how commission is paid, in versions valid from the first day of a month. The head of
sales and admins create and change them (a change is a new version, never an edit of an old one); a manager
reads the scheme that applies to them. Answers carry an ETag (the revision); changes take an optional If-Match."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.settings import current_settings
from glassbox.web import Blueprint, if_match_versions, version_etag
from services.deals.plan_schemas import (CommissionSchemeCreateSchema, CommissionSchemePageSchema,
                                         CommissionSchemeQueryArgs, CommissionSchemeSchema,
                                         CommissionSchemeUpdateSchema, SchemeVersionCreateSchema)
from services.deals.service import commission_schemes as schemes

blp = Blueprint("commission_schemes", __name__,
                description="Commission schemes: tiers of plan attainment with rates, a deal bonus, and whom they "
                            "apply to, in versions valid from a month on")


def _tagged(scheme):
    return scheme, version_etag(scheme.revision)


@blp.route("/commission-schemes")
class CommissionSchemes(MethodView):
    @blp.arguments(CommissionSchemeQueryArgs, location="query")
    @blp.response(200, CommissionSchemePageSchema)
    def get(self, args):
        """List schemes (a manager: the one that applies to them)."""
        return schemes.list_commission_schemes(current_db(), current_principal(), args)

    @blp.arguments(CommissionSchemeCreateSchema)
    @blp.response(201, CommissionSchemeSchema)
    def post(self, data):
        """Create a scheme with its first version. A manager or team already assigned to another scheme is a 409
        `already_assigned`; a `valid_from` before this month a 409 `period_closed`."""
        return _tagged(schemes.create_commission_scheme(current_db(), current_principal(), data,
                                                        current_settings().company_currency))


@blp.route("/commission-schemes/<uuid:scheme_id>")
class CommissionSchemeItem(MethodView):
    @blp.response(200, CommissionSchemeSchema)
    def get(self, scheme_id):
        return _tagged(schemes.get_commission_scheme(current_db(), current_principal(), scheme_id))

    @blp.arguments(CommissionSchemeUpdateSchema)
    @blp.response(200, CommissionSchemeSchema)
    def patch(self, changes, scheme_id):
        """Rename the scheme (what it pays changes through a new version)."""
        return _tagged(schemes.rename_commission_scheme(current_db(), current_principal(), scheme_id, changes,
                                                        if_match_versions()))


@blp.route("/commission-schemes/<uuid:scheme_id>/versions")
class CommissionSchemeVersions(MethodView):
    @blp.arguments(SchemeVersionCreateSchema)
    @blp.response(201, CommissionSchemeSchema)
    def post(self, data, scheme_id):
        """Add a version from `valid_from` (this month or later, after the latest version's); manager_ids and
        team_ids default to the previous version's. Answers the whole scheme."""
        return _tagged(schemes.add_scheme_version(current_db(), current_principal(), scheme_id, data,
                                                  current_settings().company_currency, if_match_versions()))
