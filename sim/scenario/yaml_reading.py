"""A scenario file read into data, within bounds: what no file, however broken or hostile, can do.

A scenario is a small text file. A path that is not a regular file (a folder,
a named pipe, a device) or that is larger than `MAX_FILE_BYTES` is refused
before it is read; while the YAML is composed, nesting deeper than `MAX_DEPTH`
and aliases (``*name``) that would expand the data past `MAX_VALUES` are
refused at their line, so a "billion laughs" file of ten lines costs nothing.
Every problem names the file, line and column: bytes that are not UTF-8 and
characters YAML forbids are turned from positions into lines, and a calendar
date that does not exist (2025-02-30) is reported at its key.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import errno
import os
import stat
import unicodedata
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError

from sim.errors import ScenarioError
from sim.scenario.messages import echo, located, shorten

MAX_FILE_BYTES = 1_000_000
"""The largest scenario file read (1 MB; the shipped ones are under 10 kB, and reading is slow: ~15 s a MB)."""
MAX_DEPTH = 50
"""The deepest nesting of mappings and lists (a scenario needs 7 levels)."""
MAX_VALUES = 50_000
"""The most keys and values a scenario may hold, each alias counted as the values it repeats (a daily
rate schedule over ten years is 18,000; reaching the limit takes ruamel about 7 s)."""

EXTENSION_PREFIX = "x-"
"""Top-level keys starting with it are ignored: a place for YAML anchors (&name) that streams share."""


class Unreadable(Exception):
    """A path that cannot be opened as a scenario file; the message says why, without the path
    (the caller places it: the file named on the command line, or the `extends:` that names it)."""


def read_text(path: Path, source: str) -> str:
    """The text of the scenario file at `path` (`source` names it in messages).

    Raises
    ------
    Unreadable
        When the path cannot be opened, is not a regular file, or is too large.
    ScenarioError
        When its bytes are not UTF-8 text (at the line and column of the first bad byte).
    """
    try:  # O_NONBLOCK: opening a named pipe must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except ValueError:
        raise Unreadable("the path holds a NUL character") from None
    except OSError as err:
        raise Unreadable(_open_failure(err)) from None
    try:
        _refuse_unless_a_small_file(os.fstat(fd))
    except Unreadable:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        raise Unreadable(_too_large(len(raw)))
    return _decoded(raw, source)


def parse_yaml(text: str, source: str,
               expected: str = "a scenario must be a mapping of keys (version, name, ...)") -> dict:
    """The data of scenario text (or of a sweep's grid, with its own `expected`): a mapping whose keys
    and items know their line and column, with the `x-` keys (anchors to share) removed."""
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _Constructor
    try:
        data = yaml.load(text)
    except _Refused as err:
        raise ScenarioError([f"{source}:{err.mark.line + 1}:{err.mark.column + 1}: {err}"]) from None
    except ReaderError as err:
        character = chr(err.character) if isinstance(err.character, int) else "?"
        name = unicodedata.name(character, "a control character")
        raise ScenarioError([f"{source}:{_line_column(text, err.position)}: not valid YAML: the character "
                             f"U+{ord(character):04X} ({name}) may not be written in a YAML file"]) from None
    except MarkedYAMLError as err:
        opened = str(err.context or "").startswith("while scanning a quoted scalar")
        mark = (err.context_mark if opened else None) or err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError([f"{where}: not valid YAML: {shorten(str(err.problem or err.context))}"]) from None
    except Exception as err:  # ruamel raises a few unmarked errors
        raise ScenarioError([f"{source}: not valid YAML: {shorten(str(err))}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}:1:1: {expected}"])
    for key in [k for k in data if isinstance(k, str) and k.startswith(EXTENSION_PREFIX)]:
        del data[key]
    problems = [located(source, data, loc, f"{echo(str(day))} is not a day of the calendar: {day.reason}")
                for loc, day in _days_that_do_not_exist(data, (), set())]
    if problems:
        raise ScenarioError(problems)
    return data


def _decoded(raw: bytes, source: str) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ScenarioError([f"{source}: UTF-16 (or UTF-32) text, not UTF-8: save the file as UTF-8"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[line_start:err.start].decode("utf-8")) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        raise ScenarioError([f"{source}:{line}:{column}: not UTF-8 text: the byte 0x{raw[err.start]:02x} "
                             f"({err.reason}); save the file as UTF-8"]) from None


def _line_column(text: str, position: int) -> str:
    """``line:column`` (1-based) of a character position in `text`."""
    line_start = text.rfind("\n", 0, position) + 1
    return f"{text.count(chr(10), 0, position) + 1}:{position - line_start + 1}"


_OPEN_FAILURES = {errno.ENOENT: "no such file", errno.ELOOP: "a loop of symbolic links",
                  errno.ENAMETOOLONG: "the file name is too long", errno.EACCES: "permission denied",
                  errno.ENOTDIR: "a part of the path is a file, not a folder"}


def _refuse_unless_a_small_file(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(f"not a file but {_file_kind(info.st_mode)}")
    if info.st_size > MAX_FILE_BYTES:
        raise Unreadable(_too_large(info.st_size))


def _open_failure(err: OSError) -> str:
    return _OPEN_FAILURES.get(err.errno or 0) or (err.strerror or str(err)).lower()


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def _too_large(size: int) -> str:
    return (f"{size / 1e6:,.1f} MB, larger than a scenario file may be ({MAX_FILE_BYTES / 1e6:g} MB; "
            f"a scenario is a few kB)")


class _Refused(Exception):
    """A problem met while composing or constructing the YAML, at `mark` (line and column)."""

    def __init__(self, message: str, mark):
        super().__init__(message)
        self.mark = mark


class _BoundedComposer(Composer):
    """ruamel's composer, counting values as they are composed: an alias counts as the values
    of its anchor (so nested aliases multiply), and too many, or too deep, are refused."""

    def __init__(self, loader=None):
        super().__init__(loader)
        self.values = 0
        self.anchored_sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:  # (an unknown alias is ruamel's error)
                size = self.anchored_sizes.get(id(anchored))
                if size is None:
                    raise _Refused(f"the alias *{shorten(event.anchor)} is inside its own anchor: a value "
                                   "cannot contain itself", event.start_mark)
                self._count(size, event)
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep (a scenario needs fewer than 10): "
                           "is a bracket or an indentation wrong?", event.start_mark)
        before = self.values
        self._count(1, event)
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None) is not None:
            self.anchored_sizes[id(node)] = self.values - before
        return node

    def _count(self, values: int, event) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            what = (f"the alias *{shorten(event.anchor)} repeats {values:,} values and takes the scenario past "
                    f"{MAX_VALUES:,} keys and values (aliases within aliases multiply)" if isinstance(event, AliasEvent)
                    else f"the scenario holds more than {MAX_VALUES:,} keys and values")
            raise _Refused(f"{what}; a scenario holds a few hundred", event.start_mark)


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor with messages for people: a duplicate key without its
    (possibly huge) value, a date that does not exist kept for `parse_yaml` to report at its
    key, any other value that cannot be built at its line."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as err:
            if "digits" in str(err) and str(node.tag).endswith(":int"):
                message = f"a number of {len(node.value):,} digits, too large for any value of a scenario"
            else:
                message = f"cannot read {echo(node.value)} ({shorten(str(err))})"
            raise _Refused(f"not valid YAML: {message}", node.start_mark) from None

    def check_mapping_key(self, node, key_node, mapping, key, value) -> bool:
        if key not in mapping:
            return True
        first = ""
        try:
            first = f" (first at line {mapping.lc.key(key)[0] + 1})"
        except (AttributeError, KeyError, TypeError):
            pass
        raise _Refused(f"not valid YAML: the key {echo(key)} is written twice in this mapping{first}",
                       key_node.start_mark)

    def construct_yaml_timestamp(self, node, values=None):
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError as err:
            return _NoSuchDay(node.value, _why_no_such_day(node.value, err))


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


class _NoSuchDay(str):
    """A date as written (e.g. 2025-02-30) that the calendar does not have, and why."""

    reason: str

    def __new__(cls, text: str, reason: str):
        made = super().__new__(cls, text)
        made.reason = reason
        return made


def _why_no_such_day(text: str, error: ValueError) -> str:
    try:
        year, month, day = (int(part) for part in text[:10].split("-"))
    except ValueError:
        return str(error)
    if not 1 <= month <= 12:
        return f"there is no month {month} (dates are written YYYY-MM-DD)"
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return f"years go from {dt.MINYEAR} to {dt.MAXYEAR}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days (dates are written YYYY-MM-DD)"
    return shorten(str(error))


def _days_that_do_not_exist(node, loc: tuple, seen: set[int]):
    """(key path, text) of every date that does not exist; a value repeated by aliases once."""
    seen.add(id(node))
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        if isinstance(value, _NoSuchDay):
            yield loc + (key,), value
        elif isinstance(value, (dict, list)) and id(value) not in seen:
            yield from _days_that_do_not_exist(value, loc + (key,), seen)
