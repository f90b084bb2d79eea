"""`make demo`: build the sample warehouse, profile it, show what happened."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, check=True)


def main() -> None:
    run("baselinr", "demo", "--dir", "demo", "--force")
    run("baselinr", "tables", "-c", "examples/baselinr.yml")
    run("baselinr", "profile", "-c", "examples/baselinr.yml")
    run("baselinr", "status", "-c", "examples/baselinr.yml", "--limit", "8")


if __name__ == "__main__":
    main()
