"""Safe file names, whatever a title or a server says: the one rule the worker names its files by and
the gateway names a zip's entries by.

A name made here is one path component: no separators, no NUL or control or bidi characters,
no leading dots or dashes, no names Windows reserves, at most MAX_NAME_BYTES of UTF-8 with the
extension kept. It lives in the contract because both sides apply it and neither imports the other.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 200
FALLBACK_NAME = "download"
# Characters that are separators or special on some filesystem or shell.
FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00]')
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
)
EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def _visible(ch: str) -> bool:
    # Cc: control characters; Cf: format characters, which include the bidi overrides
    # (U+202E) and zero-width joiners that make a name look like something else.
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def safe_filename(raw: str, default_extension: str = "") -> str:
    """One safe path component made from `raw`, keeping its extension when it has one."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())  # tabs and newlines become spaces
    name = "".join(ch if _visible(ch) else "" for ch in name)
    name = FORBIDDEN.sub("_", name)
    name = name.strip(" .-")
    stem, extension = name, ""
    match = EXTENSION.search(name)
    if match and match.start() > 0:
        stem, extension = name[: match.start()], match.group().lower()
    elif default_extension:
        extension = "." + default_extension.lstrip(".").lower()
    stem = stem.strip(" .-")
    if stem.split(".")[0].lower() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    if not stem:
        stem = FALLBACK_NAME
    stem = _truncate_utf8(stem, MAX_NAME_BYTES - len(extension.encode())).rstrip(" .-") or FALLBACK_NAME
    return stem + extension
