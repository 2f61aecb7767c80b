"""Fixtures of the notifications suite: the app on a fresh database sending to a real SMTP server, callers of
every role, the projections fed through the consumer's handlers, a clock the tests set."""
from tests.support.http import role_fixture
from tests.support.notifications import (clock, db, known_user, mail_dir, mailbox, mailbox_server,  # noqa: F401
                                         notifications, notifications_app, notifications_db_url,
                                         notifications_engine, project, rows, settings)

manager = role_fixture("manager", on="notifications")
other_manager = role_fixture("manager", on="notifications")
head = role_fixture("head_of_sales", on="notifications")
admin = role_fixture("admin", on="notifications")
marketer = role_fixture("marketer", on="notifications")
accountant = role_fixture("accountant", on="notifications")
