"""Stand-ins for nvcc, cuobjdump and nvdisasm, so the compile-facts command runs end to end in well under a second.

Their output is the real tools' format, copied from what nvcc 13.0.88 (``-Xptxas -v``, sm_120a) and cuobjdump
13.2.51 (``--dump-resource-usage``, ``-sass``) printed for the emitted unit of
``sm120_nvfp4_128x32x128_c1x1x1_pp_auto_s7_void_bf16col_v450_swapab`` on the development machine (the mangled
kernel name shortened). Behaviour is steered by environment variables:

* ``FAKE_NVCC_LOG``: a file; every compile appends the unit's path (tests count compiles with it);
* ``FAKE_NVCC_FAIL``: a substring; a unit whose path contains it fails with a static_assert, as CUTLASS's do;
* ``FAKE_NVCC_SLEEP``: seconds each compile takes;
* ``FAKE_NVCC_REGS``: the registers reported (default 119).
"""

from __future__ import annotations

import sys
from pathlib import Path

KERNEL = "_ZN7cutlass13device_kernelINS_4gemm6kernel13GemmUniversalIfakeEEEEvNT_6ParamsE"

NVCC = r'''
import os, re, sys, time
args = sys.argv[1:]
if "--version" in args:
    print("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 13.0, V13.0.88")
    sys.exit(0)
src = args[args.index("-c") + 1]
out = args[args.index("-o") + 1]
if os.environ.get("FAKE_NVCC_LOG"):
    with open(os.environ["FAKE_NVCC_LOG"], "a") as fh:
        fh.write(src + "\n")
time.sleep(float(os.environ.get("FAKE_NVCC_SLEEP", "0")))
fail = os.environ.get("FAKE_NVCC_FAIL")
if fail and fail in src:
    sys.stderr.write(src + '(57): error: static assertion failed with "SharedStorage differs from the smem_tactics '
                     'model (78848 B)"\n')
    sys.exit(1)
regs = os.environ.get("FAKE_NVCC_REGS", "119")
targets = re.findall(r"code=(sm_\w+)", " ".join(args))
for t in targets:
    sys.stderr.write("ptxas info    : 11 bytes gmem\n"
                     f"ptxas info    : Compiling entry function 'KERNEL' for '{t}'\n"
                     "ptxas info    : Function properties for KERNEL\n"
                     "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
                     f"ptxas info    : Used {regs} registers, used 8 barriers\n"
                     "ptxas info    : Compile time = 606.030 ms\n")
open(out, "w").write(" ".join(targets) + "\n" + regs + "\n")
'''.replace("KERNEL", KERNEL)

CUOBJDUMP = r'''
import sys
option, obj = sys.argv[1], sys.argv[2]
targets, regs = open(obj).read().split("\n")[:2]
for t in targets.split():
    print(f"\nFatbin elf code:\n================\narch = {t}\ncode version = [1,8]\nhost = linux\ncompile_size = 64bit\n")
    if option == "--dump-resource-usage":
        print("Resource usage:\n Common:\n  GLOBAL:11 CONSTANT[4]:88\n Function KERNEL:\n"
              f"  REG:{regs} STACK:0 SHARED:1024 LOCAL:0 CONSTANT[2]:16 CONSTANT[0]:3200 TEXTURE:0 SURFACE:0 SAMPLER:0")
    else:
        print("\n\tcode for " + t + "\n\t\tFunction : KERNEL")
        for i in range(3):
            print(f"        /*4{i}80*/                   OMMA.SF.16864.F32.E2M1.E2M1.UE4M3.4X R40, R60, R46, R40, R76, R11, URZ ;")
        print("        /*4100*/                   EXIT ;")
'''.replace("KERNEL", KERNEL)


def install(folder: Path) -> dict:
    """Write the three tools into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, body in (("nvcc", NVCC), ("cuobjdump", CUOBJDUMP), ("nvdisasm", "import sys\nsys.exit(0)\n")):
        p = folder / name
        p.write_text(f"#!{sys.executable}\n{body}")
        p.chmod(0o755)
        paths[name] = str(p)
    return paths

