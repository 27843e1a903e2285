"""What the machine can do that changes how a model trains, read without torch
where possible, so that a cache key can ask cheaply.

`native_bf16` is the one place that decides whether bfloat16 matrix products
are worth using: the command line refuses `--precision bf16` where they are
not, and the site's experiments train in float32 there.
"""

from __future__ import annotations

import functools
import platform

# The /proc/cpuinfo flags of CPUs that multiply bfloat16 matrices in hardware:
# x86 with AVX512-BF16 or AMX, Arm with its BF16 extension.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


@functools.cache
def native_bf16(device: str) -> bool:
    """Whether `device` ("cpu", "cuda", ...) multiplies bfloat16 matrices in hardware.

    On a CPU this reads /proc/cpuinfo (Linux only; elsewhere False). oneDNN
    also runs bfloat16 on AVX-512 CPUs without those instructions, by
    emulation, no faster than float32: that counts as no. On a GPU it asks
    torch.
    """
    kind = device.split(":")[0]
    if kind == "cuda":
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if kind != "cpu" or platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = set(cpuinfo.read().split())
    except OSError:
        return False
    return bool(flags & BF16_FLAGS)
