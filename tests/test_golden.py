"""Golden facts from public sources and from a measured H100 build: the model must reproduce them exactly."""

import pytest

from smem_tactics import KernelConfig, footprint, resolve_limit, verdict
from smem_tactics.errors import UnsupportedConfigError

NVFP4_OUT = {"op": "LinCombBlockScaleFactor", "sf_vector": 16, "sf_layout": "row", "sf_type": "ue4m3"}


def test_cutlass_example_79d_nvfp4_grouped():
    # examples/79_blackwell_geforce_gemm/79d: 128x128x128, NVFP4 out with SF, C f16, StageCountAutoCarveout
    cfg = KernelConfig.create("sm120", "nvfp4", c="f16", d="e2m1", tile=(128, 128, 128), fusion=NVFP4_OUT,
                              cutlass="4.2.0")
    fp = footprint(cfg)
    assert (fp.total_bytes, fp.stages) == (87040, 4)
    assert fp.epilogue_shared_bytes == 11264


def test_cutlass_420_auto_stages_overshoot_sm120():
    # cutlass#3144 / #3096: the examples' carve-out convention gives 5 stages and 102400 B > 101376 B
    cfg = KernelConfig.create("sm120", "mxfp4", c="bf16", d="bf16", tile=(128, 128, 128), cutlass="4.2.0")
    fp = footprint(cfg)
    assert (fp.total_bytes, fp.stages) == (102400, 5)
    v = verdict(cfg, resolve_limit(gpu="gb10"))
    assert not v.fits and v.margin_bytes == -1024
    assert "StageCount<4>" in v.reason


def test_cutlass_442_reduced_capacity_fixes_the_overshoot():
    for version, expected in (("4.4.1", (102400, 5)), ("4.4.2", (84992, 4)), ("4.5.0", (84992, 4))):
        cfg = KernelConfig.create("sm120", "mxfp4", c="bf16", d="bf16", tile=(128, 128, 128), cutlass=version)
        fp = footprint(cfg)
        assert (fp.total_bytes, fp.stages) == expected, version


# Measured on an NVIDIA H100 80GB HBM3 (GemmKernel::SharedStorageSize printed by each built kernel,
# CUTLASS 4.2.0): /work/shared/reference/h100_anchor.md. FP8 uses the FP8FastAccum schedules, C void,
# D bf16 (column-major for swap-AB), epilogue matching the kernel schedule, cluster 1x1x1 unless noted.
H100_MEASURED = [
    # (dtype, schedule, swap_ab, tile, stages, nosmem, cluster, bytes, stages_expected)
    ("e4m3", "pp", False, (64, 128, 128), "auto", False, (1, 1, 1), 231424, 9),
    ("e4m3", "pp", False, (64, 128, 128), 3, False, (1, 1, 1), 83968, 3),
    ("e4m3", "pp", False, (64, 256, 128), "auto", False, (1, 1, 1), 215040, 5),
    ("e4m3", "pp", False, (64, 256, 128), 2, False, (1, 1, 1), 92160, 2),
    ("e4m3", "co", False, (128, 128, 128), "auto", False, (1, 1, 1), 215040, 6),
    ("e4m3", "co", False, (128, 128, 128), 2, False, (1, 1, 1), 83456, 2),
    ("e4m3", "co", False, (128, 128, 64), 5, False, (1, 1, 1), 100352, 5),
    ("e4m3", "co", False, (128, 256, 128), "auto", False, (1, 1, 1), 215040, 4),
    ("e4m3", "co", False, (128, 256, 64), 3, False, (1, 1, 1), 91648, 3),
    ("e4m3", "co", False, (256, 128, 128), 2, True, (1, 1, 1), 99200, 2),
    ("e4m3", "co", True, (128, 16, 128), "auto", False, (1, 1, 1), 228352, 12),
    ("e4m3", "co", True, (128, 16, 128), 5, False, (1, 1, 1), 98304, 5),
    ("e4m3", "co", True, (128, 32, 128), "auto", False, (1, 1, 1), 216064, 10),
    ("e4m3", "co", True, (128, 32, 128), 4, False, (1, 1, 1), 92160, 4),
    ("e4m3", "pp", True, (64, 16, 128), 9, False, (1, 1, 1), 97280, 9),
    ("e4m3", "pp", False, (128, 128, 64), 5, False, (1, 1, 1), 92160, 5),
    ("e4m3", "pp", False, (64, 256, 64), 4, False, (2, 1, 1), 92160, 4),
    ("bf16", "pp", False, (64, 128, 64), "auto", False, (1, 1, 1), 231424, 9),
    ("bf16", "co", False, (128, 128, 32), 5, False, (1, 1, 1), 100352, 5),
    ("bf16", "co", False, (128, 256, 32), 3, False, (1, 1, 1), 91648, 3),
    ("bf16", "co", True, (128, 16, 64), "auto", False, (1, 1, 1), 228352, 12),
    ("bf16", "co", False, (256, 128, 64), 2, True, (1, 1, 1), 99200, 2),
    ("bf16", "pp", False, (128, 128, 64), "auto", False, (1, 1, 1), 206848, 6),
]


@pytest.mark.parametrize("dtype, sched, swap, tile, stages, nosmem, cluster, nbytes, nstages", H100_MEASURED)
def test_h100_measured_kernels(dtype, sched, swap, tile, stages, nosmem, cluster, nbytes, nstages):
    pp = sched == "pp"
    ks = "KernelPtrArrayTmaWarpSpecialized" + ("Pingpong" if pp else "Cooperative") + (
        "FP8FastAccum" if dtype == "e4m3" else "")
    epi = "PtrArrayNoSmemWarpSpecialized" if nosmem else (
        "PtrArrayTmaWarpSpecialized" + ("Pingpong" if pp else "Cooperative"))
    cfg = KernelConfig.create("sm90", dtype, c=None, d="bf16", tile=tile, cluster=cluster, kernel_schedule=ks,
                              epilogue_schedule=epi, stages=stages, layout_cd="col" if swap else "row",
                              cutlass="4.2.0")
    fp = footprint(cfg)
    assert (fp.total_bytes, fp.stages) == (nbytes, nstages)


def test_trtllm_sm120_tiles_c_equals_d():
    # TensorRT-LLM's SM120 launcher: C = D (bf16), KernelScheduleAuto, TmaWarpSpecialized epilogue, auto stages
    sizes = {}
    for name in ("CtaShape128x128x128B", "CtaShape128x128x64B", "CtaShape128x256x64B", "CtaShape256x128x64B"):
        cfg = KernelConfig.create("sm120", "nvfp4", c="bf16", d="bf16", tile=name,
                                  epilogue_schedule="TmaWarpSpecialized", cutlass="4.2.0")
        sizes[name] = footprint(cfg).total_bytes
    assert all(89088 <= b <= 98304 for b in sizes.values()), sizes


def test_degenerate_and_padded_scale_factor_smem():
    # probe-measured: N < 128 before CUTLASS 4.5 leaves SFB a 16-byte empty array; from 4.5 SFB is padded to 128
    # columns, and N = 96 (which does not divide 128) spans one element more
    cases = [
        (dict(tile=(128, 64, 128), stages=6, cutlass="4.2.0"), 92160),
        (dict(tile=(128, 32, 128), stages="auto", cutlass="4.2.0", c=None, d="f16", layout_cd="col",
              arch="sm121"), 102400),
        (dict(tile=(128, 96, 128), stages="auto", cutlass="4.5.0"), 94208),
    ]
    for kwargs, expected in cases:
        arch = kwargs.pop("arch", "sm120")
        kwargs.setdefault("c", None)
        kwargs.setdefault("d", "bf16")
        assert footprint(KernelConfig.create(arch, "nvfp4", **kwargs)).total_bytes == expected, kwargs


def test_sm120_small_n_epilogue_tile_from_cutlass_4_6():
    # host-probe-measured against CUTLASS 4.7.0 (the same rule is in 4.6.0's sm120_builder.inl): below N = 32 the
    # automatic epilogue tile is N wide, with 128 rows when N < 16. NVFP4 tiles, since dense FP8 N < 32 tiles do not
    # compile device code (a device-only rule); block-scaled N = 8/16 exists from 4.6.
    cases = [((128, 16, 128), 40960, (64, 16)), ((256, 8, 128), 67584, (128, 8)), ((128, 8, 128), 37888, (128, 8)),
             ((256, 16, 128), 68608, (64, 16)), ((256, 32, 128), None, (64, 32))]
    for tile, expected, epi in cases:
        cfg = KernelConfig.create("sm121", "nvfp4", c=None, d="bf16", tile=tile, stages=3, cutlass="4.7.0")
        fp = footprint(cfg)
        assert fp.epilogue_tile == epi and (expected is None or fp.total_bytes == expected), tile
    with pytest.raises(UnsupportedConfigError, match="TiledCopy"):
        footprint(KernelConfig.create("sm121", "e4m3", c=None, d="bf16", tile=(128, 16, 64), stages=5,
                                      cutlass="4.7.0"))


def test_sm90_tf32_stage_slicing_before_cutlass_4_6():
    # host-probe-measured: CuTe's swizzled-smem slice rejects some TF32 layouts at some stage counts before 4.6
    # (N = 16 at 3 stages, not at 8; N = 24 at 3); 4.6 builds them all
    def cfg(tile, stages, version):
        return KernelConfig.create("sm90", "f32", c=None, d="f16", tile=tile, stages=stages, cutlass=version,
                                   kernel_schedule="KernelPtrArrayTmaWarpSpecializedCooperative")

    for version in ("4.2.0", "4.5.0"):
        for tile, stages in (((128, 16, 32), 3), ((128, 24, 8), 3)):
            with pytest.raises(UnsupportedConfigError, match="Divisibility Condition"):
                footprint(cfg(tile, stages, version))
        assert footprint(cfg((128, 16, 32), 8, version)).total_bytes == 153088
        assert footprint(cfg((128, 32, 8), 3, version)).total_bytes == 25088
    assert footprint(cfg((128, 16, 32), 3, "4.6.0")).total_bytes == 60672
    assert footprint(cfg((128, 24, 8), 3, "4.6.0")).total_bytes == 21888
