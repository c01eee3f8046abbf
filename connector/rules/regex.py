"""The rules' `matches` patterns, run by RE2: time linear in the text, whatever the pattern.

CONTRACT.md §3 says a pattern is a Python regex. Python's engine backtracks, so one pattern such
as ``(a+)+$`` and a 41-character job title from a web form could stall a sync for hours. RE2
(google-re2) never backtracks; it refuses what it cannot run in linear time (backreferences,
lookarounds, atomic groups, possessive repeats), and such a pattern is refused when the rules are
loaded, with what to write instead.

A pattern must be valid Python first (the contract's syntax); it is then translated so that what
both engines accept means what Python means:

- ``\\d``, ``\\w``, ``\\s`` (and ``\\D``, ``\\W``, ``\\S``) are Unicode classes, as in Python
  (RE2's are ASCII): ``\\w`` matches ``é``.
- ``$`` (without ``(?m)``) also matches before a final newline, as in Python; ``\\Z`` is the very
  end.

What stays different is documented in README ("Where the contract is silent"): ``\\b`` and ``\\B``
see ASCII letters, digits and ``_`` only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from collections.abc import Callable
from typing import Any

import re2

__all__ = ["PatternError", "compile_pattern"]

# Python's \w is str.isalnum() or "_": letters (L*) and numbers (N*).
_WORD = r"\p{L}\p{N}_"
# Python's \s is str.isspace(): ASCII space, \t\n\v\f\r, \x1c-\x1f, \x85 and the Unicode spaces.
_SPACE = r"\t\n\x{0b}\f\r \x{1c}-\x{1f}\x{85}\p{Z}"
_DIGIT = r"\p{Nd}"

_OUTSIDE = {
    "d": _DIGIT,
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",
}
_INSIDE = {"d": _DIGIT, "w": _WORD, "s": _SPACE}

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own parse errors on standard error
_OPTIONS.max_mem = 8 << 20  # a pattern whose program needs more is refused, not run slowly

_MEMO = 4096
_MEMO_TEXT = 256

_HINTS = (
    ("invalid escape sequence: \\", "backreferences (\\1) cannot be used; match each part on its own"),
    ("invalid perl operator: (?P", "backreferences ((?P=name)) cannot be used; match each part on its own"),
    ("invalid perl operator: (?=", "lookaheads cannot be used; match what follows, or use `all`"),
    ("invalid perl operator: (?!", "negative lookaheads cannot be used; use `not: {field: …, matches: …}`"),
    ("invalid perl operator: (?<", "lookbehinds cannot be used; match what precedes, or use `all`"),
    ("invalid perl operator: (?>", "atomic groups cannot be used; write a plain group (?:...)"),
    ("invalid perl operator: (?(", "conditional groups cannot be used; split the pattern with `any`"),
    ("invalid perl operator: (?", "only the inline flags (?i), (?m), (?s) can be used; (?x) and (?a) cannot"),
    ("bad repetition operator", "possessive repeats (a*+, a++) cannot be used; write a*, a+"),
    ("invalid repetition size", "a repeat count may be at most 1000, e.g. a{1,1000}"),
    ("pattern too large", "the pattern is too large; shorten it or split it with `any`"),
)


class PatternError(ValueError):
    """A pattern Python or RE2 cannot run; the message says what to do."""


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A search test for ``pattern`` (Python syntax, run by RE2); raise PatternError."""
    try:
        with warnings.catch_warnings():  # "possible nested set": Python's own future, not ours
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"bad regular expression {pattern!r}: {exc}") from None
    except (RecursionError, OverflowError, MemoryError):
        raise PatternError(f"regular expression {pattern!r} is too complex; simplify it") from None
    translated = _translate(pattern)
    try:
        compiled: Any = re2.compile(translated, _OPTIONS)
    except re2.error as exc:
        raise PatternError(_explain(pattern, exc)) from None
    search = compiled.search
    # RE2 costs some microseconds a call more than Python's re (its binding encodes the text to
    # UTF-8 and builds match objects); the same short values (job titles, countries) come back
    # again and again, so their answers are kept, up to _MEMO of them a pattern.
    memo: dict[str, bool] = {}

    def test(text: str) -> bool:
        found = memo.get(text)
        if found is None:
            found = search(text) is not None
            if len(text) <= _MEMO_TEXT:
                if len(memo) >= _MEMO:
                    memo.clear()
                memo[text] = found
        return found

    return test


def _explain(pattern: str, exc: Exception) -> str:
    detail = exc.args[0] if exc.args else str(exc)
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    what = next((hint for key, hint in _HINTS if key in text), "rewrite it without it")
    return (
        f"regular expression {pattern!r} cannot run in linear time ({text}); {what}"
        " (leadsync runs patterns with RE2, see README)"
    )


def _translate(pattern: str) -> str:
    """``pattern`` for RE2 with Python's meaning (module docstring); Python has parsed it."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            text, i = _escape(pattern, i, in_class)
            out.append(text)
            continue
        if in_class:
            # A ] right after [ or [^ is a literal, in Python's syntax and in RE2's.
            if ch == "]" and i > class_start:
                in_class = False
            out.append("\\[" if ch == "[" else ch)  # Python has no [:alpha:] classes
        elif ch == "[":
            in_class = True
            class_start = i + 1
            if class_start < n and pattern[class_start] == "^":
                class_start += 1
            out.append(pattern[i:class_start])
            i = class_start
            continue
        elif pattern.startswith("(?#", i):
            i = pattern.index(")", i) + 1  # a comment
            continue
        elif ch == "{" and (match := _NO_LOWER.match(pattern, i)):
            out.append("{0," + match.group(1) + "}")  # Python reads {,n} as {0,n}
            i = match.end()
            continue
        elif ch == "$":
            # Python: the end, or before a final newline; RE2 (without (?m)): the end only.
            out.append(r"(?:$|\n\z)")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_NO_LOWER = re.compile(r"\{,(\d+)\}")
_CODE_POINT = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|N\{([^}]*)\})")


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The RE2 text for the escape at ``pattern[i]``, and where the pattern goes on."""
    nxt = pattern[i + 1]
    if in_class and nxt in _INSIDE:
        return _INSIDE[nxt], i + 2
    if in_class and nxt in "DWS":
        raise PatternError(
            f"regular expression {pattern!r}: `\\{nxt}` inside [...] cannot be used;"
            f" write (?:\\{nxt}|[...]) instead (leadsync runs patterns with RE2, see README)"
        )
    if not in_class and nxt in _OUTSIDE:
        return _OUTSIDE[nxt], i + 2
    match = _CODE_POINT.match(pattern, i)
    if match:
        hex_code, long_code, name = match.groups()
        code = int(hex_code or long_code, 16) if name is None else ord(unicodedata.lookup(name))
        return f"\\x{{{code:x}}}", match.end()
    return pattern[i : i + 2], i + 2
