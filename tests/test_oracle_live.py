"""The live oracle: random configs (fixed seed) compiled against both installed CUTLASS trees
(nvidia-cutlass 4.2.0 and FlashInfer 0.7.2.post1's 4.5.0). Totals and stage counts must be byte-exact.

CI installs both trees (.ci/run); a missing tree or compiler is a failure here, not a skip.
"""

import collections

import pytest

from cpp_bindings.oracle import AGREE, BOTH_REJECT, MISMATCH, verify
from cpp_bindings.trees import find_toolchain, installed_trees
from smem_tactics.sampling import random_configs
from smem_tactics.versions import CutlassVersion

N_CONFIGS = 66  # 22 per arch
ARCHS = ("sm90", "sm100", "sm120")


def _trees():
    trees = {t.version: t for t in installed_trees()}
    missing = {"4.2.0", "4.5.0"} - set(trees)
    if missing:
        pytest.fail(f"CUTLASS trees {sorted(missing)} are not installed: pip install nvidia-cutlass==4.2.0.0 "
                    f"flashinfer-python==0.7.2.post1 (see .ci/run)")
    tc = find_toolchain()
    if tc.cxx is None or tc.cuda_include is None:
        pytest.fail("the oracle needs g++ and CUDA headers (cuda_runtime.h); set CUDA_HOME")
    return trees


@pytest.mark.parametrize("version", ["4.2.0", "4.5.0"])
def test_model_matches_cutlass_on_random_configs(version):
    tree = _trees()[version]
    # the same number per arch, each from its own seeded stream (so a change to one arch's draws leaves the
    # others' samples alone)
    configs = [c for i, arch in enumerate(ARCHS)
               for c in random_configs(N_CONFIGS // len(ARCHS), seed=2024 + i, archs=(arch,), cutlass=version)]
    per_arch = collections.Counter(c.arch.family.value for c in configs)
    assert len(configs) == N_CONFIGS and all(per_arch[a] == N_CONFIGS // len(ARCHS) for a in ARCHS), per_arch
    results = verify(configs, tree)
    mismatches = [f"{r.config.name()}: {r.detail}" for r in results if r.status == MISMATCH]
    assert not mismatches, "\n".join(mismatches)
    # the sample holds only configs the model accepts, so CUTLASS must build every one of them
    assert all(r.status == AGREE for r in results), [r.detail for r in results if r.status == BOTH_REJECT]
    assert {CutlassVersion.parse(tree.version)} == {r.config.cutlass for r in results}


def test_oracle_isolates_a_failing_config_and_measures_the_rest():
    from smem_tactics import KernelConfig

    tree = _trees()["4.2.0"]
    good = KernelConfig.create("sm120", "nvfp4", c="f16", d="e2m1", tile=(128, 128, 128), cutlass="4.2.0",
                               fusion={"op": "LinCombBlockScaleFactor", "sf_vector": 16, "sf_layout": "row",
                                       "sf_type": "ue4m3"})
    bad = KernelConfig.create("sm120", "nvfp4", c=None, d="bf16", tile=(256, 128, 256), cutlass="4.2.0")
    results = verify([bad, good], tree)
    assert results[0].status == BOTH_REJECT and "Stages" in results[0].detail
    assert results[1].status == AGREE and results[1].measured["total"] == 87040


# FlashInfer 0.7.2.post1's tree is NVIDIA/cutlass commit b46b16d (cutlass#3176), between v4.4.2 and v4.5.0: the
# oracle models it by the deltas its headers carry. The configs below are the ones whose answer changes if one of
# the deltas that tree carries were missing (sampling.delta_sensitive_configs), so CUTLASS decides each.
FI_DELTAS = ("sm120_sfb_padded", "sm120_reduced_capacity", "sm120_sf_k_atom", "sm120_n_divisibility",
             "blockscaled_stage_pipeline_128", "sm100_async_tensormap", "sm90_blockwise_small_m")


def test_commit_between_tags_is_compiled_as_its_contents():
    from smem_tactics.sampling import delta_sensitive_configs

    tree = _trees()["4.5.0"]
    assert "flashinfer" in tree.source
    version = tree.modelled_version()
    sensitive = delta_sensitive_configs(str(version), 1, seed=7, only=FI_DELTAS)
    configs = [c for cs in sensitive.values() for c in cs]
    assert len(configs) == len(FI_DELTAS), {k: len(v) for k, v in sensitive.items()}
    results = verify(configs, tree)
    mismatches = [f"{r.config.name()}: {r.detail}" for r in results if r.status == MISMATCH]
    assert not mismatches, "\n".join(mismatches)


def test_tree_with_a_delta_reverted_compiles_as_modelled(tmp_path):
    """FlashInfer's tree with the 128-byte per-stage pipeline term of the block-scaled stage count reverted (the form
    4.2.1 and 4.3.5 have): modelled as 4.5.0 without that delta, and CUTLASS compiled from it agrees byte for byte on
    configs whose answer that term changes."""
    from test_tree_contents import _patched_copy

    import dataclasses

    from cpp_bindings.trees import tree_from_path
    from smem_tactics import footprint
    from smem_tactics.sampling import delta_sensitive_configs

    fi = _trees()["4.5.0"]
    rel = "cutlass/gemm/collective/builders/sm100_blockscaled_umma_builder.inl"
    term = "sizeof(typename cutlass::PipelineTmaUmmaAsync<1>::SharedStorage)"
    root = _patched_copy(fi.include, tmp_path / "tree", rel, f"cutlass::round_up({term}, 128)", term)
    tree = tree_from_path(root)
    version = tree.modelled_version()
    assert str(version) == "4.5.0-blockscaled_stage_pipeline_128"
    configs = delta_sensitive_configs(str(version), 3, seed=7, only=["blockscaled_stage_pipeline_128"],
                                      archs=("sm100", "sm120"))["blockscaled_stage_pipeline_128"]
    assert len(configs) == 3
    results = verify(configs, tree)
    assert all(r.status == AGREE for r in results), [f"{r.config.name()}: {r.detail}" for r in results]
    # and each measurement differs from what the unpatched 4.5.0 model says: the compile saw the reverted term
    with_term = [footprint(dataclasses.replace(r.config, cutlass=version.release)) for r in results]
    assert all((r.measured["total"], r.measured["stages"]) != (fp.total_bytes, fp.stages)
               for r, fp in zip(results, with_term))


def test_decode_kernel_set_matches_cutlass():
    """Every kernel of the decode benchmark (smem_tactics.bench.decode.decode_kernels: base, s2, no-smem, cooperative,
    64-row, ptr-array, ptr-array + no-smem; e4m3 and bf16) compiled against FlashInfer's CUTLASS tree, and the 4.2.0
    bridge against nvidia-cutlass 4.2.0: the option each kernel changes has the footprint the model says."""
    from smem_tactics.bench.decode import decode_kernels

    trees = _trees()
    kernels = [k for dt in ("e4m3", "bf16") for k in decode_kernels(dt, ("c420",))]
    by_tree = collections.defaultdict(list)
    for k in kernels:
        by_tree[str(k.config.cutlass)].append(k.config)
    assert sorted(by_tree) == ["4.2.0", "4.5.0"] and len(by_tree["4.5.0"]) == 14
    for version, configs in by_tree.items():
        configs = list(dict.fromkeys(configs))
        tree = trees[version]
        results = verify([c.replace(cutlass=tree.modelled_version()) if version == "4.5.0" else c for c in configs],
                         tree)
        assert all(r.status == AGREE for r in results), [f"{r.config.name()}: {r.detail}" for r in results
                                                           if r.status != AGREE]
