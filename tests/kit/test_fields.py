"""The schema fields services share."""
import pytest
from marshmallow import Schema, ValidationError

from glassbox.web import Sort, sort_order
from glassbox.web.fields import name


class ListArgs(Schema):
    sort = Sort("name", "created_at", default="-created_at")
    title = name(20)


def test_a_sort_takes_each_column_both_ways_and_has_a_default():
    assert ListArgs().load({})["sort"] == "-created_at"
    assert ListArgs().load({"sort": "name"})["sort"] == "name"
    with pytest.raises(ValidationError):
        ListArgs().load({"sort": "-owner_id"})
    assert ListArgs._declared_fields["sort"].validate.choices == ["name", "-name", "created_at", "-created_at"]
    assert sort_order("-name") == ("name", True) and sort_order("name") == ("name", False)


@pytest.mark.parametrize("title", ["", "   ", "x" * 21])
def test_a_name_has_a_visible_character_and_a_length_limit(title):
    with pytest.raises(ValidationError):
        ListArgs().load({"title": title})
