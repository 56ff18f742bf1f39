"""SM100 (B200) grouped / ptr-array kernels: sizes and rejections measured with the host-only probe against the
CUTLASS release named in each case (``sizeof(GemmKernel::SharedStorage)`` and the mainloop stage count)."""

import pytest

from smem_tactics import KernelConfig, footprint
from smem_tactics.errors import UnsupportedConfigError

NVF4_1SM = "KernelPtrArrayTmaWarpSpecialized1SmNvf4Sm100"
NVFP4_OUT = {"op": "LinCombBlockScaleFactor", "sf_vector": 16, "sf_layout": "row", "sf_type": "ue4m3"}

MEASURED = [
    # (config kwargs, cutlass, bytes, stages)
    (dict(a="nvfp4", d="bf16", tile=(128, 128, 256), kernel_schedule=NVF4_1SM,
          epilogue_schedule="PtrArrayTmaWarpSpecialized1Sm"), "4.2.0", 202752, 5),
    (dict(a="nvfp4", d="bf16", tile=(128, 128, 256), kernel_schedule=NVF4_1SM,
          epilogue_schedule="PtrArrayTmaWarpSpecialized1Sm"), "4.5.0", 206336, 5),
    (dict(a="nvfp4", d="bf16", tile=(128, 128, 256), kernel_schedule=NVF4_1SM,
          epilogue_schedule="PtrArrayTmaWarpSpecialized1Sm", mode="ptr_array"), "4.5.0", 202752, 5),
    (dict(a="nvfp4", d="bf16", tile=(128, 128, 64)), "4.2.0", 230912, 23),
    (dict(a="nvfp4", d="bf16", tile=(128, 128, 192)), "4.2.0", 211968, 7),
    (dict(a="mxfp4", d="bf16", tile=(128, 128, 128), kernel_schedule="KernelPtrArrayTmaWarpSpecialized1SmMxf8f6f4Sm100"),
     "4.2.0", 221184, 6),
    (dict(a="mxfp6_e2m3", b="mxfp6_e3m2", c="bf16", d="bf16", tile=(256, 192, 128), cluster=(2, 1, 1)),
     "4.2.0", 203776, 5),
    (dict(a="bf16", d="bf16", tile=(128, 16, 64), cluster=(2, 1, 1)), "4.2.0", 225024, 24),
    (dict(a="bf16", c="bf16", d="bf16", tile=(128, 32, 64), cluster=(2, 1, 1)), "4.2.0", 225280, 21),
    (dict(a="bf16", d="bf16", tile=(64, 48, 64)), "4.2.0", 222720, 15),
    (dict(a="bf16", d="bf16", tile=(128, 128, 64), epilogue_tile=(64, 16), kernel_schedule="KernelPtrArrayTmaWarpSpecialized1SmSm100",
          epilogue_schedule="PtrArrayTmaWarpSpecialized1Sm"), "4.2.0", 202240, 6),
    (dict(a="e4m3", b="e5m2", d="f32", layout_cd="col", tile=(64, 64, 128)), "4.2.0", 231424, 13),
    (dict(a="e4m3", c="f32", d="f32", layout_cd="col", tile=(128, 128, 128), cluster=(2, 1, 1)), "4.2.0", 231424, 12),
    (dict(a="f32", d="f32", tile=(128, 64, 32)), "4.2.0", 232448, 8),
    (dict(a="f32", d="bf16", tile=(256, 128, 16), cluster=(2, 1, 1)), "4.2.0", 227328, 17),
    (dict(a="bf16", c="e4m3", d="e4m3", tile=(64, 256, 64), stages=2), "4.2.0", 108032, 2),
    (dict(a="bf16", tile=(64, 8, 64), stages=4), "4.2.0", 39040, 4),
    (dict(a="bf16", tile=(64, 8, 64), stages=4), "4.7.0", 41472, 4),
    (dict(a="bf16", tile=(64, 8, 64), stages=3), "4.7.0", 32128, 3),
    (dict(a="bf16", tile=(64, 24, 64)), "4.6.0", 232192, None),
    (dict(a="f32", d="f32", tile=(64, 48, 32)), "4.7.0", 231424, None),
    # block-scale-factor outputs (NVFP4 out, SF row-major ue4m3)
    (dict(a="nvfp4", d="e2m1", tile=(128, 128, 256), fusion=NVFP4_OUT), "4.2.0", 230912, 6),
    (dict(a="nvfp4", d="e2m1", tile=(128, 128, 256), fusion=NVFP4_OUT), "4.7.0", 197632, 5),
    (dict(a="nvfp4", c="bf16", d="e2m1", tile=(256, 256, 256), cluster=(2, 1, 1), fusion=NVFP4_OUT), "4.7.0", 221184, 3),
    # 2-SM MMA M = 128 (TMEM warps 2x2), column-major f16 C/D
    (dict(a="bf16", c="f16", d="f16", layout_cd="col", tile=(128, 64, 64), cluster=(2, 1, 1)), "4.2.0", 224256, 17),
    (dict(a="e4m3", c="e4m3", d="e5m2", tile=(128, 96, 128), cluster=(2, 1, 1)), "4.7.0", 231168, 15),
    (dict(a="bf16", tile=(128, 128, 64), kernel_schedule="KernelPtrArrayTmaWarpSpecialized1SmSm100",
          epilogue_schedule="PtrArrayNoSmemWarpSpecialized1Sm", fusion="LinCombEltAct<ReLu>"), "4.7.0", 232320, 7),
]


@pytest.mark.parametrize("kwargs, version, nbytes, nstages", MEASURED)
def test_sm100_measured(kwargs, version, nbytes, nstages):
    fp = footprint(KernelConfig.create("sm100", cutlass=version, **kwargs))
    assert fp.total_bytes == nbytes
    assert nstages is None or fp.stages == nstages


REJECTED = [
    # (config kwargs, cutlass, CUTLASS's static_assert)
    (dict(a="mxfp8_e4m3", tile=(128, 128, 64)), "4.2.0", "TMA requires CTA_Tile and SLayout top-level size equivalence."),
    (dict(a="mxfp8_e4m3", tile=(128, 128, 192)), "4.2.0", "Shape Divisibility Condition"),
    (dict(a="bf16", tile=(64, 24, 64)), "4.2.0", "Divisibility Condition"),
    (dict(a="bf16", tile=(128, 8, 64)), "4.2.0", "Shape Divisibility Condition"),
    (dict(a="f32", d="f32", tile=(64, 48, 32)), "4.2.0", "Divisibility Condition"),
    (dict(a="bf16", tile=(256, 24, 64), cluster=(2, 1, 1)), "4.2.0", "N-mode size should be a multiple of 16"),
    (dict(a="bf16", tile=(64, 8, 64), stages=3), "4.2.0", "Shape Divisibility Condition"),
    (dict(a="bf16", tile=(64, 24, 64)), "4.5.0", "Stride Divisibility Condition"),
    (dict(a="e4m3", c="e4m3", d="e5m2", tile=(128, 96, 128), cluster=(2, 1, 1)), "4.2.0", "Divisibility Condition"),
]


@pytest.mark.parametrize("kwargs, version, message", REJECTED)
def test_sm100_rejected(kwargs, version, message):
    with pytest.raises(UnsupportedConfigError):
        footprint(KernelConfig.create("sm100", cutlass=version, **kwargs))


def test_sm100_stage_count_decides_whether_a_tile_compiles():
    # bf16 64x8x64 slices cleanly at its automatic 24 stages; at 3 stages CuTe's swizzle projection does not divide
    # (before 4.6.0, which slices flagged swizzle layouts without the projections)
    ok = KernelConfig.create("sm100", "bf16", tile=(64, 8, 64), cutlass="4.2.0")
    assert footprint(ok).stages == 24
    with pytest.raises(UnsupportedConfigError):
        footprint(ok.replace(stages=3))
    assert footprint(ok.replace(stages=3, cutlass="4.6.0")).stages == 3
