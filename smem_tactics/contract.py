"""The input contract of every entry point: one place per kind of input that checks it.

Every command, public function and plug-in takes its inputs through these checks, so no entry point
re-implements them and all of them fail the same way:

* **Exit codes** (CLI and ``scripts/``): ``0`` answered; ``1`` a negative answer the user asked about (a config
  CUTLASS rejects or that does not fit, a model/oracle mismatch); ``2`` bad input or a broken environment
  (the ``error:`` line says which); ``3`` a bug in smem_tactics (no traceback unless ``SMEM_TACTICS_DEBUG=1``).
* **The ``error:`` line**: ``error: FIELD: GIVEN is not accepted (WHY); allowed: WHAT`` -- the field as the user
  spelled it (``--tokens``, ``tile``, ``configs line 3``), what was given, and what is allowed.
* **What functions raise**: only :class:`~smem_tactics.errors.SmemTacticsError` subclasses --
  :class:`~smem_tactics.errors.ConfigError` for a field outside its type or range (it is also a ``ValueError``),
  :class:`~smem_tactics.errors.UnsupportedConfigError` for a combination CUTLASS rejects, and the environment
  errors (``CutlassTreeError``, ``ProbeError``, ``DeviceError``, ``VersionError``).
* **Resource bounds**: token and expert counts, JSON size and nesting depth, file sizes and integer lengths have
  ceilings (below), so no input makes a command run away in memory or time.
* **Conflicts and empty values** are refused, never resolved silently (:func:`refuse_conflicts`,
  :func:`require_str`).
* **Batches answer per line**: :func:`json_lines` yields one :class:`LineAnswer` per non-blank line, a bad line
  carrying its own error, so one bad line never stops a file.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from .errors import ConfigError

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3

#: Largest token count any problem accepts: 1,048,576 tokens in one step is far beyond any MoE deployment's
#: batch (the largest shipped bucket is 16384), and bounds the routing histogram's work (seconds, not hours).
MAX_TOKENS = 1 << 20
#: Largest expert count (DeepSeek-V3 has 256, Qwen3-Next 512; 4096 leaves room, and bounds routing arrays).
MAX_EXPERTS = 4096
#: Largest top-k.
MAX_TOP_K = 64
#: Largest GEMM extent (N or K) of a problem.
MAX_GEMM_DIM = 1 << 20
#: JSON documents: at most this many bytes and this nesting depth (deeper would hit Python's recursion limit).
MAX_JSON_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
#: Digits of any integer read from text (Python refuses > 4300 digits itself; every real value has < 20).
MAX_INT_DIGITS = 19
#: Bytes of an input file (a config list, a table, a measurement set).
MAX_FILE_BYTES = 64 << 20
#: Shared-memory limits a user may pass (bytes per block): positive, at most 16 MiB.
MAX_LIMIT_BYTES = 1 << 24
#: Rows a listing may print, and worker processes a command may start.
MAX_ROWS = 100_000
MAX_JOBS = 256

T = TypeVar("T")


def _shown(value: Any, width: int = 60) -> Any:
    """A given value as an error message shows it: short, so a megabyte of junk is not echoed back."""
    if isinstance(value, (str, bytes)) and len(value) > width:
        return value[:width] + (b"..." if isinstance(value, bytes) else "...")
    if isinstance(value, (list, tuple, dict)) and len(repr(value)) > width:
        return f"<{type(value).__name__} of {len(value)} items>"
    return value


def bad(field: str, value: Any, allowed: Union[str, Iterable[str]], detail: str = "") -> ConfigError:
    """The one error every check raises: field, what was given (shortened), what is allowed, and why."""
    return ConfigError(field, _shown(value), allowed, detail)


# ---------------------------------------------------------------------------------------------- scalars

def _range_text(lo: Optional[float], hi: Optional[float]) -> str:
    if lo is not None and hi is not None:
        return f"from {lo} to {hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return "any"


def require_int(field: str, value: Any, lo: Optional[int] = None, hi: Optional[int] = None,
                what: str = "an integer") -> int:
    """``value`` as an int in ``[lo, hi]``: an int (not a bool) or a string of at most 19 decimal digits."""
    allowed = f"{what} {_range_text(lo, hi)}".strip()
    if isinstance(value, bool):
        raise bad(field, value, allowed, "a boolean is not a number")
    if isinstance(value, float) and value.is_integer() and abs(value) < 10 ** MAX_INT_DIGITS:
        value = int(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        digits = text.lstrip("+-")
        if not digits.isdigit() or not digits.isascii():
            raise bad(field, value, allowed, "not a whole number")
        if len(digits) > MAX_INT_DIGITS:
            raise bad(field, value, allowed, f"{len(digits)} digits")
        value = int(text)
    if not isinstance(value, int):
        raise bad(field, value, allowed, f"a {type(value).__name__}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise bad(field, value, allowed, "out of range")
    return value


def require_float(field: str, value: Any, lo: Optional[float] = None, hi: Optional[float] = None,
                  what: str = "a number") -> float:
    """``value`` as a finite float in ``[lo, hi]``."""
    allowed = f"{what} {_range_text(lo, hi)}".strip()
    if isinstance(value, bool):
        raise bad(field, value, allowed, "a boolean is not a number")
    if isinstance(value, str):
        if len(value) > 64:
            raise bad(field, value, allowed, "too long")
        try:
            value = float(value)
        except ValueError:
            raise bad(field, value, allowed, "not a number") from None
    if not isinstance(value, (int, float)):
        raise bad(field, value, allowed, f"a {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise bad(field, value, allowed, "not finite")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise bad(field, value, allowed, "out of range")
    return value


def require_str(field: str, value: Any, allowed: str = "a non-empty string", max_len: int = 4096) -> str:
    """``value`` as a non-empty, stripped string (an empty value is refused, never read as 'not given')."""
    if not isinstance(value, str):
        raise bad(field, value, allowed, f"a {type(value).__name__}")
    text = value.strip()
    if not text:
        raise bad(field, value, allowed, "empty")
    if len(text) > max_len or "\x00" in text:
        raise bad(field, value, allowed, "too long" if len(text) > max_len else "contains a NUL byte")
    return text


def require_choice(field: str, value: Any, choices: Iterable[str], aliases: Optional[Mapping[str, str]] = None) -> str:
    """``value`` (case-insensitive, aliases resolved) as one of ``choices``."""
    choices = list(choices)
    text = require_str(field, value, ", ".join(choices)).lower()
    if aliases and text in aliases:
        text = aliases[text]
    if text not in choices:
        raise bad(field, value, choices)
    return text


def require_instance(field: str, value: Any, cls: Union[type, tuple], what: str) -> Any:
    """``value`` if it is a ``cls``; a ConfigError naming ``what`` is expected otherwise."""
    if not isinstance(value, cls):
        raise bad(field, f"<{type(value).__name__}>", what)
    return value


def require_limit_bytes(field: str, value: Any) -> int:
    """A shared-memory limit in bytes per block: a positive integer (an unknown limit is ``None``, not 0 or -1)."""
    return require_int(field, value, 1, MAX_LIMIT_BYTES, "bytes per block, an integer")


# ---------------------------------------------------------------------------------------------- public API arguments
# The public functions take Python values, not text: an int parameter takes an int (not a bool, a float or a
# digit string), a config parameter a KernelConfig. Each public function checks its arguments once, here.

def require_strict_int(field: str, value: Any, lo: Optional[int] = None, hi: Optional[int] = None,
                       what: str = "an integer") -> int:
    """``value`` if it is an ``int`` (a bool, a float or a string is refused) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(field, _shown(value) if isinstance(value, (str, bytes, float, bool)) else f"<{type(value).__name__}>",
                  f"{what} {_range_text(lo, hi)}".strip(), f"a {type(value).__name__}, not an int")
    return require_int(field, value, lo, hi, what)


def require_bool(field: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (``0``, ``1``, ``"false"`` are refused: they are not flags)."""
    if not isinstance(value, bool):
        raise bad(field, _shown(value) if isinstance(value, (str, int, float)) else f"<{type(value).__name__}>",
                  "True or False", f"a {type(value).__name__}")
    return value


def require_config(field: str, value: Any) -> Any:
    """``value`` if it is a :class:`~smem_tactics.config.KernelConfig`."""
    from .config import KernelConfig

    return require_instance(field, value, KernelConfig,
                            "a KernelConfig (KernelConfig.create(...) or KernelConfig.from_dict(...))")


def require_limit(field: str, value: Any, allow_none: bool = False) -> Optional[int]:
    """A shared-memory limit passed to a public function: a positive int of bytes per block (``None`` -- an unknown
    limit, which prunes nothing -- only where ``allow_none``). ``-1`` or ``0`` is refused, never read as a limit
    nothing fits under."""
    if value is None and allow_none:
        return None
    what = "bytes per block, an int" + (" (or None: unknown)" if allow_none else "")
    return require_strict_int(field, value, 1, MAX_LIMIT_BYTES, what)


def require_cutlass(field: str, value: Any, default: Any = None) -> Any:
    """A CUTLASS release (a string such as ``"4.5.0"`` or a :class:`~smem_tactics.versions.CutlassVersion`) as a
    CutlassVersion; ``None`` gives ``default`` (when there is one). An unknown or malformed release is refused
    here, never turned into a verdict of "not modelled" downstream."""
    from .errors import VersionError
    from .versions import CutlassVersion

    if value is None and default is not None:
        return default
    if not isinstance(value, (str, CutlassVersion)):
        raise bad(field, _shown(value) if isinstance(value, (int, float, bool, bytes)) else
                  f"<{type(value).__name__}>", 'a CUTLASS release as a string, e.g. "4.5.0"',
                  f"a {type(value).__name__}")
    if isinstance(value, str):
        require_str(field, value, 'a CUTLASS release, e.g. "4.5.0"', max_len=200)
    try:
        return CutlassVersion.parse(value)
    except VersionError as e:
        raise bad(field, value, "a modelled CUTLASS release such as 4.2.0, 4.5.0 or 4.7.0",
                  str(e).split(": ", 1)[-1]) from None


def require_items(field: str, value: Any, check: Callable[[str, Any], T], max_items: int = 4096,
                  allow_empty: bool = False) -> tuple:
    """A list/tuple/range/set argument, each item passed through ``check(field[i], item)``; a string (a sequence of
    characters, almost always a mistake), a mapping, an iterator or an empty sequence (unless ``allow_empty``) is
    refused."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, range, set, frozenset)):
        raise bad(field, _shown(value) if isinstance(value, (str, bytes)) else f"<{type(value).__name__}>",
                  "a list", f"a {type(value).__name__}")
    items = tuple(sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value)
    if not items and not allow_empty:
        raise bad(field, value, "a non-empty list", "empty")
    if len(items) > max_items:
        raise bad(field, value, f"a list of at most {max_items} items", f"{len(items)} items")
    return tuple(check(f"{field}[{i}]", item) for i, item in enumerate(items))


def csv_values(field: str, text: Optional[str], cast: Callable[[str], T] = str, lo: Optional[int] = None,
               hi: Optional[int] = None, allowed: str = "") -> Optional[list]:
    """A comma list from the command line: ``None`` when not given, never an empty list (``,`` is refused)."""
    if text is None:
        return None
    items = [x.strip() for x in require_str(field, text, allowed or "a comma-separated list").split(",")]
    if not all(items):
        raise bad(field, text, allowed or "a comma-separated list without empty items", "empty item")
    if cast is int:
        return [require_int(field, x, lo, hi) for x in items]  # type: ignore[misc]
    out = []
    for x in items:
        try:
            out.append(cast(x))
        except (ValueError, TypeError) as e:
            raise bad(field, x, allowed or "see --help", str(e)) from None
    return out


# ---------------------------------------------------------------------------------------------- conflicts

def _given(value: Any) -> bool:
    return value is not None and value is not False and value != []


def refuse_conflicts(args: Any, *groups: Sequence[str]) -> None:
    """Refuse two options of one group given together (``args`` is an argparse namespace or a dict).

    Names are attribute names; the message spells them as flags (``png`` -> ``--png``).
    """
    get = args.get if isinstance(args, Mapping) else (lambda k: getattr(args, k, None))
    for group in groups:
        given = [g for g in group if _given(get(g))]
        if len(given) > 1:
            flags = [f"--{g.replace('_', '-')}" for g in given]
            raise bad(" / ".join(flags), " and ".join(flags), f"at most one of {', '.join(flags)}",
                      "conflicting options")


def require_together(args: Any, *names: str) -> None:
    """Refuse a group of options given only in part (all or none)."""
    get = args.get if isinstance(args, Mapping) else (lambda k: getattr(args, k, None))
    given = [n for n in names if _given(get(n))]
    if given and len(given) != len(names):
        flags = [f"--{n.replace('_', '-')}" for n in names]
        missing = [f"--{n.replace('_', '-')}" for n in names if n not in given]
        raise bad(" / ".join(flags), "only " + ", ".join(f"--{g.replace('_', '-')}" for g in given),
                  f"all of {', '.join(flags)} or none", f"missing {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------- JSON

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """Nesting depth of a JSON text, without parsing it (strings skipped)."""
    depth = best = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            best = max(best, depth)
        else:
            depth -= 1
    return best


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_document(field: str, text: Any, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH,
                  expect: Optional[type] = None) -> Any:
    """Parse a JSON text with size, depth and integer-length bounds; ``expect`` (dict/list) checks the top type."""
    what = f"a JSON {'object' if expect is dict else 'array' if expect is list else 'value'}"
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise bad(field, text, f"{what} in UTF-8", f"byte {e.start} is not UTF-8") from None
    if not isinstance(text, str):
        raise bad(field, f"<{type(text).__name__}>", what)
    if len(text) > max_bytes:
        raise bad(field, text, f"{what} of at most {max_bytes} bytes", f"{len(text)} bytes")
    if not text.strip():
        raise bad(field, text, what, "empty")
    depth = json_depth(text)
    if depth > max_depth:
        raise bad(field, text, f"{what} nested at most {max_depth} deep", f"nested {depth} deep")
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise bad(field, text, what, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except (ValueError, RecursionError) as e:
        raise bad(field, text, what, str(e) or type(e).__name__) from None
    if expect is not None and not isinstance(value, expect):
        raise bad(field, text, what, f"a JSON {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------------------------- files

def read_bytes(field: str, path: Any, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file (``-``: standard input), at most ``max_bytes``; OSError becomes a field error."""
    name = require_str(field, path if not isinstance(path, Path) else str(path), "a readable file path, or -")
    if name == "-":
        data = sys.stdin.buffer.read(max_bytes + 1) if hasattr(sys.stdin, "buffer") else \
            sys.stdin.read(max_bytes + 1).encode("utf-8", "surrogateescape")
    else:
        p = Path(name)
        try:
            if p.is_dir():
                raise bad(field, name, "a readable file", "a directory")
            with open(p, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as e:
            raise bad(field, name, "a readable file", e.strerror or str(e)) from None
    if len(data) > max_bytes:
        raise bad(field, name, f"a file of at most {max_bytes} bytes", "larger")
    return data


def read_text(field: str, path: Any, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 text file (``-``: standard input) with the bounds of :func:`read_bytes`."""
    data = read_bytes(field, path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad(field, str(path), "a UTF-8 text file", f"byte {e.start} is not UTF-8") from None


def read_json_file(field: str, path: Any, expect: Optional[type] = dict, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """A JSON file, parsed with the bounds of :func:`json_document` (except size: ``max_bytes``)."""
    return json_document(f"{field} ({path})", read_bytes(field, path, max_bytes), max_bytes=max_bytes, expect=expect)


def write_text(field: str, path: Any, text: str) -> Path:
    """Write a text file; a path that is empty, a directory, or not writable is a field error (never a traceback,
    never the current folder by default)."""
    name = require_str(field, path if not isinstance(path, Path) else str(path), "a writable file path")
    p = Path(name)
    try:
        if p.is_dir():
            raise bad(field, name, "a file path (not a directory)", "a directory")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    except OSError as e:
        raise bad(field, name, "a writable file path", e.strerror or str(e)) from None
    return p


def require_out_dir(field: str, path: Any) -> Path:
    """An output folder: non-empty, not a file; created if missing."""
    name = require_str(field, path if not isinstance(path, Path) else str(path), "a folder path")
    p = Path(name)
    try:
        if p.exists() and not p.is_dir():
            raise bad(field, name, "a folder path", "an existing file")
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise bad(field, name, "a writable folder path", e.strerror or str(e)) from None
    return p


# ---------------------------------------------------------------------------------------------- batches

@dataclass(frozen=True)
class LineAnswer(Generic[T]):
    """One line of a batch input: its number (1-based), and either the parsed value or the error for that line."""

    line: int
    value: Optional[T] = None
    error: Optional[Exception] = None

    @property
    def ok(self) -> bool:
        return self.error is None


def json_lines(field: str, data: Union[bytes, str], parse: Callable[[Any], T],
               expect: Optional[type] = dict) -> Iterator[LineAnswer]:
    """One :class:`LineAnswer` per non-blank, non-``#`` line of a JSON-lines input, in order.

    A line that is not UTF-8, not JSON, too deep, holds a huge integer, or that ``parse`` refuses gets its own
    error (``field line N: ...``); every other line is answered.
    """
    raw_lines = data.split(b"\n") if isinstance(data, bytes) else data.split("\n")
    for number, raw in enumerate(raw_lines, 1):
        where = f"{field} line {number}"
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield LineAnswer(number, error=bad(where, raw, "a UTF-8 line", f"byte {e.start} is not UTF-8"))
                continue
        else:
            text = raw
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        try:
            value = json_document(where, text, expect=expect)
            yield LineAnswer(number, value=parse(value))
        except (ConfigError, ValueError, TypeError) as e:  # UnsupportedConfigError is a ValueError
            yield LineAnswer(number, error=e)


# ---------------------------------------------------------------------------------------------- argparse

def int_arg(lo: Optional[int] = None, hi: Optional[int] = None, what: str = "an integer") -> Callable[[str], int]:
    """An argparse ``type=`` that checks an integer's range (argparse names the flag in its error)."""
    def parse(text: str) -> int:
        try:
            return require_int("value", text, lo, hi, what)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(f"{text!r} is not accepted ({e.detail}); allowed: {e.allowed}") from None
    parse.__name__ = "integer"
    return parse


def float_arg(lo: Optional[float] = None, hi: Optional[float] = None, what: str = "a number") -> Callable[[str], float]:
    """An argparse ``type=`` for a finite number in range."""
    def parse(text: str) -> float:
        try:
            return require_float("value", text, lo, hi, what)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(f"{text!r} is not accepted ({e.detail}); allowed: {e.allowed}") from None
    parse.__name__ = "number"
    return parse


def str_arg(what: str = "a non-empty value") -> Callable[[str], str]:
    """An argparse ``type=`` that refuses an empty string (``--gpu ''`` must not mean 'not given')."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"'' is not accepted (empty); allowed: {what}")
        if "\x00" in text or len(text) > 4096:
            raise argparse.ArgumentTypeError(f"not accepted (too long or a NUL byte); allowed: {what}")
        return text.strip()
    parse.__name__ = "value"
    return parse


__all__ = [
    "EXIT_OK", "EXIT_NEGATIVE", "EXIT_USAGE", "EXIT_BUG", "MAX_TOKENS", "MAX_EXPERTS", "MAX_TOP_K", "MAX_GEMM_DIM",
    "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_INT_DIGITS", "MAX_FILE_BYTES", "MAX_LIMIT_BYTES", "MAX_ROWS", "MAX_JOBS",
    "bad", "require_int", "require_float", "require_str", "require_choice", "require_instance",
    "require_limit_bytes", "require_strict_int", "require_bool", "require_config", "require_limit", "require_items",
    "require_cutlass",
    "csv_values", "refuse_conflicts", "require_together", "json_depth", "json_document",
    "read_bytes", "read_text", "read_json_file", "write_text", "require_out_dir", "LineAnswer", "json_lines",
    "int_arg", "float_arg", "str_arg",
]
