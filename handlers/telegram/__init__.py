"""The Telegram front: updates become plain inputs, one domain operation, the reply rendered."""
