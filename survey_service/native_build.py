"""Build the service's optional C extensions, each beside its source.

``make setup`` runs ``python -m survey_service.native_build``. Every
extension is optional: the module that uses it falls back to its Python
loops when it does not import, so a machine without a C compiler, Python's
headers or a library's headers gets a warning here, not a failed setup. A
build that is up to date (the module newer than its source and this script)
is left as it is; a new build is written under a temporary name and moved
into place, so a process that has the old one loaded keeps a whole file.

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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAG = "native_build"


@dataclass(frozen=True)
class Extension:
    """One C module: ``name`` is its dotted name, its source is ``<name>.c``."""

    name: str
    libraries: tuple[str, ...] = ()
    # A program that must compile and link against ``libraries`` before the
    # module is tried, and what it stands for in the warning when it does not.
    probe: str | None = None
    probe_needs: str = ""
    # Headers of the service's own that the source includes (paths from the root).
    headers: tuple[str, ...] = ()

    @property
    def source(self) -> Path:
        return ROOT.joinpath(*self.name.split(".")).with_suffix(".c")

    @property
    def target(self) -> Path:
        """Where the module goes: its name + this interpreter's extension suffix."""
        return self.source.with_name(self.source.stem + sysconfig.get_config_var("EXT_SUFFIX"))

    @property
    def link_flags(self) -> list[str]:
        return [f"-l{lib}" for lib in self.libraries]


EXTENSIONS = (
    # AES-256-GCM and HMAC-SHA256 of a batch over the system OpenSSL 3.
    Extension(
        "survey_service.privacy._sealer",
        libraries=("crypto",),
        probe="#include <openssl/evp.h>\nint main(void) { return EVP_MAC_fetch(0, 0, 0) != 0; }\n",
        probe_needs="OpenSSL 3 (libcrypto and its headers)",
    ),
    # The common row of a client list (a mobile or a landline of the area code, a
    # prefix known valid, a date and a kind seen before) in C.
    Extension("survey_service.lists.parsing._rowscan"),
    # A batch's columns inserted on the import's own SQLite handle.
    Extension(
        "survey_service.lists._sqlite_rows",
        libraries=("sqlite3",),
        probe="#include <sqlite3.h>\nint main(void) { return sqlite3_libversion_number() == 0; }\n",
        probe_needs="SQLite 3 (libsqlite3 and its headers)",
        headers=("survey_service/lists/_columns.h",),
    ),
    # A batch's columns as PostgreSQL binary COPY data.
    Extension("survey_service.lists._copy_rows", headers=("survey_service/lists/_columns.h",)),
)


def _warn(ext: Extension, message: str) -> int:
    print(
        f"{TAG}: WARNING: {ext.target.name}: {message}; the Python fallback will be used",
        file=sys.stderr,
    )
    return 0


def _compiler() -> list[str] | None:
    command = shlex.split(os.environ.get("CC") or "cc")
    if not command or shutil.which(command[0]) is None:
        return None
    return command


def _probe_fails(ext: Extension, cc: list[str], scratch: Path) -> str | None:
    """Why ``ext.probe`` does not build and link, or None (also when there is none)."""
    if ext.probe is None:
        return None
    probe = scratch / "probe.c"
    probe.write_text(ext.probe)
    done = subprocess.run(
        [*cc, str(probe), "-o", str(scratch / "probe"), *ext.link_flags],
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    return done.stderr.strip() or "the probe did not build"


def build(ext: Extension, force: bool = False) -> int:
    """Compile one module; 0 when built, up to date, or skipped with a warning."""
    out = ext.target
    inputs = [ext.source, Path(__file__), *(ROOT / header for header in ext.headers)]
    newest_input = max(path.stat().st_mtime for path in inputs)
    if not force and out.exists() and out.stat().st_mtime >= newest_input:
        print(f"{TAG}: {out.name} is up to date")
        return 0
    cc = _compiler()
    if cc is None:
        return _warn(ext, "no C compiler (cc, or $CC) was found")
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        return _warn(ext, f"Python's headers are missing ({include}/Python.h)")
    with tempfile.TemporaryDirectory() as scratch:
        failed = _probe_fails(ext, cc, Path(scratch))
        if failed is not None:
            return _warn(ext, f"{ext.probe_needs} is not usable:\n{failed}")
        built = Path(scratch) / out.name
        command = [
            *cc,
            "-O2",
            "-shared",
            "-fPIC",
            "-Wall",
            f"-I{include}",
            str(ext.source),
            "-o",
            str(built),
            *ext.link_flags,
        ]
        print(f"{TAG}:", shlex.join(command))
        done = subprocess.run(command)
        if done.returncode:
            print(f"{TAG}: ERROR: {ext.source.name} did not compile", file=sys.stderr)
            return done.returncode
        # Copied beside the target, then renamed over it: never rewritten in place.
        staged = out.with_name(out.name + ".new")
        shutil.copyfile(built, staged)
        os.replace(staged, out)
    print(f"{TAG}: wrote {out}")
    return 0


def build_all(force: bool = False) -> int:
    """Every extension in turn; the first failure's code (a warning is no failure)."""
    codes = [build(ext, force) for ext in EXTENSIONS]
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(build_all(force="--force" in sys.argv[1:]))
