"""The WeCom self-built application (自建应用): its callback, its crypto and its server API.

Transport only: `crypto` seals and opens WeCom's encrypted callbacks, `api` talks to the
server API (tokens, messages, media, template cards), `callback` receives what people send
and hands it on as plain `WeComMessage` data. What to answer is the conversation core's.
"""
