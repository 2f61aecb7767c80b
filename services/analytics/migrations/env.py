from glassbox.migrations import run_env
from services.analytics.models import Base

run_env(Base.metadata, "analytics")
