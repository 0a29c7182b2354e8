"""Run the project on versions other than the lock's, in a throwaway environment.

`--newest` (make check-latest): the newest version of every package that pyproject.toml allows,
as a fresh `pip install longwrite` would take today. Run it before every lock refresh: it is how
a release that breaks us (httpx2 2.17, say) is found before a user finds it.
`--lowest` (make check-lowest): the lowest version of each direct dependency (uv's
lowest-direct), so the floors in pyproject.toml are versions a test has passed with.

Both install the project with every extra but gpu (torch stays the lock's CPU build: any other
is a multi-GB CUDA download), run the unit tests and a 150-word write on the embedded default,
and print the versions that differ from the lock. Exit status 0 only when every step passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV = str(Path(sys.executable).parent / "uv")
WRITE_WORDS = 150


def locked_versions() -> dict[str, set[str]]:
    """Each package of uv.lock and its versions (a package may have one per Python version)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        versions.setdefault(package["name"], set()).add(package.get("version", "?"))
    return versions


def installed_versions(python: Path) -> dict[str, str]:
    freeze = subprocess.run([UV, "pip", "list", "--python", str(python), "--format", "json"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return {entry["name"].lower().replace("_", "-"): entry["version"] for entry in json.loads(freeze.stdout)}


def differences(installed: dict[str, str], locked: dict[str, set[str]]) -> list[str]:
    lines = []
    for name, version in sorted(installed.items()):
        if name == "longwrite":
            continue
        if name not in locked:
            lines.append(f"  {name} {version} (not in the lock)")
        elif version not in locked[name]:
            lines.append(f"  {name} {version} (lock: {', '.join(sorted(locked[name]))})")
    return lines


def step(title: str, command: list[str], **options) -> bool:
    print(f"== {title}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, **options)
    print(f"== {title}: {'passed' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s",
          flush=True)  # fmt: skip
    return result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--newest", action="store_true", help="the newest versions pyproject.toml allows")
    which.add_argument("--lowest", action="store_true", help="the lowest version of each direct dependency")
    args = parser.parse_args()
    resolution = "highest" if args.newest else "lowest-direct"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="longwrite-versions-") as tmp:
        venv = Path(tmp) / "venv"
        python = venv / "bin" / "python"
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        ok = step("environment", [UV, "venv", "-q", "--python", sys.executable, str(venv)], env=env) and step(
            f"install ({resolution})",
            [UV, "pip", "install", "-q", "--python", str(python), "--resolution", resolution, "-e", ".[all,dev]"],
            env=env,
        )
        if ok:
            print("== versions that differ from the lock:")
            print("\n".join(differences(installed_versions(python), locked_versions())) or "  none")
            clean = {k: v for k, v in env.items() if not k.startswith("LONGWRITE_")}
            clean["LONGWRITE_HOME"] = str(Path(tmp) / "home")
            ok = step("unit tests", [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
                      env=clean)  # fmt: skip
            out = Path(tmp) / "note.md"
            wrote = step(
                f"a {WRITE_WORDS}-word write on the embedded default",
                [str(venv / "bin" / "longwrite"), "write", f"Write a {WRITE_WORDS}-word note about tea.",
                 "-o", str(out), "--json"],
                env=clean,
            )  # fmt: skip
            if wrote:
                print(f"   wrote {len(out.read_text(encoding='utf-8').split())} words")
            ok = ok and wrote
    print(f"check ({resolution}): {'passed' if ok else 'FAILED'} in {(time.monotonic() - started) / 60:.1f} min")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
