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
    """A leaf member: ``size`` bytes with alignment ``align``, counted under ``part``.

    A per-stage array (a mainloop operand buffer, its pipeline) sets ``per_stage``: its size at ``S`` stages is
    ``size + per_stage * S`` bytes, at least 1 (an empty array is still an object), rounded up to ``granule``
    (16 for ``array_aligned``). Writing the stage dependence into the declaration lets one struct serve every
    stage count (see :func:`evaluate`).
    """

    name: str
    size: int
    align: int
    part: Part
    per_stage: int = 0
    granule: int = 1

    @property
    def alignment(self) -> int:
        return self.align

    def size_at(self, stages: int) -> int:
        if not self.per_stage:
            return self.size
        n = max(self.size + self.per_stage * stages, 1)
        return -(-n // self.granule) * self.granule


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
        inner = self.align if self.align > self.member_align else self.member_align
        for m in self.members:
            if m.alignment > inner:
                inner = m.alignment
        self.__dict__["alignment"] = inner


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

    __slots__ = ("size", "align", "_leaves", "_stages")

    def __init__(self, size: int, align: int, leaves: list):
        self.size = size
        self.align = align
        self._leaves = leaves  # [(path prefix, Field, offset)] -- paths are built only on request

    @property
    def placed(self) -> tuple:
        st = getattr(self, "_stages", 0)
        return tuple(Placed(prefix + f.name, off, f.size_at(st), f.part) for prefix, f, off in self._leaves)




def _place(node: Node, base: int, prefix: str, out: list, stages: int) -> int:
    """Place ``node`` at ``base`` (already aligned); append leaves to ``out``; return its size."""
    if node.__class__ is Field:
        out.append((prefix, node, base))
        return node.size_at(stages)
    offset = 0
    inner_prefix = prefix + node.name + "."
    for member in node.members:
        a = member.alignment
        offset = -(-offset // a) * a
        offset += _place(member, base + offset, inner_prefix, out, stages)
    size = offset if offset > 0 else 1  # an empty struct occupies one byte
    a = node.alignment
    return -(-size // a) * a


def layout(root: Struct, stages: int = 0) -> StructLayout:
    """Lay out ``root`` at ``stages`` (for per-stage fields) and return its size, alignment and placed leaves."""
    leaves: list = []
    size = _place(root, 0, "", leaves, stages)
    lay = StructLayout(size, root.alignment, leaves)
    lay._stages = stages
    return lay


# -- compiled evaluation ---------------------------------------------------------------------------
# layout() walks the tree; searches evaluate one struct at many stage counts, so the tree is also flattened
# once into begin/leaf/end operations and replayed with plain integer arithmetic. Only the members whose size
# depends on the stage count need replaying: a sub-struct without per-stage fields is folded into one opaque
# leaf of its (constant) size and alignment, and the bytes of every constant leaf are summed once per part.
_BEGIN, _LEAF, _END = 0, 1, 2


def _has_per_stage(node: Node) -> bool:
    if node.__class__ is Field:
        return bool(node.per_stage)
    return any(_has_per_stage(m) for m in node.members)


def _compile(node: Node, ops: list, const: list, top: bool = True) -> None:
    """Append ``node``'s operations to ``ops``; add its constant bytes per part to ``const`` (whose last slot,
    index ``_N_PARTS``, is where constant leaves send their bytes during the replay: it is dropped)."""
    if node.__class__ is Field:
        if node.per_stage:
            ops.append((_LEAF, node.align, node.size, node.per_stage, node.granule, _PART_INDEX[node.part]))
        else:
            const[_PART_INDEX[node.part]] += node.size
            ops.append((_LEAF, node.align, node.size, 0, 0, _N_PARTS))
        return
    if not top and not _has_per_stage(node):
        leaves: list = []
        size = _place(node, 0, "", leaves, 0)
        for _, f, _ in leaves:
            const[_PART_INDEX[f.part]] += f.size
        ops.append((_LEAF, node.alignment, size, 0, 0, _N_PARTS))
        return
    ops.append((_BEGIN, node.alignment, 0, 0, 0, 0))
    for member in node.members:
        _compile(member, ops, const, False)
    ops.append((_END, node.alignment, 0, 0, 0, 0))


def evaluate(root: Struct, stages: int) -> tuple:
    """(sizeof(root), bytes per part index) at ``stages``; identical to :func:`layout` + :func:`breakdown`."""
    compiled = root.__dict__.get("_ops")
    if compiled is None:
        ops, const = [], [0] * (_N_PARTS + 1)
        _compile(root, ops, const)
        compiled = (tuple(ops), const)
        object.__setattr__(root, "_ops", compiled)
    ops, const = compiled
    sums = const[:]
    stack = []
    off = 0
    for kind, a, size, per_stage, granule, part in ops:
        if a > 1:
            off = -(-off // a) * a
        if kind == _LEAF:
            if per_stage:
                size += per_stage * stages
                if size < 1:
                    size = 1
                if granule > 1:
                    size = -(-size // granule) * granule
                sums[part] += size
            off += size
        elif kind == _BEGIN:
            stack.append(off)
            off = 0
        else:
            size = off if off > 0 else 1
            off = stack.pop() + -(-size // a) * a
    sums.pop()
    sums[_PADDING_INDEX] += off - sum(sums)
    return off, sums


_PART_INDEX = {p: i for i, p in enumerate(Part)}
_N_PARTS = len(_PART_INDEX)
_PADDING_INDEX = _PART_INDEX[Part.PADDING]
_PARTS = tuple(Part)


def breakdown(lay: StructLayout) -> dict:
    """Bytes per :class:`Part`; whatever no leaf occupies is :attr:`Part.PADDING`. Sums to ``lay.size``."""
    sums = [0] * len(_PARTS)
    index = _PART_INDEX
    st = getattr(lay, "_stages", 0)
    for _, f, _ in lay._leaves:
        sums[index[f.part]] += f.size_at(st)
    sums[index[Part.PADDING]] += lay.size - sum(sums)
    return {p: n for p, n in zip(_PARTS, sums) if n}


def union(name: str, members: tuple) -> Field:
    """A C++ union of ``Field`` members: the largest size and alignment, rounded to the alignment."""
    align = max(m.align for m in members)
    biggest = max(members, key=lambda m: m.size)
    return Field(name, align_up(max(m.size for m in members), align), align, biggest.part)
