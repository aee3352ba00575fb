"""The update intake: how updates arrive, are kept until handled, stay in order, and floods stop."""
