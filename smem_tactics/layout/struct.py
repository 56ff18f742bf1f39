"""C++ struct layout, declaratively.

A kernel's ``SharedStorage`` is written as a tree of :class:`Struct` nodes and :class:`Field` leaves,
mirroring the C++ declarations: members in order, ``alignas`` on a member, ``aligned_struct<A>`` on a
type. :func:`layout` places them with the ordinary (Itanium) rules -- each member at the next offset
that is a multiple of its alignment, ``sizeof`` rounded up to the struct's alignment -- and returns the
total, the alignment and a breakdown by :class:`Part` in which every byte, padding included, is
accounted for once.

A ``union`` is written as a :class:`Field` whose size and alignment are the largest of its members
(that is all C++ does with one); it is attributed to the part of the member that decides its size.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union


class Part(enum.Enum):
    """Named parts of a footprint breakdown."""

    A = "A"
    B = "B"
    SFA = "SFA"
    SFB = "SFB"
    MAINLOOP_PIPELINE = "mainloop pipeline"
    EPILOGUE_CD = "epilogue C/D"
    FUSION = "fusion storage"
    EPILOGUE_PIPELINE = "epilogue pipeline"
    SCHEDULER = "scheduler pipeline and responses"
    ORDER_BARRIERS = "ordering barriers"
    ACCUMULATOR_PIPELINE = "accumulator pipeline"
    TMEM = "tmem bookkeeping"
    TENSORMAPS = "tensormaps"
    PADDING = "alignment padding"


def align_up(value: int, alignment: int) -> int:
    """Smallest multiple of ``alignment`` that is >= ``value``."""
    return -(-value // alignment) * alignment


@dataclass(frozen=True)
class Field:
    """A leaf member: ``size`` bytes with alignment ``align``, counted under ``part``."""

    name: str
    size: int
    align: int
    part: Part


@dataclass(frozen=True)
class Struct:
    """A struct with members in declaration order.

    ``align`` is the alignment the type itself declares (``aligned_struct<A>`` / ``alignas`` on the type);
    ``member_align`` is an ``alignas(N)`` written on the member that holds this struct in its parent.
    The struct's alignment is the largest of these and its members' alignments.
    """

    name: str
    members: tuple
    align: int = 1
    member_align: int = 1


Node = Union[Field, Struct]


@dataclass(frozen=True)
class Placed:
    """A leaf at its offset in the outermost struct."""

    path: str
    offset: int
    size: int
    part: Part


@dataclass(frozen=True)
class StructLayout:
    size: int
    align: int
    placed: tuple  # of Placed, in address order


def _align_of(node: Node) -> int:
    if isinstance(node, Field):
        return node.align
    inner = max((_align_of(m) for m in node.members), default=1)
    return max(node.align, node.member_align, inner)


def _place(node: Node, base: int, prefix: str, out: list) -> int:
    """Place ``node`` at ``base`` (already aligned); append leaves to ``out``; return its size."""
    if isinstance(node, Field):
        out.append(Placed(prefix + node.name, base, node.size, node.part))
        return node.size
    offset = 0
    for member in node.members:
        offset = align_up(offset, _align_of(member))
        offset += _place(member, base + offset, prefix + node.name + ".", out)
    size = max(offset, 1)  # an empty struct occupies one byte
    return align_up(size, _align_of(node))


def layout(root: Struct) -> StructLayout:
    """Lay out ``root`` and return its size, alignment and placed leaves."""
    placed: list = []
    size = _place(root, 0, "", placed)
    return StructLayout(size, _align_of(root), tuple(placed))


def breakdown(lay: StructLayout) -> dict:
    """Bytes per :class:`Part`; whatever no leaf occupies is :attr:`Part.PADDING`. Sums to ``lay.size``."""
    parts: dict = {}
    used = 0
    for p in lay.placed:
        parts[p.part] = parts.get(p.part, 0) + p.size
        used += p.size
    parts[Part.PADDING] = parts.get(Part.PADDING, 0) + lay.size - used
    return parts


def union(name: str, members: tuple) -> Field:
    """A C++ union of ``Field`` members: the largest size and alignment, rounded to the alignment."""
    align = max(m.align for m in members)
    biggest = max(members, key=lambda m: m.size)
    return Field(name, align_up(max(m.size for m in members), align), align, biggest.part)
