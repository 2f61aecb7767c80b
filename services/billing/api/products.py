"""/products: the price list. Admins and accountants edit it, everyone reads it; a product is deactivated, never
deleted."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.billing.schemas import (ProductCreateSchema, ProductFields, ProductPageSchema, ProductQueryArgs,
                                      ProductSchema)
from services.billing.service import products

blp = Blueprint("products", __name__, description="The price list: goods and services with their unit, price and "
                                                  "VAT rate")


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(ProductQueryArgs, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args):
        return products.list_products(current_db(), current_principal(), args)

    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    def post(self, data):
        """Add a product; an SKU already used (case-blind) is a 409."""
        return products.create_product(current_db(), current_principal(), data)


@blp.route("/products/<uuid:product_id>")
class ProductItem(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        return products.get_product(current_db(), current_principal(), product_id)

    @blp.arguments(ProductFields)
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        """Change a product; invoices already drafted keep their copy of it."""
        return products.update_product(current_db(), current_principal(), product_id, changes)
