"""Derived profile numbers follow the rules their comments state (to the rounding shown)."""

from __future__ import annotations

import pytest

from simsched.config.loader import read_yaml
from simsched.config.paths import shipped


def models(name: str) -> dict:
    return read_yaml(shipped("platforms", name))["models"]


def lat(m: dict, model: str, proc: str) -> float:
    return m[model]["latency_ms"][proc]


def llm(m: dict, model: str, phase: str, proc: str) -> float:
    return m[model]["llm"][f"{phase}_ms_per_token"][proc]


def test_ryzen_ai_rules() -> None:
    m = models("ryzen-ai")
    for model in ("yolov8n", "yolov8n_cls", "resnet50", "segmentation", "super_resolution", "whisper_base"):
        assert lat(m, model, "cpu_c") == pytest.approx(lat(m, model, "cpu") * 1.25, rel=0.01)
    # Relative costs on one NPU (AI Hub / MLPerf Mobile) applied to every processor.
    for model, ratio in (("resnet50", 0.653), ("segmentation", 0.716), ("super_resolution", 6.78),
                         ("whisper_base", 95.0)):
        for proc in ("cpu", "igpu", "npu"):
            assert lat(m, model, proc) == pytest.approx(lat(m, "yolov8n", proc) * ratio, rel=0.01)
    assert lat(m, "yolov8n_cls", "npu") == pytest.approx(lat(m, "yolov8n", "npu") * 11.76 / 29.34, rel=0.01)
    # LLMs: measured rates as ms/token; Qwen from Llama by parameter count 1.54/1.24.
    assert llm(m, "llama_3_2_1b", "decode", "cpu") == pytest.approx(1000 / 54.6, rel=0.01)
    assert llm(m, "llama_3_2_1b", "decode", "npu") == pytest.approx(1000 / 18.6, rel=0.01)
    assert llm(m, "qwen_1_5b", "prefill", "npu") == pytest.approx(680 / 1024, rel=0.01)
    assert llm(m, "qwen_1_5b", "decode", "igpu") == pytest.approx(1000 / 60.0, rel=0.01)
    for phase, proc in (("decode", "npu"), ("decode", "cpu"), ("prefill", "cpu")):
        assert llm(m, "qwen_1_5b", phase, proc) == pytest.approx(llm(m, "llama_3_2_1b", phase, proc) * 1.54 / 1.24,
                                                                 rel=0.01)
    for model in ("llama_3_2_1b", "qwen_1_5b"):
        for phase in ("prefill", "decode"):
            assert llm(m, model, phase, "cpu_c") == pytest.approx(llm(m, model, phase, "cpu") * 1.25, rel=0.01)
    # A CPU prefill faster than the BF16 peak of 4 Zen 5 cores (~1.3 TFLOP/s) is impossible:
    # 2 x 1.24 G FLOP per token.
    assert 2 * 1.24e9 / (llm(m, "llama_3_2_1b", "prefill", "cpu") * 1e-3) < 1.3e12


def test_cnn_compute_fraction_from_the_dla_data() -> None:
    # 1948 img/s (DLA 1369.6 MHz, EMC 3199) vs 1072 img/s (DLA 614.4 MHz, EMC 2133):
    # 1948/1072 = c * 1369.6/614.4 + (1 - c) * 3199/2133.
    t, f, e = 1948 / 1072, 1369.6 / 614.4, 3199 / 2133
    c = (t - e) / (f - e)
    assert c == pytest.approx(0.44, abs=0.01)
    for name in ("jetson-orin-nx", "ryzen-ai", "tensor-g1"):
        for model, spec in models(name).items():
            if spec.get("kind") == "cnn" and model != "super_resolution":
                assert spec["compute_fraction"] == pytest.approx(c, abs=0.015), (name, model)


def test_jetson_orin_nx_rules() -> None:
    m = models("jetson-orin-nx")
    for model, flops in (("vgg19", 19.6), ("resnet152", 11.3)):
        for proc in ("gpu", "dla", "cpu"):
            assert lat(m, model, proc) == pytest.approx(lat(m, "resnet50", proc) * flops / 3.8, rel=0.02)
    ratio = (12 * 768**2) / (24 * 1024**2)
    for proc in ("gpu", "cpu"):
        assert lat(m, "bert_base", proc) == pytest.approx(lat(m, "bert_large", proc) * ratio, rel=0.01)
