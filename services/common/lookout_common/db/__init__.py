"""PostgreSQL access: connections, the storage mode, and the versioned schema."""
