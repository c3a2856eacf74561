"""A local Kids First DataService (HTTP + SQLite) for tests and demos; never production."""

from gwo_assets.sandbox.dataservice.faults import FaultConfig
from gwo_assets.sandbox.dataservice.server import SandboxDataService

__all__ = ["FaultConfig", "SandboxDataService"]
