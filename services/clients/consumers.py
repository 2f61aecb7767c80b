"""What the clients service consumes: the identity events, projected into `users` (who may own a client or
be given work) by the kit's user handlers (glassbox.users). Run by `glassbox consume clients`; the kit's inbox
skips duplicates."""
from __future__ import annotations

from glassbox.users import (IDENTITY_TOPIC, USER_CREATED, USER_DEACTIVATED, USER_UPDATED,  # noqa: F401
                            user_handlers)
from services.clients.models import User

GROUP = "clients"
TOPICS = (IDENTITY_TOPIC,)

HANDLERS = user_handlers(User)
user_changed, user_deactivated = HANDLERS[USER_CREATED], HANDLERS[USER_DEACTIVATED]
