"""Which K-major A/B shared-memory layouts CuTe cannot slice one stage off (before CUTLASS 4.6).

The SM90 and SM100 mainloops build their TMA atoms from ``SmemLayoutA{}(_,_,_,Int<0>{})`` / ``SmemLayoutB{}(...)``
(``sm90_mma_array_tma_gmma_ss_warpspecialized.hpp``, ``sm100_mma_array_warpspecialized.hpp``, ...). Slicing a
swizzled ``ComposedLayout`` (``cute/swizzle_layout.hpp``, ``slice_and_offset``) composes two projections of the
``Swizzle<B,4,3>`` with the stage mode it removes and one with every mode it keeps; ``composition_impl``
(``cute/layout.hpp``) static_asserts its "Stride Divisibility" / "Shape Divisibility" conditions on the way. For
some K-major 16/32-bit tiles (N = 24, 40, ...; N = 8 or 16 with some stage counts) these fail -- so whether a tile
compiles can depend on the stage count. Emulated here leaf by leaf. From 4.6.0 (``CUTE_SWIZZLED_SMEM_SLICE``)
``cute/pointer_flagged.hpp`` slices such layouts without the projections and every tile slices.
"""

from __future__ import annotations

import functools


def _coalesce(modes: list) -> list:
    out: list = []
    for shape, stride in modes:
        if shape == 1:
            continue
        if out and stride == out[-1][0] * out[-1][1]:
            out[-1] = (out[-1][0] * shape, out[-1][1])
        else:
            out.append((shape, stride))
    return out


@functools.lru_cache(maxsize=None)
def _swizzle_projections(b: int) -> tuple:
    """``swizzle_anti_zy`` and ``swizzle_only_zy`` of ``Swizzle<b,4,3>`` after ``coalesce_x`` (the last mode
    is kept apart: ``composition_impl`` folds over all modes but the last)."""
    m, s = 4, 3
    shapes = (1 << m, 1 << b, 1 << (s - b), 1 << b)
    anti = ((shapes[0], 1), (shapes[1], 0), (shapes[2], 1 << (m + b)), (shapes[3], 0))
    only = ((shapes[0], 0), (shapes[1], 1 << m), (shapes[2], 0), (shapes[3], 1 << (m + s)))
    return tuple(_coalesce(list(anti))), tuple(_coalesce(list(only)))


def _compose_error(lhs: tuple, shape: int, stride: int):
    """The static_assert ``composition_impl(lhs, shape:stride)`` fails, or None."""
    if stride == 0 or shape == 1:
        return None
    rest_shape, rest_stride = shape, stride
    for cur_shape, _ in lhs:
        if rest_stride % cur_shape and rest_stride >= cur_shape:
            return "Stride Divisibility Condition"
        next_shape = -(-cur_shape // rest_stride)
        next_stride = -(-rest_stride // cur_shape)
        if next_shape != 1 and rest_shape != 1:
            new_shape = min(next_shape, rest_shape)
            if rest_shape % new_shape:
                return "Shape Divisibility Condition"
            rest_shape //= new_shape
        rest_stride = next_stride
    return None


def _pow2_error(lhs: tuple, shape: int, stride: int):
    """``to_mixed_bits`` of ``composition(lhs, shape:stride)`` (``cute/swizzle.hpp``): every leaf of the composed
    layout needs shape * stride to be 0 or a power of two ("Requires pow2 shape*stride."), or None."""
    rest_shape, rest_stride = shape, stride
    for cur_shape, cur_stride in lhs:
        next_shape = -(-cur_shape // rest_stride)
        next_stride = -(-rest_stride // cur_shape)
        if next_shape != 1 and rest_shape != 1:
            new_shape = min(next_shape, rest_shape)
            leaf = new_shape * rest_stride * cur_stride
            if leaf and leaf & (leaf - 1):
                return "Requires pow2 shape*stride."
            rest_shape //= new_shape
        rest_stride = next_stride
    return None  # the rest lands on the projection's trailing stride-0 mode


@functools.lru_cache(maxsize=8192)
def kmajor_slice_error(rows: int, k: int, bits: int, k_instr: int, stages: int):
    """Slicing one stage off a K-major operand's smem layout: the atom is 8 rows x W elements (the widest
    SW128/64/32 swizzle W dividing K, ``sm100_smem_selector``), tiled rows first, then K, then stages
    (``UMMA::tile_to_mma_shape``), its K split by the instruction K."""
    kbytes = k * bits // 8
    b = 3 if kbytes % 128 == 0 else 2 if kbytes % 64 == 0 else 1 if kbytes % 32 == 0 else 0
    if b == 0:
        return None  # no INTER atom here: K is a whole number of 32-byte MMA instructions
    w = (16 << b) * 8 // bits
    anti, only = _swizzle_projections(b)
    stage = rows * k
    leaves = ((8, w), (rows // 8, 8 * w), (k_instr, 1), (w // k_instr, k_instr), (k // w, w * rows))
    # slice_and_offset (cute/swizzle_layout.hpp): compose both projections with the diced stage mode, take the
    # stage offset's mixed bits (the pow2 check: rows = 24 with a 128-byte K at 2 or 4 stages, seen compiling
    # SM100 tf32 256x48x32 2-SM kernels against 4.3-4.5), then compose with every mode kept
    return (_compose_error(anti, stages, stage) or _compose_error(only, stages, stage)
            or _pow2_error(only, stages, stage)
            or next((e for e in (_compose_error(only, sh, st) for sh, st in leaves) if e), None))


def sm90_slice_error(cfg, stages: int):
    """CuTe's static_assert message if an SM90 kernel's A or B smem layout cannot be sliced at ``stages``, else None.

    Applied to 32-bit (TF32) operands, where the host build hits it (e.g. N = 16 at 3 stages but not at 8; N = 24,
    40, 48), probe-checked against CUTLASS 4.2.0-4.5.0 (fails) and 4.6.0/4.7.0 (builds); SM90's K-major atoms
    (``ss_smem_selector``) are the same 8-row swizzle atoms, tiled rows, K, stages; GMMA's TF32 instruction K is 8.
    8- and 16-bit SM90 operands are left to the tile rules (their failures show only in device builds)."""
    from ..versions import CUTE_SWIZZLED_SMEM_SLICE

    if cfg.cutlass.has(CUTE_SWIZZLED_SMEM_SLICE) or (cfg.a.bits != 32 and cfg.b.bits != 32):
        return None
    m, n, k = cfg.tile
    return kmajor_slice_error(m, k, cfg.a.bits, 8, stages) or kmajor_slice_error(n, k, cfg.b.bits, 8, stages)
