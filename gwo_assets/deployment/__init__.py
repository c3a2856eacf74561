"""What a Dagster deployment of gwo_assets plugs into its instance (see deploy/dagster.yaml)."""
