"""`auto` speed settings chosen from the machine: precision, channels_last, threads."""

import pytest
import torch

from lrlc.experiments import machine
from lrlc.experiments.machine import Capabilities, SpeedOptions, plan_execution, resolve_precision

CPU_AVX2 = Capabilities("cpu", "AMD EPYC (AVX2 only)", native_bf16=False, vector_isa="AVX2")
CPU_AMX = Capabilities("cpu", "Intel Xeon (AMX)", native_bf16=True, vector_isa="AVX512")
GPU_A100 = Capabilities("cuda", "NVIDIA A100", native_bf16=True)
GPU_T4 = Capabilities("cuda", "Tesla T4", native_bf16=False)


@pytest.mark.parametrize(
    "caps, expected",
    [(CPU_AVX2, "fp32"), (CPU_AMX, "bf16"), (GPU_A100, "bf16"), (GPU_T4, "fp32")],
)
def test_auto_is_bf16_only_where_the_device_runs_it_natively(caps, expected):
    precision, why = resolve_precision("auto", caps)
    assert precision == expected
    assert why.startswith("auto:")
    assert ("emulated" in why) == (expected == "fp32")


def test_an_explicit_precision_is_kept_and_emulated_bf16_is_called_slow():
    assert resolve_precision("fp32", CPU_AMX) == ("fp32", "asked for")
    precision, why = resolve_precision("bf16", CPU_AVX2)
    assert precision == "bf16" and "slower" in why and "--precision auto" in why
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        resolve_precision("fp16", CPU_AVX2)


@pytest.mark.parametrize("native", [False, True])
def test_the_cpu_probe_follows_onednn(monkeypatch, native):
    monkeypatch.setattr(machine, "_mkldnn_bf16", lambda: native)
    caps = machine.capabilities(torch.device("cpu"))
    assert caps.native_bf16 is native and caps.name == machine.cpu_model()
    plan = plan_execution("auto", torch.device("cpu"))
    assert plan.precision == ("bf16" if native else "fp32")


def test_a_failing_cpu_probe_means_emulated(monkeypatch):
    def broken():
        raise RuntimeError("no such op")

    monkeypatch.setattr(machine, "_mkldnn_bf16", broken)
    assert machine.cpu_native_bf16() is False


@pytest.mark.parametrize("capability, expected", [((8, 0), "bf16"), ((7, 5), "fp32")])
def test_the_cuda_probe_follows_the_compute_capability(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "a mocked GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: capability)
    plan = plan_execution("auto", torch.device("cuda"))
    assert plan.caps == Capabilities("cuda", "a mocked GPU", expected == "bf16")
    assert plan.precision == expected
    assert plan.channels_last is True  # auto: NHWC on CUDA


def test_speed_switches_resolve_from_the_device_and_can_be_overridden():
    cpu = torch.device("cpu")
    auto = plan_execution("fp32", cpu, caps=CPU_AVX2)
    assert (auto.channels_last, auto.compile) == (False, False)
    forced = plan_execution("fp32", cpu, SpeedOptions(channels_last=True, compile=True), CPU_AVX2)
    assert (forced.channels_last, forced.compile) == (True, True)
    off = plan_execution("fp32", torch.device("cuda"), SpeedOptions(channels_last=False), GPU_A100)
    assert off.channels_last is False
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        SpeedOptions(threads=0)


def test_threads_are_set_when_asked_and_recorded():
    before = torch.get_num_threads()
    try:
        plan = plan_execution("fp32", torch.device("cpu"), SpeedOptions(threads=1), CPU_AVX2)
        assert plan.threads == 1 == torch.get_num_threads()
        assert plan.record()["threads"] == 1
    finally:
        torch.set_num_threads(before)


def test_the_plan_line_says_device_precision_why_and_threads():
    plan = plan_execution("auto", torch.device("cpu"), caps=CPU_AVX2)
    line = plan.describe()
    assert "AMD EPYC" in line and "precision fp32" in line and "no native bf16" in line
    assert f"{plan.threads} threads" in line
    assert "; float32 row products compiled (AVX" in line or "row products torch" in line
    with plan.autocast():
        assert not torch.is_autocast_enabled("cpu")
    bf16 = plan_execution("bf16", torch.device("cpu"), caps=CPU_AMX)
    with bf16.autocast():
        assert torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize(
    "caps, expected",
    [(CPU_AVX2, False), (CPU_AMX, True), (GPU_A100, True), (GPU_T4, True),
     (Capabilities("cpu", "AMD EPYC (Zen 5)", True, "AVX512_BF16"), True),
     (Capabilities("cpu", "an ARM CPU", False, "DEFAULT"), False)],
)  # fmt: skip
def test_auto_channels_last_where_it_was_measured_faster(caps, expected):
    # Measured: AVX-512 CPUs 10-22% faster steps with it; AVX2 kernels 7% slower.
    assert (
        plan_execution("fp32", torch.device(caps.device_type), caps=caps).channels_last is expected
    )


def test_the_cpu_probe_reports_the_kernels_torch_dispatches_to(monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert machine.capabilities(torch.device("cpu")).vector_isa == "AVX512"
    assert plan_execution("fp32", torch.device("cpu")).channels_last is True
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert plan_execution("fp32", torch.device("cpu")).channels_last is False
