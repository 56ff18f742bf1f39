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

    @property
    def alignment(self) -> int:
        return self.align


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

    def __post_init__(self):
        # computed once: layout() asks every node for its alignment
        inner = max((m.alignment for m in self.members), default=1)
        object.__setattr__(self, "alignment", max(self.align, self.member_align, inner))


Node = Union[Field, Struct]


@dataclass(frozen=True)
class Placed:
    """A leaf at its offset in the outermost struct."""

    path: str
    offset: int
    size: int
    part: Part


class StructLayout:
    """Size and alignment of a laid-out struct; :attr:`placed` lists the leaves at their offsets."""

    __slots__ = ("size", "align", "_leaves")

    def __init__(self, size: int, align: int, leaves: list):
        self.size = size
        self.align = align
        self._leaves = leaves  # [(path prefix, Field, offset)] -- paths are built only on request

    @property
    def placed(self) -> tuple:
        return tuple(Placed(prefix + f.name, off, f.size, f.part) for prefix, f, off in self._leaves)


def _place(node: Node, base: int, prefix: str, out: list) -> int:
    """Place ``node`` at ``base`` (already aligned); append leaves to ``out``; return its size."""
    if node.__class__ is Field:
        out.append((prefix, node, base))
        return node.size
    offset = 0
    inner_prefix = prefix + node.name + "."
    for member in node.members:
        a = member.alignment
        offset = -(-offset // a) * a
        if member.__class__ is Field:
            out.append((inner_prefix, member, base + offset))
            offset += member.size
        else:
            offset += _place(member, base + offset, inner_prefix, out)
    size = offset if offset > 0 else 1  # an empty struct occupies one byte
    a = node.alignment
    return -(-size // a) * a


def layout(root: Struct) -> StructLayout:
    """Lay out ``root`` and return its size, alignment and placed leaves."""
    leaves: list = []
    size = _place(root, 0, "", leaves)
    return StructLayout(size, root.alignment, leaves)


_PART_INDEX = {p: i for i, p in enumerate(Part)}
_PARTS = tuple(Part)


def breakdown(lay: StructLayout) -> dict:
    """Bytes per :class:`Part`; whatever no leaf occupies is :attr:`Part.PADDING`. Sums to ``lay.size``."""
    sums = [0] * len(_PARTS)
    index = _PART_INDEX
    for _, f, _ in lay._leaves:
        sums[index[f.part]] += f.size
    sums[index[Part.PADDING]] += lay.size - sum(sums)
    return {p: n for p, n in zip(_PARTS, sums) if n}


def union(name: str, members: tuple) -> Field:
    """A C++ union of ``Field`` members: the largest size and alignment, rounded to the alignment."""
    align = max(m.align for m in members)
    biggest = max(members, key=lambda m: m.size)
    return Field(name, align_up(max(m.size for m in members), align), align, biggest.part)
