"""Parsing and validation of KernelConfig: every accepted spelling, every rejection with field and allowed values."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from smem_tactics import ConfigError, KernelConfig, StageConvention, UnsupportedConfigError, footprint
from smem_tactics.config import CONFIG_KEYS, DType, parse_tile
from smem_tactics.sampling import random_configs


def test_trtllm_tile_names_are_in_bytes_of_k():
    assert parse_tile("CtaShape128x256x64B", DType.NVFP4, DType.NVFP4) == (128, 256, 128)
    assert parse_tile("CtaShape128x128x128B", DType.E4M3, DType.E4M3) == (128, 128, 128)
    assert parse_tile("CtaShape128x16x128B", DType.BF16, DType.BF16) == (128, 16, 64)
    # mixed MXFP8 activations x MXFP4 weights: K counted with the 8-bit activation, as TensorRT-LLM does
    assert parse_tile("CtaShape128x128x128B", DType.MXFP8_E4M3, DType.MXFP4) == (128, 128, 128)
    assert parse_tile("128x64x32", DType.BF16, DType.BF16) == (128, 64, 32)
    assert parse_tile([64, 32, 16]) == (64, 32, 16)


def test_json_round_trip_and_defaults():
    cfg = KernelConfig.create("sm120", "nvfp4", c="bf16", d="bf16", tile="CtaShape128x256x64B")
    assert KernelConfig.from_dict(cfg.to_dict()) == cfg
    assert KernelConfig.from_json(json.dumps(cfg.to_dict())) == cfg
    assert cfg.stages is StageConvention.AUTO and cfg.kind.value == "block_scaled"


@pytest.mark.parametrize("data, field", [
    ({"arch": "sm95", "a": "bf16"}, "arch"),
    ({"arch": "sm90", "a": "bf17"}, "a"),
    ({"arch": "sm90", "a": "bf16", "d": "nvfp4"}, "d"),
    ({"arch": "sm90", "a": "bf16", "tile": [128, 0, 64]}, "tile"),
    ({"arch": "sm90", "a": "bf16", "tile": "big"}, "tile"),
    ({"arch": "sm90", "a": "bf16", "stages": 0}, "stages"),
    ({"arch": "sm90", "a": "bf16", "stages": "lots"}, "stages"),
    ({"arch": "sm90", "a": "bf16", "cluster": [1, 1]}, "cluster"),
    ({"arch": "sm90", "a": "bf16", "layout_cd": "diag"}, "layout_cd"),
    ({"arch": "sm90", "a": "bf16", "kernel_schedule": "KernelFast"}, "kernel_schedule"),
    ({"arch": "sm90", "a": "bf16", "fusion": "LinCombEltAct<Tanhh>"}, "fusion.activation"),
    ({"arch": "sm120", "a": "nvfp4", "fusion": {"op": "LinCombBlockScaleFactor", "sf_vector": 8,
                                               "sf_type": "ue4m3"}}, "fusion.sf_vector"),
    ({"arch": "sm90", "a": "bf16", "cutlass": "3.9.0"}, "cutlass"),
    ({"arch": "sm90", "a": "bf16", "colour": "red"}, "colour"),
    ({"a": "bf16"}, "arch"),
])
def test_bad_fields_name_the_field_and_the_allowed_values(data, field):
    with pytest.raises(ConfigError) as err:
        KernelConfig.from_dict(data)
    assert err.value.field == field
    assert "allowed" in str(err.value)


def test_malformed_json_is_a_config_error():
    with pytest.raises(ConfigError, match="malformed JSON"):
        KernelConfig.from_json('{"arch": "sm90", ')


@pytest.mark.parametrize("data, field, cutlass_message", [
    ({"arch": "sm120", "a": "nvfp4", "cluster": [2, 1, 1]}, "cluster", "no programmatic multicast on this arch"),
    ({"arch": "sm120", "a": "bf16"}, "kind", "PtrArray"),
    ({"arch": "sm120", "a": "nvfp4", "tile": [256, 128, 256]}, "stages",
     "Specialization requires Stages set to value 2 or more."),
    ({"arch": "sm120", "a": "nvfp4", "tile": [64, 128, 128]}, "tile", "SmemLayoutAtom"),
    ({"arch": "sm120", "a": "mxfp8_e4m3", "kernel_schedule": "KernelPtrArrayTmaWarpSpecializedCooperative",
      "stages": 2}, "kernel_schedule", "Incorrect SfVectorSize for MX_F4F6F8 is deduced."),
    ({"arch": "sm120", "a": "mxfp4", "tile": [128, 128, 64], "cutlass": "4.5.0"}, "tile", "bool"),
    ({"arch": "sm90", "a": "e4m3", "scale_granularity": [1, 128, 128], "stages": 3}, "stages",
     "compute_stage_count_with_blockwise_scale"),
])
def test_combinations_cutlass_rejects_carry_cutlass_message(data, field, cutlass_message):
    cfg = KernelConfig.from_dict(data)
    with pytest.raises(UnsupportedConfigError) as err:
        footprint(cfg)
    assert err.value.field == field
    assert cutlass_message in err.value.cutlass_message


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(CONFIG_KEYS + ("junk",)),
                       st.one_of(st.none(), st.integers(-5, 300), st.text(max_size=12),
                                 st.lists(st.integers(-2, 300), max_size=4), st.booleans())))
def test_arbitrary_input_never_raises_anything_but_typed_errors(data):
    try:
        cfg = KernelConfig.from_dict(data)
        footprint(cfg)
    except (ConfigError, UnsupportedConfigError):
        pass


def test_sampled_configs_round_trip():
    for cfg in random_configs(40, seed=3):
        assert KernelConfig.from_dict(cfg.to_dict()) == cfg
