"""`hdbot demo`: hdbot on this machine, no Telegram or WeCom needed.

A fresh SQLite database is filled with the example campaign (examples/) and a few people,
groups and hidden dangers made by the domain operations (seed.py, dangers.py); the fake Bot
API and the fake WeCom (bot/sandbox/) stand in for Telegram and WeCom; the real bot runs
against them, both fronts; and a chat page (page.py, static/) lets a person in a browser be
one of the cast (cast.py) on either front (sandbox.py starts and stops it all).
"""
