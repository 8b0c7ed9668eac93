"""Importers: profile CSV round trip, trtexec / llama-bench / ONNX Runtime readers, DS3 conversion.

The sample inputs under tests/data/import/ were written for these tests; their expected
values are worked out by hand in each test.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simsched.cli import main
from simsched.config.loader import read_yaml, validate_part
from simsched.config.paths import shipped_names
from simsched.errors import ConfigError
from simsched.importers import apply_measurements, csv_profiles, ds3, llama_bench, load_platform_data, ort, platform_spec, trtexec

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def load_spec(path: Path):
    return validate_part("platforms", read_yaml(path), str(path))


# ------------------------------------------------------------------ CSV round trip


@pytest.mark.parametrize("name", shipped_names("platforms"))
def test_export_import_round_trip_gives_the_same_platform(tmp_path: Path, name: str) -> None:
    csv_file, out = tmp_path / "p.csv", tmp_path / "p.yaml"
    assert run_main(["profile", "export", "--platform", name, "--out", str(csv_file)])[0] == 0
    code, _, err = run_main(["profile", "import", str(csv_file), "--platform", name, "--out", str(out)])
    assert code == 0, err
    before, _ = load_platform_data(name)
    a, b = platform_spec(before, name), load_spec(out)
    assert a.model_dump() == b.model_dump()  # every field the runs read
    for m in a.models:  # and the metadata that model_dump leaves out
        assert a.models[m].confidence == b.models[m].confidence, m
        assert a.models[m].source == b.models[m].source, m
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    assert len(rows) == sum(len(m.confidence_targets()) - (2 if m.llm else 1) for m in a.models.values())


@pytest.mark.parametrize("name", shipped_names("platforms"))
def test_import_restores_every_exported_number(tmp_path: Path, name: str) -> None:
    """Import the export into a copy whose numbers were all doubled and whose confidence was dropped."""
    before, _ = load_platform_data(name)
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(csv_profiles.export_csv(platform_spec(before, name), before), encoding="utf-8")
    scrambled = copy.deepcopy(before)
    for m in scrambled["models"].values():
        m.pop("confidence", None)
        tables = [m.get("latency_ms") or {}]
        if m.get("llm"):
            tables += [m["llm"]["prefill_ms_per_token"], m["llm"]["decode_ms_per_token"]]
            for k in ("prefill_compute_fraction", "decode_compute_fraction"):
                if k in m["llm"]:
                    m["llm"][k] = m["llm"][k] / 2
        elif "compute_fraction" in m:
            m["compute_fraction"] = m["compute_fraction"] / 2
        for t in tables:
            for k in t:
                t[k] = t[k] * 2
    after, _ = apply_measurements(scrambled, csv_profiles.read_csv(csv_file), str(csv_file))
    a, b = platform_spec(before, "a"), platform_spec(after, "b")
    assert a.model_dump() == b.model_dump()
    for m in a.models:
        assert {k: (c.level, c.range) for k, c in a.models[m].confidence.items()} == \
            {k: (c.level, c.range) for k, c in b.models[m].confidence.items()}, m


def test_round_trip_carries_a_changed_number_and_nothing_else(tmp_path: Path) -> None:
    before, _ = load_platform_data("ryzen-ai")
    rows = csv_profiles.export_rows(platform_spec(before, "ryzen-ai"), before)
    for r in rows:
        if r["model"] == "resnet50" and r["processor"] == "igpu":
            r.update(latency_ms="4.75", source="a new run", confidence="", range_low="", range_high="")
    path = tmp_path / "edited.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(csv_profiles.COLUMNS))
        w.writeheader()
        w.writerows(rows)
    after, _ = apply_measurements(before, csv_profiles.read_csv(path), str(path))
    a, b = platform_spec(before, "a"), platform_spec(after, "b")
    assert b.models["resnet50"].latency_ms["igpu"] == 4.75
    assert b.models["resnet50"].confidence["igpu"].level == "measured"
    assert b.models["resnet50"].confidence["igpu"].range is None
    assert "igpu: a new run" in b.models["resnet50"].source
    b.models["resnet50"].latency_ms["igpu"] = a.models["resnet50"].latency_ms["igpu"]
    b.models["resnet50"].source = a.models["resnet50"].source
    assert a.model_dump() == b.model_dump()
    changed = [m for m in a.models if a.models[m].confidence != b.models[m].confidence]
    assert changed == ["resnet50"]


def test_explicit_confidence_is_written_even_for_an_unchanged_number(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("model,processor,latency_ms,confidence\nyolov8n,cpu_c,36.67,measured\n", encoding="utf-8")
    before, _ = load_platform_data("ryzen-ai")
    assert platform_spec(before, "a").models["yolov8n"].confidence["cpu_c"].level == "derived"
    after, _ = apply_measurements(before, csv_profiles.read_csv(path), str(path))
    assert platform_spec(after, "b").models["yolov8n"].confidence["cpu_c"].level == "measured"


def test_csv_import_sets_values_confidence_source_and_notes() -> None:
    before, _ = load_platform_data("ryzen-ai")
    after, notes = apply_measurements(before, csv_profiles.read_csv(DATA / "profiles.csv"), "profiles.csv")
    s = platform_spec(after, "x")
    y = s.models["yolov8n"]
    assert y.latency_ms["npu"] == 2.5 and y.confidence["npu"].level == "measured"
    assert y.latency_ms["igpu"] == 7.0 and y.compute_fraction == 0.5
    assert y.confidence["compute_fraction"].level == "measured"
    assert any("npu: sample measurement" in src for src in y.source)
    assert any("power_w 4.1" in n for n in notes) and any("traffic_mb 12.5" in n for n in notes)
    llm = s.models["llama_3_2_1b"]
    assert llm.llm.decode_ms_per_token["cpu"] == 20.0 and llm.confidence["decode.cpu"].level == "measured"
    assert llm.llm.prefill_ms_per_token == platform_spec(before, "b").models["llama_3_2_1b"].llm.prefill_ms_per_token
    new = s.models["mobilenet_v2"]
    assert new.kind == "other" and new.latency_ms == {"cpu": 4.0} and new.confidence["cpu"].level == "measured"
    assert before["models"]["yolov8n"]["latency_ms"]["npu"] == 3.1  # the input data is not modified


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("model,processor\nx,cpu\n", "header"),
        ("model,processor,latency_ms,colour\nx,cpu,1,red\n", "header"),
        ("model,processor,latency_ms\nyolov8n,tpu,1\n", "line 2.processor"),
        ("model,processor,latency_ms\nyolov8n,cpu,fast\n", "line 2.latency_ms"),
        ("model,processor,latency_ms\nyolov8n,cpu,-1\n", "line 2.latency_ms"),
        ("model,processor,latency_ms\nyolov8n,cpu,1\nyolov8n,cpu,2\n", "line 3.latency_ms"),
        ("model,processor,latency_ms\nyolov8n,decode.cpu,1\n", "line 2.processor"),
        ("model,processor,latency_ms\nllama_3_2_1b,cpu,1\n", "line 2.processor"),
        ("model,processor,latency_ms,confidence\nyolov8n,cpu,1,guess\n", "line 2.confidence"),
        ("model,processor,latency_ms,confidence\nyolov8n,cpu,1,estimate\n", "line 2.range_low"),
        ("model,processor,latency_ms,compute_fraction\nyolov8n,cpu,1,1.5\n", "line 2.compute_fraction"),
        ("model,processor,latency_ms\nnew_llm,prefill.cpu,1\n", "new_llm"),
        ("model,processor,latency_ms,compute_fraction\nyolov8n,cpu,1,0.5\nyolov8n,npu,1,0.6\n", "line 3.compute_fraction"),
    ],
)
def test_bad_csv_is_one_line_exit_2(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.yaml"
    code, _, err = run_main(["profile", "import", str(path), "--platform", "ryzen-ai", "--out", str(out)])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: {field}: "), err
    assert not out.exists()


# ------------------------------------------------------------------ tool formats


def test_trtexec_export_times_median_of_compute_ms() -> None:
    # computeMs 4.0, 4.2, 3.9, 6.0, 4.1 -> median 4.1; latencyMs 4.3, 4.5, 4.2, 6.3, 4.4 -> 4.4
    assert trtexec.latency_ms(DATA / "trtexec_times.json")[0] == pytest.approx(4.1)
    assert trtexec.latency_ms(DATA / "trtexec_times.json", "latencyMs")[0] == pytest.approx(4.4)


def test_trtexec_export_profile_sums_layer_averages() -> None:
    value, how = trtexec.latency_ms(DATA / "trtexec_profile.json")
    assert value == pytest.approx(0.1 + 1.5 + 2.0 + 0.4)
    assert "4 layers" in how and "10 runs" in how


def test_llama_bench_json_and_csv_rates() -> None:
    rates = llama_bench.rates(DATA / "llama_bench.json")
    assert rates["prefill"][0] == pytest.approx(1000 / 512) and rates["decode"][0] == pytest.approx(1000 / 50)
    # CSV: pp 128 and pp 512 -> the longer prompt (400 tok/s); the pp+tg row is skipped; tg 128 at 40 tok/s
    rates = llama_bench.rates(DATA / "llama_bench.csv")
    assert rates["prefill"][0] == pytest.approx(2.5) and rates["decode"][0] == pytest.approx(25.0)


def test_ort_profile_median_of_model_runs_and_kernel_fallback() -> None:
    assert ort.latency_ms(DATA / "ort_profile.json")[0] == pytest.approx(3.5)  # 8.5, 3.4, 3.5 ms
    assert ort.latency_ms(DATA / "ort_profile_kernels.json")[0] == pytest.approx(3.1)  # 8.0, 3.0, 3.1 ms


@pytest.mark.parametrize(
    ("sample", "extra", "model", "key", "value"),
    [
        ("trtexec_times.json", ["--model", "yolov8n", "--processor", "igpu"], "yolov8n", "igpu", 4.1),
        ("trtexec_profile.json", ["--model", "resnet50", "--processor", "npu"], "resnet50", "npu", 4.0),
        ("ort_profile.json", ["--model", "yolov8n_cls", "--processor", "cpu"], "yolov8n_cls", "cpu", 3.5),
        ("llama_bench.json", ["--model", "llama_3_2_1b", "--processor", "cpu"], "llama_3_2_1b", "decode.cpu", 20.0),
        ("llama_bench.csv", ["--model", "qwen_1_5b", "--processor", "igpu", "--format", "llama-bench"],
         "qwen_1_5b", "prefill.igpu", 2.5),
    ],
)
def test_profile_import_cli_each_format(tmp_path: Path, sample: str, extra: list[str], model: str, key: str, value: float) -> None:
    out = tmp_path / "p.yaml"
    code, _stdout, err = run_main(["profile", "import", str(DATA / sample), "--platform", "ryzen-ai", "--out", str(out), *extra])
    assert code == 0, err
    m = load_spec(out).models[model]
    got = m.confidence_targets()[key]
    assert got == pytest.approx(value)
    assert m.confidence[key].level == "measured"
    assert any(sample in s for s in m.source)
    assert run_main(["validate", str(out)])[0] == 0


def test_tool_formats_need_model_and_processor(tmp_path: Path) -> None:
    code, _, err = run_main(["profile", "import", str(DATA / "trtexec_times.json"), "--platform", "ryzen-ai",
                             "--out", str(tmp_path / "x.yaml"), "--processor", "igpu"])
    assert code == 2 and "--model" in err and err.count("\n") == 1


def test_llama_bench_into_a_new_model_needs_both_phases(tmp_path: Path) -> None:
    path = tmp_path / "tg_only.json"
    path.write_text('[{"n_prompt": 0, "n_gen": 128, "avg_ts": 50.0}]', encoding="utf-8")
    code, _, err = run_main(["profile", "import", str(path), "--platform", "ryzen-ai", "--out", str(tmp_path / "x.yaml"),
                             "--model", "new_llm", "--processor", "cpu"])
    assert code == 2 and "prefill" in err and err.startswith(f"error: {path}: new_llm: ")


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("{not json", "trtexec"), ('[{"foo": 1}]', "trtexec"), ('[{"computeMs": -1}]', "trtexec"),
     ('[{"n_prompt": 0, "n_gen": 0, "avg_ts": 1}]', "llama-bench"), ('[{"cat": "Session", "name": "x", "dur": 1}]', "ort"),
     ('[{"n_prompt": 512, "n_gen": 0, "avg_ts": 0}]', "llama-bench")],
)
def test_bad_tool_files_exit_2(tmp_path: Path, text: str, fmt: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_main(["profile", "import", str(path), "--platform", "ryzen-ai", "--out", str(tmp_path / "x.yaml"),
                             "--format", fmt, "--model", "yolov8n", "--processor", "cpu"])
    assert code == 2 and err.startswith(f"error: {path}") and err.count("\n") == 1, err


def test_import_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    out.write_text("keep", encoding="utf-8")
    args = ["profile", "import", str(DATA / "profiles.csv"), "--platform", "ryzen-ai", "--out", str(out)]
    assert run_main(args)[0] == 2 and out.read_text() == "keep"
    assert run_main([*args, "--force"])[0] == 0 and "yolov8n" in out.read_text()


# ------------------------------------------------------------------------ DS3

DS3_ARGS = [str(DATA / "ds3_soc.txt"), str(DATA / "ds3_job_radio.txt"), str(DATA / "ds3_job_probe.txt"),
            "--config", str(DATA / "ds3_config.ini")]
# Execution times (us) of the sample SoC file per resource, written here independently of the parser.
DS3_TIMES_US = {
    "LITTLE": {"src": 40, "fft": 400, "fft_b": 410, "decode": 250, "sink": 20},
    "BIG": {"src": 15, "fft": 150, "fft_b": 155, "decode": 90, "sink": 8},
    "FFTACC": {"fft": 25, "fft_b": 30},
}


def test_ds3_conversion_validates_runs_and_keeps_task_times(tmp_path: Path) -> None:
    out = tmp_path / "ds3"
    code, _stdout, err = run_main(["import", "ds3", *DS3_ARGS, "--out", str(out)])
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == {"platform.yaml", "workload.yaml", "experiment.yaml", "IMPORT_NOTES.md"}
    assert run_main(["validate", str(out / "experiment.yaml")])[0] == 0
    notes = (out / "IMPORT_NOTES.md").read_text(encoding="utf-8")
    for fragment in ("per-task deadlines", "trip_freq", "PG_profile", "MEMORY", "comm_band differs"):
        assert fragment in notes and fragment in err
    run = tmp_path / "run"
    code, _, err = run_main(["run", str(out / "experiment.yaml"), "--out", str(run), "--check"])
    assert code == 0, err
    seg = pd.read_csv(run / "segments.csv")
    tasks = pd.read_csv(run / "tasks.csv")
    busy = seg.assign(ms=seg.end_ms - seg.start_ms).groupby(["job_id", "task", "processor"], as_index=False).ms.sum()
    busy = busy.merge(tasks[["job_id", "task", "model"]], on=["job_id", "task"])
    assert len(busy) == len(tasks) > 50
    expected = busy.apply(lambda r: DS3_TIMES_US[r.processor][r.model] / 1000.0, axis=1)
    assert (busy.ms - expected).abs().max() < 2e-6  # CSV rounding at 1e-6 ms
    assert busy.processor.nunique() >= 2


def test_ds3_mapping_details() -> None:
    platform, workload, experiment, _notes = ds3.convert(DATA / "ds3_soc.txt", [DATA / "ds3_job_radio.txt", DATA / "ds3_job_probe.txt"],
                                                       config_file=DATA / "ds3_config.ini")
    assert set(platform["processors"]) == {"LITTLE", "BIG", "FFTACC"}  # the MEM resource is not a processor
    big = platform["processors"]["BIG"]
    assert big["kind"] == "cpu" and big["capacity"] == 2 and platform["processors"]["FFTACC"]["kind"] == "dsp"
    # all-cores power at the profiled OPPs; 1600 MHz from 2000 MHz by V^2 f: 3.0 * (1.0/1.2)^2 * 0.8
    assert big["busy_w_table"] == pytest.approx([0.7, 3.0 * (1.0 / 1.2) ** 2 * 0.8, 3.0])
    assert platform["domains"]["BIG"]["opps"] == [[800, 900], [1600, 1000], [2000, 1200]]
    # arrivals: scale 2000 us, probabilities 0.75 / 0.25 -> 375 and 125 jobs/s
    assert workload["apps"]["radio"]["arrival"] == {"type": "poisson", "rate_hz": 375.0}
    assert workload["apps"]["probe"]["arrival"]["rate_hz"] == 125.0
    # edges: volume / median bandwidth (500 per us) -> 2000 / 500 us = 0.004 ms
    g = workload["apps"]["radio"]["graph"]
    assert g["fft"]["after"] == {"src": {"transfer_ms": 0.004}}
    assert set(g["decode"]["after"]) == {"fft", "fft_b"} and "after" not in g["src"]
    assert experiment["policy"] == {"name": "heft", "governor": "performance"}
    assert experiment["seed"] == 3 and experiment["duration_ms"] == 200.0
    assert platform["models"]["fft"]["confidence"] == {"LITTLE": "measured", "BIG": "measured", "FFTACC": "measured"}


def test_ds3_positional_resource_line_and_scale_option(tmp_path: Path) -> None:
    soc = tmp_path / "soc.txt"
    soc.write_text("add_new_resource CPU P1 0 1 2 performance\nopp 1000 1150\npower_profile 1000 0.1\na 12\nb 15\n", encoding="utf-8")
    job = tmp_path / "job.txt"
    job.write_text("job_name J\nadd_new_tasks 2\na 0\na HEAD\nb 1 0\nb TAIL\ncomm_vol 0 1 5\n", encoding="utf-8")
    platform, workload, _experiment, notes = ds3.convert(soc, [job], scale_us=1000)
    assert platform["models"]["a"]["latency_ms"] == {"P1": 0.012}
    assert workload["apps"]["J"]["arrival"]["rate_hz"] == 1000.0
    assert workload["apps"]["J"]["graph"]["b"]["after"] == {"a": {"transfer_ms": 0.005}}  # no comm_band: 1 per us
    assert any("equally likely" in n for n in notes)


def test_ds3_keyword_line_is_read_by_position_and_performance_mode_uses_scale_values(tmp_path: Path) -> None:
    soc = tmp_path / "soc.txt"
    soc.write_text("add_new_resource resoruce_type CPU2 resource_name P2 resource_ID 0 capacity 1 "
                   "num_supported_functionalities 1 DVFS_mode performance\nopp 1000 900\na 12\n", encoding="utf-8")
    job = tmp_path / "job.txt"
    job.write_text("job_name J\nadd_new_tasks 1\na 0\n", encoding="utf-8")
    ini = tmp_path / "c.ini"
    ini.write_text("[SIMULATION MODE]\nsimulation_mode = performance\nscale = 100\nscale_values = 500-701-100\n", encoding="utf-8")
    platform, workload, _experiment, notes = ds3.convert(soc, [job], config_file=ini)
    assert platform["processors"]["P2"]["kind"] == "cpu"
    assert workload["apps"]["J"]["arrival"]["rate_hz"] == 2000.0  # scale_values 500, 600, 700 -> the first, 500 us
    assert any("sweep of 3 values" in n for n in notes)
    _p, w2, _e, _n = ds3.convert(soc, [job], config_file=ini, scale_us=250)
    assert w2["apps"]["J"]["arrival"]["rate_hz"] == 4000.0


@pytest.mark.parametrize(
    ("soc", "job", "field"),
    [
        ("add_new_resource CPU P1 0 1 1 performance\nopp 1000 1150\na 12\n", "job_name J\nadd_new_tasks 1\nz 0\n", "z"),
        ("add_new_resource CPU P1 0 1 2 performance\nopp 1000 1150\na 12\n", "job_name J\nadd_new_tasks 1\na 0\n", "line 1"),
        ("add_new_resource CPU P1 0 1 1 performance\nopp 1000 fast\na 12\n", "job_name J\nadd_new_tasks 1\na 0\n", "line 2.voltage"),
        ("add_new_resource CPU P1 0 1 1 performance\nopp 1000 1150\na 12\n", "job_name J\nadd_new_tasks 1\na 0 7\n",
         "line 3.predecessors"),
        ("add_new_resource CPU P1 0 1 1 performance\nopp 1000 1150\na 12\n", "job_name J\nadd_new_tasks 2\na 0\n", "add_new_tasks"),
        ("hello world\n", "job_name J\nadd_new_tasks 1\na 0\n", "line 1"),
    ],
)
def test_ds3_bad_input_exit_2(tmp_path: Path, soc: str, job: str, field: str) -> None:
    (tmp_path / "soc.txt").write_text(soc, encoding="utf-8")
    (tmp_path / "job.txt").write_text(job, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run_main(["import", "ds3", str(tmp_path / "soc.txt"), str(tmp_path / "job.txt"), "--scale", "100", "--out", str(out)])
    assert code == 2 and err.count("\n") == 1, err
    assert f": {field}: " in err and err.startswith("error: " + str(tmp_path)), err
    assert not out.exists()


def test_ds3_needs_scale(tmp_path: Path) -> None:
    code, _, err = run_main(["import", "ds3", str(DATA / "ds3_soc.txt"), str(DATA / "ds3_job_probe.txt"), "--out", str(tmp_path / "o")])
    assert code == 2 and "--scale" in err


def test_ds3_output_is_deterministic(tmp_path: Path) -> None:
    for d in ("a", "b"):
        assert run_main(["import", "ds3", *DS3_ARGS, "--out", str(tmp_path / d)])[0] == 0
    for f in ("platform.yaml", "workload.yaml", "experiment.yaml", "IMPORT_NOTES.md"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert yaml.safe_load((tmp_path / "a" / "experiment.yaml").read_text())["platform"] == "platform.yaml"


def test_config_error_is_raised_as_such() -> None:
    with pytest.raises(ConfigError):
        ds3.parse_soc(DATA / "does-not-exist.txt")
