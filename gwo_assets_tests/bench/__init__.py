"""`make bench`: ingest_gwo on the sandbox against a write floor and a naive loader (see docs/benchmarks.md)."""
