"""Turn formatted text into what a person sees: plain text plus Bot API entities.

Telegram parses ``parse_mode`` on the server and stores plain text with entities, and it
refuses malformed markup with "can't parse entities". The fake does the same, so a bot that
forgets to escape a user's "<" or a MarkdownV2 "." fails in tests as it would in production.
Entity offsets and lengths count UTF-16 code units, as the Bot API does.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

Entity = dict[str, Any]


class EntityError(ValueError):
    """Formatted text Telegram would refuse; the message follows "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API offsets and length limits."""
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Parse text in a Bot API parse mode into (plain text, entities)."""
    mode = (parse_mode or "").lower()
    if mode == "":
        return text, []
    if mode == "html":
        plain, entities = _HtmlParser(text).result()
    elif mode == "markdownv2":
        plain, entities = _parse_markdown(text, v2=True)
    elif mode == "markdown":
        plain, entities = _parse_markdown(text, v2=False)
    else:
        raise EntityError(f"unsupported parse_mode {parse_mode!r}")
    return plain, entities


def strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, moving entities with the text."""
    stripped = text.rstrip()
    lead = len(stripped) - len(stripped.lstrip())
    if not lead:
        return stripped, _clip(entities, 0, utf16_len(stripped))
    shift = utf16_len(stripped[:lead])
    stripped = stripped[lead:]
    moved = [{**e, "offset": e["offset"] - shift} for e in entities]
    return stripped, _clip(moved, 0, utf16_len(stripped))


def _clip(entities: list[Entity], start: int, end: int) -> list[Entity]:
    clipped = []
    for entity in entities:
        lo = max(entity["offset"], start)
        hi = min(entity["offset"] + entity["length"], end)
        if hi > lo:
            clipped.append({**entity, "offset": lo, "length": hi - lo})
    return clipped


_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


def command_entities(text: str) -> list[Entity]:
    """Find /commands and /command@bot the way Telegram marks them in a person's message."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND.finditer(text)
    ]


# --- HTML ---------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "span": "spoiler",
}


class _HtmlParser(HTMLParser):
    """The Bot API's HTML subset; anything else is refused with Telegram's words."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._text: list[str] = []
        self._length = 0
        self._open: list[tuple[str, Entity]] = []
        self._entities: list[Entity] = []
        self.feed(source)
        self.close()

    def result(self) -> tuple[str, list[Entity]]:
        if self._open:
            tag = self._open[-1][0]
            raise EntityError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self._entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._text), self._entities

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        lines = self._source.split("\n")
        index = sum(len(text) + 1 for text in lines[: line - 1]) + column
        return len(self._source[:index].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _HTML_TAGS.get(tag)
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            kind = None
        if kind is None:
            raise EntityError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: Entity = {"type": kind, "offset": self._length}
        if tag == "a":
            href = attributes.get("href") or ""
            user = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if user:
                entity.update(type="text_mention", user={"id": int(user.group(1))})
            else:
                entity["url"] = href
        elif tag == "code" and self._open and self._open[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self._open[-1][1]["language"] = language
            entity["nested_in_pre"] = True
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self._open.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            expected = f'"</{self._open[-1][0]}>"' if self._open else "nothing"
            raise EntityError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected {expected}, found "</{tag}>"'
            )
        _, entity = self._open.pop()
        entity["length"] = self._length - entity["offset"]
        # <pre><code class="language-x"> is one pre entity in the Bot API, not two.
        if entity.pop("nested_in_pre", False) or not entity["length"]:
            return
        self._entities.append(entity)

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        self._length += utf16_len(data)


# --- Markdown and MarkdownV2 --------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough"}
_V2_MARKERS["||"] = "spoiler"
_V1_MARKERS = {"*": "bold", "_": "italic"}


def _parse_markdown(source: str, *, v2: bool) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 (strict escaping) or legacy Markdown into text and entities."""
    out: list[str] = []
    length = 0
    entities: list[Entity] = []
    open_marks: dict[str, tuple[int, int]] = {}  # marker -> (utf16 offset, byte offset)
    link: tuple[int, int] | None = None
    quote_start: int | None = None
    markers = _V2_MARKERS if v2 else _V1_MARKERS
    escapable = _V2_RESERVED | {"\\"} if v2 else set("_*`[\\")
    i = 0

    def emit(text: str) -> None:
        nonlocal length
        out.append(text)
        length += utf16_len(text)

    def byte_at(index: int) -> int:
        return len(source[:index].encode())

    def close_quote() -> None:
        nonlocal quote_start
        # A quote ends before the line break that ended its last line.
        end = length - (1 if out and out[-1].endswith("\n") else 0)
        if quote_start is not None and end > quote_start:
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": end - quote_start}
            )
        quote_start = None

    while i < len(source):
        char = source[i]
        at_line_start = i == 0 or source[i - 1] == "\n"
        if char == "\\" and i + 1 < len(source) and source[i + 1] in escapable:
            emit(source[i + 1])
            i += 2
            continue
        if v2 and at_line_start:
            if char == ">":
                if quote_start is None:
                    quote_start = length
                i += 1
                continue
            close_quote()
        if char == "`":
            fence = source.startswith("```", i)
            end_marker = "```" if fence else "`"
            start = i + len(end_marker)
            end = _find_unescaped(source, end_marker, start, v2)
            if end < 0:
                raise EntityError(
                    f"Can't find end of the entity starting at byte offset {byte_at(i)}"
                )
            body = source[start:end]
            entity: Entity = {"type": "pre" if fence else "code", "offset": length}
            if fence:
                first, _, rest = body.partition("\n")
                if rest and first and " " not in first:
                    entity["language"] = first
                    body = rest
                elif first == "" and rest:
                    body = rest
            body = re.sub(r"\\([`\\])", r"\1", body) if v2 else body
            emit(body)
            entity["length"] = length - entity["offset"]
            if entity["length"]:
                entities.append(entity)
            i = end + len(end_marker)
            continue
        if char == "[" and link is None:
            link = (length, byte_at(i))
            i += 1
            continue
        if char == "]" and link is not None:
            if not source.startswith("(", i + 1):
                raise EntityError(f"Can't find end of the entity starting at byte offset {link[1]}")
            end = _find_unescaped(source, ")", i + 2, v2)
            if end < 0:
                raise EntityError(f"Can't find end of a URL at byte offset {byte_at(i + 2)}")
            url = re.sub(r"\\([)\\])", r"\1", source[i + 2 : end]) if v2 else source[i + 2 : end]
            if length > link[0]:
                entities.append(
                    {"type": "text_link", "offset": link[0], "length": length - link[0], "url": url}
                )
            link = None
            i = end + 1
            continue
        marker = source[i : i + 2] if source[i : i + 2] in markers else char
        if marker in markers:
            if marker in open_marks:
                offset, _ = open_marks.pop(marker)
                if length > offset:
                    entities.append(
                        {"type": markers[marker], "offset": offset, "length": length - offset}
                    )
            else:
                open_marks[marker] = (length, byte_at(i))
            i += len(marker)
            continue
        if v2 and char in _V2_RESERVED:
            raise EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(char)
        i += 1
    close_quote()
    if open_marks or link is not None:
        starts = [byte for _, byte in open_marks.values()]
        if link is not None:
            starts.append(link[1])
        raise EntityError(f"Can't find end of the entity starting at byte offset {min(starts)}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _find_unescaped(source: str, marker: str, start: int, v2: bool) -> int:
    i = start
    while i < len(source):
        if v2 and source[i] == "\\":
            i += 2
            continue
        if source.startswith(marker, i):
            return i
        i += 1
    return -1
