"""Roofline ceilings: the GPU table, model shapes from folders, decode, prefill and KV capacity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpu_bench.records import RequestRecord
from gpu_bench.roofline import (
    GIB,
    PRESETS,
    ModelShape,
    achieved_vs_ceiling,
    compute_roofline,
    format_table,
    get_gpu,
    get_model_shape,
    load_gpu_table,
    load_model_shape,
    main,
)
from gpu_bench.stats import summarize

LLAMA_8B_CONFIG = {
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-05,
}


def write_model(folder: Path, *, manifest: str, config: dict[str, object] | str) -> Path:
    """An Airlock-style model folder with a manifest and a config.json."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.yaml").write_text(manifest, encoding="utf-8")
    text = config if isinstance(config, str) else json.dumps(config, indent=2)
    (folder / "config.json").write_text(text, encoding="utf-8")
    return folder


def test_gpu_table_has_the_documented_gpus() -> None:
    table = load_gpu_table()
    assert set(table) == {"A100-40GB", "A100-80GB", "H100-SXM", "H100-PCIe", "H200", "L40S"}
    assert table["H200"].bandwidth_gb_s == 4800
    assert table["A100-80GB"].fp8_tflops is None
    assert all(spec.bf16_tflops > 0 and spec.memory_gib > 0 for spec in table.values())


def test_get_gpu_applies_overrides_and_ignores_case() -> None:
    gpu = get_gpu("h200", bandwidth_gb_s=4000, memory_gib=140)
    assert (gpu.name, gpu.bandwidth_gb_s, gpu.memory_gib, gpu.bf16_tflops) == (
        "H200",
        4000,
        140,
        989,
    )


def test_get_gpu_builds_an_unknown_gpu_from_full_figures() -> None:
    gpu = get_gpu("B200-test", memory_gib=180, bandwidth_gb_s=8000, bf16_tflops=2250)
    assert gpu.bandwidth_gb_s == 8000


def test_get_gpu_names_the_known_gpus_when_unknown() -> None:
    with pytest.raises(ValueError, match=r"unknown GPU 'T4'.*H200"):
        get_gpu("T4")


def test_llama_8b_on_h200_decodes_in_about_3_3_ms_per_token() -> None:
    roofline = compute_roofline(PRESETS["llama-3.1-8b"], get_gpu("H200"))
    assert roofline.weight_bytes == pytest.approx(16.06e9)
    assert roofline.decode_s_per_token == pytest.approx(3.3e-3, rel=0.05)
    assert roofline.decode_tokens_per_s == pytest.approx(1 / roofline.decode_s_per_token)
    # Prefill: 989 TFLOPS / (2 * 8.03e9 FLOPs per token).
    assert roofline.prefill_tokens_per_s == pytest.approx(989e12 / 16.06e9)


def test_batched_decode_reads_weights_once_and_each_sequences_kv() -> None:
    model, gpu = PRESETS["llama-3.1-8b"], get_gpu("H200")
    roofline = compute_roofline(model, gpu, batch=16, context_tokens=1000)
    step = (16.06e9 + 16 * 131072 * 1000) / 4.8e12
    assert roofline.batch_step_s == pytest.approx(step)
    assert roofline.batch_tokens_per_s == pytest.approx(16 / step)
    assert roofline.batch_fits


def test_kv_cache_bytes_per_token_follow_layers_heads_and_dtype() -> None:
    # 2 (K and V) x layers x KV heads x head dim x 2 bytes.
    assert compute_roofline(PRESETS["llama-3.1-8b"], get_gpu("H200")).kv_bytes_per_token == 131072
    assert (
        compute_roofline(
            PRESETS["llama-3.1-70b"], get_gpu("H200"), tensor_parallel=2
        ).kv_bytes_per_token
        == 327680
    )


def test_kv_capacity_is_usable_memory_minus_weights_over_kv_per_token() -> None:
    roofline = compute_roofline(PRESETS["llama-3.1-8b"], get_gpu("H200"), context_tokens=4096)
    expected = int((141 * GIB * 0.9 - 16.06e9) // 131072)
    assert roofline.kv_capacity_tokens == expected
    assert roofline.max_sequences_at_context == expected // 4096


def test_tensor_parallel_adds_memory_bandwidth_and_flops() -> None:
    model, gpu = PRESETS["llama-3.1-70b"], get_gpu("H100-SXM")
    single = compute_roofline(model, gpu)
    pair = compute_roofline(model, gpu, tensor_parallel=2)
    assert not single.fits and single.kv_capacity_tokens == 0
    assert pair.fits
    assert pair.kv_capacity_tokens == int((2 * 80 * GIB * 0.9 - 141.2e9) // 327680)
    assert pair.decode_s_per_token == pytest.approx(single.decode_s_per_token / 2)
    assert pair.prefill_tokens_per_s == pytest.approx(2 * single.prefill_tokens_per_s)


def test_batch_beyond_kv_capacity_is_flagged() -> None:
    roofline = compute_roofline(
        PRESETS["llama-3.1-70b"],
        get_gpu("H100-SXM"),
        tensor_parallel=2,
        batch=32,
        context_tokens=4096,
    )
    assert not roofline.batch_fits


def test_compute_roofline_rejects_zero_batch() -> None:
    with pytest.raises(ValueError, match="batch"):
        compute_roofline(PRESETS["llama-3.1-8b"], get_gpu("H200"), batch=0)


def test_model_shape_reads_manifest_and_config(tmp_path: Path) -> None:
    folder = write_model(
        tmp_path / "llama",
        manifest="id: llama-test\nfamily: llama\nparameters: 8030000000\ndtype: bfloat16\n",
        config=LLAMA_8B_CONFIG,
    )
    shape = load_model_shape(folder)
    assert shape == ModelShape(
        name="llama-test", parameters=8.03e9, num_layers=32, num_kv_heads=8, head_dim=128
    )
    assert get_model_shape(str(folder)) == shape


def test_model_shape_prefers_explicit_head_dim_and_falls_back_to_config_dtype(
    tmp_path: Path,
) -> None:
    config = {**LLAMA_8B_CONFIG, "head_dim": 256, "torch_dtype": "float32"}
    folder = write_model(tmp_path / "m", manifest="id: m\nparameters: 1000\n", config=config)
    shape = load_model_shape(folder)
    assert (shape.head_dim, shape.dtype_bytes, shape.kv_dtype_bytes) == (256, 4.0, 4.0)


def test_model_shape_names_the_file_missing_a_field(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m", manifest="id: m\ndtype: bf16\n", config=LLAMA_8B_CONFIG)
    with pytest.raises(ValueError, match=r"manifest\.yaml: missing field 'parameters'"):
        load_model_shape(folder)


def test_model_shape_names_the_file_and_line_of_bad_json(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m", manifest="id: m\nparameters: 10\n", config='{\n"a": 1,\n}')
    with pytest.raises(ValueError, match=r"config\.json:3: not valid JSON"):
        load_model_shape(folder)


def test_model_shape_rejects_an_unknown_dtype(tmp_path: Path) -> None:
    folder = write_model(
        tmp_path / "m", manifest="parameters: 10\ndtype: float7\n", config=LLAMA_8B_CONFIG
    )
    with pytest.raises(ValueError, match="unknown dtype 'float7'"):
        load_model_shape(folder)


def test_get_model_shape_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="neither a preset"):
        get_model_shape("llama-9")


def test_achieved_vs_ceiling_compares_throughput_and_tpot() -> None:
    records = [
        RequestRecord(
            request_id=f"r{i}",
            phase="c=1",
            prompt_id="p",
            start_s=float(i),
            status="ok",
            e2e_s=1.0,
            ttft_s=0.1,
            output_tokens=101,
        )
        for i in range(2)
    ]
    stats = summarize(records)["c=1"]  # 202 tokens over 2 s; TPOT 0.9 / 100 = 9 ms
    ceiling = compute_roofline(PRESETS["llama-3.1-8b"], get_gpu("H200"), context_tokens=1)
    ratios = achieved_vs_ceiling(stats, ceiling)
    assert ratios.throughput_fraction == pytest.approx(101 / ceiling.batch_tokens_per_s)
    assert ratios.tpot_multiple == pytest.approx(0.009 / ceiling.batch_step_s)
    assert ratios.tpot_multiple is not None and ratios.tpot_multiple > 1


def test_table_lists_both_models_on_both_gpus(capsys: pytest.CaptureFixture[str]) -> None:
    table = format_table()
    assert table.count("\n") == 7  # header, rule, six cases
    assert "| llama-3.1-8b | H200 | 1 | 16.06 | yes | 3.35 |" in table
    main(["--table"])
    assert capsys.readouterr().out.strip() == table
