"""Telegram and WeCom on this machine: the fake servers the tests and `hdbot demo` run against.

botapi/ is a Bot API server (people, chats, files, updates) that an unmodified
python-telegram-bot client talks to; wecom/ is WeCom's group-robot webhook and a self-built
application's API, with WeCom's side of the application's callback. The end-to-end tests
act through them as people would; `hdbot demo` (demo/) puts a chat page in front of them.
"""
