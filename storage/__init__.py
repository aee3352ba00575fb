"""Models, domain operations and migrations. Never imports telegram."""
