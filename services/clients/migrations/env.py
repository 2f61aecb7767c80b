from glassbox.migrations import run_env
from services.clients.models import Base

run_env(Base.metadata, "clients")
