"""Telegram handlers: parse the update, call one domain operation, render the reply."""
