from gateway.identity.models import Base
from glassbox.migrations import run_env

run_env(Base.metadata, "gateway")
