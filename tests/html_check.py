"""Checks of a report's HTML shared by the report tests: structure and references."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Outline(HTMLParser):
    """Counts the elements that matter, checks that every opened element is closed,
    and collects the src and href attributes (every reference to somewhere else)."""

    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "source", "wbr", "area", "base", "embed", "track"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.references: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href")]
        self._in_h2 = tag == "h2"
        if tag == "h2":
            self.headings.append("")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href")]

    def handle_data(self, data):
        if self._in_h2:
            self.headings[-1] += data

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()


def outline(text: str) -> Outline:
    parsed = Outline()
    parsed.feed(text)
    parsed.close()
    return parsed


def external_references(text: str) -> list[str]:
    """Every way the page could fetch something: http(s) src/href, @import, url(...) not to an id in the page."""
    found = [ref for ref in outline(text).references if re.match(r"\s*(?:https?:)?//", ref, re.I)]
    found += re.findall(r"@import[^;]*", text)
    found += [u for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", text) if not u.startswith("#")]
    found += re.findall(r"<(?:script|link|iframe|object|embed)\b[^>]*>", text, re.I)
    return found
