"""smem_tactics: exact shared-memory footprints of CUTLASS grouped GEMM kernels (MoE expert GEMMs)."""

from setuptools import find_packages, setup

setup(
    name="smem_tactics",
    version="0.1.0",
    description="Exact, version-aware shared-memory model of CUTLASS grouped GEMM configs; tactic pruning for "
                "TensorRT-LLM and FlashInfer; SM12x config synthesis and emission",
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["smem_tactics", "smem_tactics.*", "cpp_bindings", "cpp_bindings.*"]),
    package_data={
        "smem_tactics": ["data/*.json", "data/*/*.json", "data/*/*.md", "data/*/*.png"],
        "cpp_bindings": ["*.hpp", "*.cu", "*.h", "*/*.cu", "*/*.hpp", "*/*.cpp"],
    },
    install_requires=[],
    extras_require={
        # CUTLASS 4.2.0 headers (the oracle's default tree) and CUTLASS 4.5.0 inside FlashInfer's wheel
        "oracle": ["nvidia-cutlass==4.2.0.0"],
        "flashinfer": ["flashinfer-python==0.7.2.post1"],
        # the Triton oracle (CPU compiles of the fused-MoE kernels: smem-tactics verify --triton)
        "triton": ["triton>=3.6.0"],
        "plot": ["matplotlib"],
        # smem-tactics compile-facts --ray-address: compiles as tasks of a Ray cluster (checked with Ray 2.60.0)
        "ray": ["ray"],
        "test": ["pytest", "hypothesis", "matplotlib"],
        # everything CI and developers use on a CPU-only machine (torch pinned to the CPU wheel)
        "dev": ["torch==2.13.0", "flashinfer-python==0.7.2.post1", "nvidia-cutlass==4.2.0.0", "triton==3.6.0", "matplotlib",
                "pytest", "hypothesis"],
    },
    entry_points={"console_scripts": ["smem-tactics=smem_tactics.cli:main"]},
)
