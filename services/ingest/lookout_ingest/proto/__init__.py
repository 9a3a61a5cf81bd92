"""Protobuf messages of the ingest protocols: each .proto with its generated code."""
