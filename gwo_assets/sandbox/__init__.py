"""Local stand-ins for the DataService and S3, for tests and demos (never production)."""

from gwo_assets.sandbox.dataservice import FaultConfig, SandboxDataService

__all__ = ["FaultConfig", "SandboxDataService"]
