"""Pictures hdbot draws: the countdown card, charts, before/after, and the CJK font they need."""
