"""The push side: the minute tick, the outbox sender, and the pacing answers share with it."""
