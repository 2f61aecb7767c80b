"""The kit's write helpers on a real PostgreSQL: a unique violation maps to its error by the constraint's name,
changes are applied field by field, LIKE patterns take wildcards literally, and a missing row is a 404."""
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from glassbox.db import apply_changes, contains_pattern, load, unique_races, unique_violations
from glassbox.errors import Conflict, NotFound


@pytest.fixture
def connection(clients_db_url):
    engine = create_engine(clients_db_url)
    with engine.connect() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE probes (id uuid PRIMARY KEY, code text, note text,"
                                " CONSTRAINT uq_probes_code UNIQUE (code))"))
        yield connection
        connection.rollback()
    engine.dispose()


def conflict_for(name):
    return {"uq_probes_code": Conflict("code already used", {"code": ["already used"]})}.get(name)


def insert(connection, code, note="x"):
    connection.execute(text("INSERT INTO probes VALUES (:id, :code, :note)"), {"id": uuid.uuid4(), "code": code,
                                                                               "note": note})


def test_a_duplicate_becomes_the_error_its_constraint_maps_to(connection):
    insert(connection, "A-1")
    with pytest.raises(Conflict, match="code already used"):
        with unique_violations(conflict_for):
            insert(connection, "A-1")


def test_a_duplicate_of_an_unmapped_constraint_propagates(connection):
    from sqlalchemy.exc import IntegrityError

    duplicate = uuid.uuid4()
    connection.execute(text("INSERT INTO probes VALUES (:id, 'B', '')"), {"id": duplicate})
    with pytest.raises(IntegrityError):
        with unique_violations(conflict_for):  # the primary key is not mapped: not a 409
            connection.execute(text("INSERT INTO probes VALUES (:id, 'C', '')"), {"id": duplicate})


def test_a_message_that_names_the_constraint_is_not_enough(connection):
    """Mapping goes by the driver's constraint name, never by searching the error text."""
    from sqlalchemy.exc import IntegrityError

    insert(connection, "probes_pkey")  # the error's text names probes_pkey; the violated constraint is uq_probes_code
    with pytest.raises(IntegrityError):
        with unique_violations({"probes_pkey": Conflict("wrong constraint")}.get):
            insert(connection, "probes_pkey")


def test_a_table_of_races_names_the_field_and_the_noun(connection):
    insert(connection, "A-1")
    with pytest.raises(Conflict) as raised:
        with unique_races("probe", {"uq_probes_code": ("code", "already used")}):
            insert(connection, "A-1")
    assert raised.value.message == "probe: code already used; try again"
    assert raised.value.errors == {"code": ["already used"]}


class ProbeBase(DeclarativeBase):
    pass


class Probe(ProbeBase):
    __tablename__ = "probes"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str]


def test_load_gives_the_row_or_a_404_naming_the_noun(connection):
    insert(connection, "A-1")
    session = Session(bind=connection)
    known = connection.execute(text("SELECT id FROM probes")).scalar_one()
    assert load(session, Probe, "probe", known).code == "A-1"
    missing = uuid.uuid4()
    with pytest.raises(NotFound, match=f"probe {missing} not found"):
        load(session, Probe, "probe", missing)


def test_like_patterns_take_wildcards_literally(connection):
    for code in ("50%_off", "500 off", "5\\0"):
        insert(connection, code)
    found = connection.execute(text("SELECT code FROM probes WHERE code LIKE :pattern ORDER BY code"),
                               {"pattern": contains_pattern(" 0%_ ")}).scalars().all()
    assert found == ["50%_off"]
    assert connection.execute(text("SELECT count(*) FROM probes WHERE code LIKE :pattern"),
                              {"pattern": contains_pattern("\\")}).scalar() == 1


def test_only_changed_fields_are_set_and_stamped():
    record = SimpleNamespace(name="Acme", region="EU", updated_at=None)
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert apply_changes(record, {"name": "Acme", "region": "RU"}, now) == ["region"]
    assert (record.region, record.updated_at) == ("RU", now)
    later = datetime(2026, 2, 2, tzinfo=timezone.utc)
    assert apply_changes(record, {"name": "Acme"}, later) == [] and record.updated_at == now
