"""Build the native batch sealer (``_sealer.c``) beside its source.

``make setup`` runs ``python -m survey_service.privacy.build_sealer``. The
extension is optional: :mod:`survey_service.privacy.vault` falls back to its
Python loops when it does not import, so a machine without a C compiler,
Python's headers or OpenSSL 3's headers gets a warning here, not a failed
setup. A build that is up to date (the module newer than its source and
this script) is left as it is; a new build is written under a temporary
name and moved into place, so a process that has the old one loaded keeps
a whole file.

Pure: the standard library only, and no import of the service.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_sealer.c"
PROBE = "#include <openssl/evp.h>\nint main(void) { return EVP_MAC_fetch(0, 0, 0) != 0; }\n"


def target() -> Path:
    """Where the module goes: ``_sealer`` + this interpreter's extension suffix."""
    return HERE / ("_sealer" + sysconfig.get_config_var("EXT_SUFFIX"))


def _warn(message: str) -> int:
    print(f"build_sealer: WARNING: {message}; the Python fallback will be used", file=sys.stderr)
    return 0


def _compiler() -> list[str] | None:
    command = shlex.split(os.environ.get("CC") or "cc")
    if not command or shutil.which(command[0]) is None:
        return None
    return command


def _openssl_missing(cc: list[str], scratch: Path) -> str | None:
    """Why a program using OpenSSL 3's EVP_MAC does not build and link, or None."""
    probe = scratch / "probe.c"
    probe.write_text(PROBE)
    done = subprocess.run(
        [*cc, str(probe), "-o", str(scratch / "probe"), "-lcrypto"],
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    return done.stderr.strip() or "the probe did not build"


def build(force: bool = False) -> int:
    """Compile the module; 0 when built, up to date, or skipped with a warning."""
    out = target()
    newest_input = max(SOURCE.stat().st_mtime, Path(__file__).stat().st_mtime)
    if not force and out.exists() and out.stat().st_mtime >= newest_input:
        print(f"build_sealer: {out.name} is up to date")
        return 0
    cc = _compiler()
    if cc is None:
        return _warn("no C compiler (cc, or $CC) was found")
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        return _warn(f"Python's headers are missing ({include}/Python.h)")
    with tempfile.TemporaryDirectory() as scratch:
        missing = _openssl_missing(cc, Path(scratch))
        if missing is not None:
            return _warn(f"OpenSSL 3 (libcrypto and its headers) is not usable:\n{missing}")
        built = Path(scratch) / out.name
        command = [
            *cc,
            "-O2",
            "-shared",
            "-fPIC",
            "-Wall",
            f"-I{include}",
            str(SOURCE),
            "-o",
            str(built),
            "-lcrypto",
        ]
        print("build_sealer:", shlex.join(command))
        done = subprocess.run(command)
        if done.returncode:
            print(f"build_sealer: ERROR: {SOURCE.name} did not compile", file=sys.stderr)
            return done.returncode
        # Copied beside the target, then renamed over it: never rewritten in place.
        staged = out.with_name(out.name + ".new")
        shutil.copyfile(built, staged)
        os.replace(staged, out)
    print(f"build_sealer: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(build(force="--force" in sys.argv[1:]))
