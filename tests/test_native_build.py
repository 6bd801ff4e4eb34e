"""`python -m survey_service.native_build`: a module is rebuilt when its header changes."""

from __future__ import annotations

import os
import shutil

import pytest

from survey_service import native_build

MODULE = """#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "_answer.h"
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_probe", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__probe(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "ANSWER", ANSWER) < 0) { Py_CLEAR(m); }
    return m;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_a_module_is_rebuilt_when_its_header_changes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(native_build, "ROOT", tmp_path)
    package = tmp_path / "native_probe_pkg"
    package.mkdir()
    (package / "_probe.c").write_text(MODULE)
    header = package / "_answer.h"
    header.write_text("#define ANSWER 41\n")
    ext = native_build.Extension("native_probe_pkg._probe", headers=("native_probe_pkg/_answer.h",))
    assert native_build.build(ext) == 0
    assert "wrote" in capsys.readouterr().out
    assert native_build.build(ext) == 0
    assert "is up to date" in capsys.readouterr().out
    header.write_text("#define ANSWER 42\n")
    later = ext.target.stat().st_mtime + 5
    os.utime(header, (later, later))
    assert native_build.build(ext) == 0
    assert "wrote" in capsys.readouterr().out
    monkeypatch.syspath_prepend(str(tmp_path))
    from native_probe_pkg import _probe

    assert _probe.ANSWER == 42
