"""Generate the Python gRPC stubs and their type stubs from the .proto files.

`make protos` writes them into the top-level `haul` package (`haul/jobstore/v1/`); the
freshness test writes into a temporary folder and compares, so both use exactly this command.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
# The .proto files are laid out by package path, so generated modules land at haul/jobstore/v1/.
REPO_ROOT = PROTO_ROOT.parent
PROTO_FILES = ("haul/jobstore/v1/jobstore.proto",)


def generate(out_dir: Path) -> None:
    """Run protoc for every contract file, writing package-laid-out modules under out_dir."""
    plugin = shutil.which("protoc-gen-mypy_grpc", path=str(Path(sys.executable).parent))
    if plugin is None:
        raise SystemExit("protoc-gen-mypy_grpc is missing: run `make setup` first")
    grpc_include = Path(protoc.__file__).resolve().parent / "_proto"
    for proto in PROTO_FILES:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{grpc_include}",
            f"--plugin=protoc-gen-mypy_grpc={plugin}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            f"--mypy_grpc_out={out_dir}",
            str(PROTO_ROOT / proto),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT)
