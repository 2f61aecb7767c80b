"""Access rules: deny by default, and owners-only roles see only their own records (another's is a 404)."""
import uuid

import pytest
from sqlalchemy import Column, MetaData, Table, Uuid, select

from glassbox.auth import Principal
from glassbox.errors import Forbidden, NotFound
from glassbox.policy import Visibility, require

VISIBILITY = Visibility(own_only=("manager",))
records = Table("records", MetaData(), Column("owner_id", Uuid), Column("assignee_id", Uuid))
me, someone = Principal(str(uuid.uuid4()), "manager"), Principal(str(uuid.uuid4()), "head_of_sales")


def test_a_role_not_named_is_refused_with_a_403():
    require(me, "manager", "admin")
    with pytest.raises(Forbidden, match="the manager role may not do this"):
        require(me, "admin")


def test_an_owners_only_role_sees_its_own_records_and_others_see_all():
    assert VISIBILITY.can_see(me, uuid.uuid4(), me.id) and not VISIBILITY.can_see(me, uuid.uuid4(), None)
    assert VISIBILITY.sees_all(someone) and VISIBILITY.can_see(someone, uuid.uuid4())


def test_another_owner_s_record_is_a_404_not_a_403():
    with pytest.raises(NotFound, match="no such record"):
        VISIBILITY.ensure(me, uuid.uuid4(), message="no such record")
    VISIBILITY.ensure(someone, uuid.uuid4(), message="no such record")


def test_a_list_is_narrowed_to_any_of_the_owner_columns():
    narrowed = str(VISIBILITY.narrow(select(records), me, records.c.owner_id, records.c.assignee_id))
    assert "records.owner_id = :owner_id_1 OR records.assignee_id = :assignee_id_1" in narrowed
    assert VISIBILITY.narrow(select(records), someone, records.c.owner_id).whereclause is None
