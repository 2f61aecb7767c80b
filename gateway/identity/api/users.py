"""/users: accounts and roles (admins; the head of sales reads)."""
from flask.views import MethodView

from gateway.identity.schemas import UserCreateSchema, UserPageSchema, UserQueryArgs, UserSchema, UserUpdateSchema
from gateway.identity.service import users
from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint

blp = Blueprint("users", __name__, description="Users and their roles")


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserQueryArgs, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List users, with filters, search `q` and sorting."""
        return users.list_users(current_db(), current_principal(), args)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user with their first password; an e-mail already used (in any case) answers 409."""
        return users.create_user(current_db(), current_principal(), data)


@blp.route("/users/<uuid:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        return users.get_user(current_db(), current_principal(), user_id)

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, changes, user_id):
        return users.update_user(current_db(), current_principal(), user_id, changes)


@blp.route("/users/<uuid:user_id>/deactivate")
class UserDeactivate(MethodView):
    @blp.response(200, UserSchema)
    def post(self, user_id):
        """Deactivate: no more logins, refresh tokens revoked, access tokens refused at once."""
        return users.deactivate_user(current_db(), current_principal(), user_id)


@blp.route("/users/<uuid:user_id>/activate")
class UserActivate(MethodView):
    @blp.response(200, UserSchema)
    def post(self, user_id):
        return users.activate_user(current_db(), current_principal(), user_id)
