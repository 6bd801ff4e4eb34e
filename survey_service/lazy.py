"""Modules loaded on first use: what the blueprints and commands call, at start-up.

Every blueprint and command is registered when the app is created, so
anything they import at their top is loaded by every process, a command
such as ``clients check`` included. The stages behind the pages (results,
sampling, exports: numpy and the statistics) are bound with
:func:`lazy_module` instead, and imported by the first request or command
that uses one.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """A stand-in for a module, imported by the first attribute read."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_module"] = None

    def _load(self) -> ModuleType:
        module = self.__dict__["_lazy_module"]
        if module is None:
            module = importlib.import_module(self.__name__)
            self.__dict__["_lazy_module"] = module
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__["_lazy_module"] is not None else "not loaded"
        return f"<lazy module {self.__name__!r} ({state})>"


def lazy_module(name: str) -> Any:
    """``name`` (a dotted module path) to be imported when an attribute is first read."""
    return LazyModule(name)
