"""The reliability suite's system: every process real (tests/support/system.py) on its own embedded PostgreSQL
and Kafka, started once for the folder, and the figures its tests gather for docs/reliability.md."""
import os

import pytest

from tests.support.reliability import WriteLoad, login, write_report
from tests.support.system import System


@pytest.fixture(scope="package")
def figures():
    gathered: dict = {}
    yield gathered
    if gathered and os.environ.get("GLASSBOX_RELIABILITY_REPORT", "1") != "0":
        write_report(gathered)


@pytest.fixture(scope="package")
def system(workdir):
    built = System(workdir / "reliability-var")
    try:
        built.set_up()
        yield built
    finally:
        built.tear_down()


@pytest.fixture(scope="package")
def head(system) -> dict:
    """The demo head of sales' headers: they read everyone's KPIs."""
    return login(system.urls["gateway"], "head@glassbox.local")


@pytest.fixture
def load(system) -> WriteLoad:
    return WriteLoad(system.urls["gateway"], threads=int(os.environ.get("GLASSBOX_RELIABILITY_THREADS", "3")))
