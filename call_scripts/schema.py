"""Load and validate script files.

A script is a YAML file; :func:`validate` returns every problem it finds as a
:class:`ScriptError` naming the file, the line (from yaml's node marks) and the
path of the offending value, and :func:`load_script` raises
:class:`ScriptInvalid` carrying them. The checks are what ``scripts check``
reports. See ``call_scripts/README.md`` for the format.

This module stays whole although it is longer than the ~400 lines the project
aims for: it is one grammar. Every ``_check_*`` function reads one level of
the same YAML tree with the same node marks and the same error list, and the
levels refer to each other (items name options, branches name items, scoring
names items and levels); split across files, each piece would need the whole
tree's context passed along, and a reader would have to hop between files to
follow one rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from call_scripts.model import (
    AGENT,
    CHANNELS,
    CHOICE_KINDS,
    CONSENT,
    ENDS,
    ENDS_DECLINED,
    ENDS_SCREENED_OUT,
    IVR,
    KINDS,
    OPEN,
    PLACEHOLDERS,
    RATING,
    SCREENING,
    STATEMENT,
    YES_NO,
    Condition,
    Item,
    IvrSettings,
    Option,
    Scoring,
    Script,
)

#: Where ``load_script("standard_satisfaction")`` looks.
SCRIPTS_DIR = Path(__file__).parent / "scripts"

#: The closings every script must word: one per way an interview ends.
CLOSINGS = ("complete", "screened_out", "declined")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")

_TOP_KEYS = (
    "id",
    "version",
    "title",
    "description",
    "ivr",
    "scales",
    "items",
    "scoring",
    "closing",
)
_ITEM_KEYS = (
    "id",
    "kind",
    "title",
    "text",
    "ivr",
    "options",
    "scale",
    "may_skip",
    "ask_if",
    "channels",
    "note",
)
_OPTION_KEYS = ("code", "label", "key", "points", "not_applicable", "ends", "ivr_label")
_IVR_KEYS = tuple(IvrSettings.__dataclass_fields__)
_SCORING_KEYS = ("weights", "satisfied", "partial_min_share")

_MISSING = object()


@dataclass(frozen=True)
class ScriptError:
    """One problem in a script file: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<top>'}: {self.message}"


class ScriptInvalid(ValueError):
    """A script file failed validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[ScriptError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def script_path(path_or_id: str | Path) -> Path:
    """The file a script argument names: a path, or an id in :data:`SCRIPTS_DIR`."""
    text = str(path_or_id)
    if isinstance(path_or_id, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(path_or_id)
    return SCRIPTS_DIR / f"{text}.yaml"


def validate(path: str | Path) -> list[ScriptError]:
    """Every problem in the script file at ``path`` (empty when it is valid)."""
    _script, errors = _load(script_path(path))
    return errors


# Parsed scripts by file and content hash: a request handler may call
# load_script freely (reading a small file is cheap, parsing less so), and an
# edited file is parsed again.
_CACHE: dict[Path, tuple[str, Script]] = {}


def load_script(path_or_id: str | Path) -> Script:
    """Load and validate a script, from a file path or a shipped script's id.

    :raise ScriptInvalid: if the file is missing or has any problem.
    """
    path = script_path(path_or_id)
    try:
        content: bytes | None = path.read_bytes()
    except OSError:
        content = None
    stamp = hashlib.sha256(content).hexdigest() if content is not None else None
    cached = _CACHE.get(path)
    if stamp is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    script, errors = _load(path, content)
    if errors or script is None:
        raise ScriptInvalid(errors)
    if stamp is not None:
        _CACHE[path] = (stamp, script)
    return script


def list_scripts() -> list[Script]:
    """The scripts shipped in :data:`SCRIPTS_DIR`, sorted by id."""
    return [load_script(p) for p in sorted(SCRIPTS_DIR.glob("*.yaml"))]


# --------------------------------------------------------------------------- parsing


def _load(path: Path, content: bytes | None = None) -> tuple[Script | None, list[ScriptError]]:
    file = str(path)
    try:
        text = (path.read_bytes() if content is None else content).decode("utf-8")
    except OSError as exc:
        return None, [ScriptError(file, None, "", f"cannot read file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [ScriptError(file, None, "", "file is not UTF-8 text")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [ScriptError(file, line, "", f"not valid YAML: {problem}")]
    finally:
        loader.dispose()
    data = _tidy(data)
    builder = _Builder(path)
    if node is not None:
        builder.mark(node, ())
    script = builder.build(data)
    return (None if builder.errors else script), builder.errors


# Whitespace touching a non-ASCII character is dropped, so that long Chinese
# texts may be folded over lines (YAML ">-" joins lines with a space).
_CJK_SPACE_RE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")


def _tidy(data: Any) -> Any:
    if isinstance(data, str):
        return _CJK_SPACE_RE.sub("", data).strip()
    if isinstance(data, list):
        return [_tidy(v) for v in data]
    if isinstance(data, dict):
        return {k: _tidy(v) for k, v in data.items()}
    return data


def _fmt_path(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text"}.get(
        type(value), "a list" if isinstance(value, list) else "a mapping"
    )


class _Builder:
    """Checks parsed YAML and builds the model, collecting every error."""

    def __init__(self, path: Path):
        self.path = path
        self.file = str(path)
        self.lines: dict[tuple, int] = {}
        self.errors: list[ScriptError] = []
        # Kinds of all items written in the file, built or not, so that an item
        # with its own error does not also fail every reference to it.
        self.declared: dict[str, Any] = {}
        # Where each options tuple was written (a scale or an item), to report a
        # problem of a shared scale once, at the scale.
        self.option_source: dict[int, tuple] = {}

    # ----- marks and errors

    def mark(self, node: yaml.Node, path: tuple, line: int | None = None) -> None:
        """Record the line of every value, and report duplicate mapping keys."""
        self.lines[path] = line or node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                key_line = key_node.start_mark.line + 1
                if key in seen:
                    self.errors.append(
                        ScriptError(
                            self.file,
                            key_line,
                            _fmt_path((*path, key)),
                            f"duplicate key {key!r}",
                        )
                    )
                seen.add(key)
                if key is not None and key != "<<":
                    self.mark(value_node, (*path, key), key_line)
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                self.mark(child, (*path, index))

    def line_of(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def err(self, path: tuple, message: str) -> None:
        self.errors.append(ScriptError(self.file, self.line_of(path), _fmt_path(path), message))

    # ----- typed field access

    def get(
        self,
        mapping: Mapping,
        key: str,
        path: tuple,
        kind: type | tuple[type, ...],
        *,
        required: bool = False,
        default: Any = None,
    ) -> Any:
        """``mapping[key]`` checked against ``kind``; errors are recorded, not raised."""
        value = mapping.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.err(path, f"missing required field {key!r}")
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            want = " or ".join(_type_name(k()) for k in kinds)
            hint = ""
            if isinstance(value, bool) and str in kinds:
                hint = " (YAML reads yes/no/on/off unquoted as true/false; put it in quotes)"
            self.err((*path, key), f"{key!r} must be {want}, not {_type_name(value)}{hint}")
            return default
        return value

    def unknown_keys(self, mapping: Mapping, allowed: tuple[str, ...], path: tuple) -> None:
        for key in mapping:
            if key not in allowed:
                self.err((*path, key), f"unknown field {key!r} (allowed: {', '.join(allowed)})")

    def placeholders(self, text: str, path: tuple, allowed: tuple[str, ...] = PLACEHOLDERS):
        for name in _PLACEHOLDER_RE.findall(text):
            if name not in allowed:
                self.err(
                    path,
                    f"unknown placeholder {{{name}}} (allowed: "
                    + ", ".join(f"{{{a}}}" for a in allowed)
                    + ")",
                )

    # ----- the whole script

    def build(self, data: Any) -> Script | None:
        if not isinstance(data, dict):
            self.err((), f"a script must be a mapping of fields, not {_type_name(data)}")
            return None
        self.unknown_keys(data, _TOP_KEYS, ())
        script_id = self.get(data, "id", (), str, required=True)
        if script_id is not None:
            if not _ID_RE.match(script_id):
                self.err(("id",), f"id {script_id!r} must be lower-case letters, digits and _")
            elif script_id != self.path.stem:
                self.err(("id",), f"id {script_id!r} does not match the file name {self.path.name}")
        version = self.get(data, "version", (), int, required=True)
        if version is not None and version < 1:
            self.err(("version",), f"version must be 1 or more, not {version}")
        title = self.get(data, "title", (), str, required=True)
        self.get(data, "description", (), str)
        ivr = self.build_ivr(self.get(data, "ivr", (), dict, default={}))
        scales = self.build_scales(self.get(data, "scales", (), dict, default={}), ivr)
        items = self.build_items(self.get(data, "items", (), list, required=True), scales, ivr)
        scoring = self.build_scoring(data, items)
        closing, closing_ivr = self.build_closing(
            self.get(data, "closing", (), dict, required=True)
        )
        if self.errors:
            return None
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return Script(
            id=script_id,
            version=version,
            title=title,
            items=tuple(items),
            scoring=scoring,
            ivr=ivr,
            closing=MappingProxyType(closing),
            closing_ivr=MappingProxyType(closing_ivr),
            digest=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            path=self.path,
        )

    def build_ivr(self, raw: dict) -> IvrSettings:
        path = ("ivr",)
        self.unknown_keys(raw, _IVR_KEYS, path)
        defaults = IvrSettings()
        values: dict[str, Any] = {}
        for name in _IVR_KEYS:
            default = getattr(defaults, name)
            kind = (str, int) if name == "repeat_key" else type(default)
            value = self.get(raw, name, path, kind, default=default)
            values[name] = str(value) if name == "repeat_key" else value
        if not (1 <= values["timeout"] <= 60):
            self.err((*path, "timeout"), "timeout must be 1 to 60 seconds")
        if not (0 <= values["max_retries"] <= 5):
            self.err((*path, "max_retries"), "max_retries must be 0 to 5")
        if not re.fullmatch(r"[0-9*#]", values["repeat_key"]):
            self.err((*path, "repeat_key"), "repeat_key must be one key: 0-9, * or #")
        self.placeholders(values["option_phrase"], (*path, "option_phrase"), ("label", "key"))
        self.placeholders(values["repeat_phrase"], (*path, "repeat_phrase"), ("key",))
        for name in ("no_input", "invalid_key", "goodbye"):
            self.placeholders(values[name], (*path, name))
        return IvrSettings(**values)

    # ----- options and scales

    def build_options(self, raw: list, path: tuple, ivr: IvrSettings) -> tuple[Option, ...] | None:
        if not raw:
            self.err(path, "options must list at least one option")
            return None
        errors_before = len(self.errors)
        options: list[Option] = []
        codes: dict[str, int] = {}
        keys: dict[str, int] = {}
        for index, entry in enumerate(raw):
            opath = (*path, index)
            if not isinstance(entry, dict):
                self.err(opath, f"an option must be a mapping, not {_type_name(entry)}")
                continue
            self.unknown_keys(entry, _OPTION_KEYS, opath)
            code = self.get(entry, "code", opath, str, required=True)
            label = self.get(entry, "label", opath, str, required=True)
            key = self.get(entry, "key", opath, (str, int), required=True)
            points = self.get(entry, "points", opath, (int, float))
            na = self.get(entry, "not_applicable", opath, bool, default=False)
            ends = self.get(entry, "ends", opath, str)
            ivr_label = self.get(entry, "ivr_label", opath, str)
            if code is not None:
                if not _CODE_RE.match(code):
                    self.err((*opath, "code"), f"code {code!r} must be letters, digits and _")
                elif code in codes:
                    self.err((*opath, "code"), f"duplicate option code {code!r}")
                codes.setdefault(code, index)
            if key is not None:
                key = str(key)
                if not re.fullmatch(r"[0-9]", key):
                    self.err((*opath, "key"), f"key {key!r} must be one digit 0-9")
                elif key == ivr.repeat_key:
                    self.err(
                        (*opath, "key"),
                        f"key {key} is the repeat key (ivr.repeat_key) and cannot be an answer",
                    )
                elif key in keys:
                    self.err((*opath, "key"), f"duplicate key {key} (also option {keys[key] + 1})")
                keys.setdefault(key, index)
            if points is not None and not (0 <= points <= 100):
                self.err((*opath, "points"), f"points must be 0 to 100, not {points}")
            if na and points is not None:
                self.err((*opath, "points"), "a not_applicable option has no points")
            if ends is not None and ends not in ENDS:
                self.err((*opath, "ends"), f"ends must be one of {', '.join(ENDS)}, not {ends!r}")
            for name, text in (("label", label), ("ivr_label", ivr_label)):
                if text is not None:
                    self.placeholders(text, (*opath, name))
            if code is not None and label is not None and key is not None:
                options.append(
                    Option(
                        code=code,
                        label=label,
                        key=key,
                        points=None if points is None else float(points),
                        not_applicable=na,
                        ends=ends,
                        ivr_label=ivr_label,
                    )
                )
        if sum(o.not_applicable for o in options) > 1:
            self.err(path, "at most one option may be not_applicable")
        if len(self.errors) > errors_before or len(options) != len(raw):
            return None
        result = tuple(options)
        self.option_source[id(result)] = path
        return result

    def build_scales(self, raw: dict, ivr: IvrSettings) -> dict[str, tuple[Option, ...] | None]:
        scales: dict[str, tuple[Option, ...] | None] = {}
        for name, entry in raw.items():
            path = ("scales", name)
            if not isinstance(entry, list):
                self.err(path, f"a scale must be a list of options, not {_type_name(entry)}")
                scales[name] = None
                continue
            scales[name] = self.build_options(entry, path, ivr)
        return scales

    # ----- items

    def build_items(self, raw: list | None, scales: dict, ivr: IvrSettings) -> list[Item]:
        if raw is None:
            return []
        if not raw:
            self.err(("items",), "a script needs at least one item")
            return []
        items: list[Item] = []
        index_of: dict[str, int] = {}
        raw_conditions: list[tuple[int, Any]] = []
        for index, entry in enumerate(raw):
            path = ("items", index)
            if not isinstance(entry, dict):
                self.err(path, f"an item must be a mapping, not {_type_name(entry)}")
                continue
            declared_id = entry.get("id")
            if isinstance(declared_id, str) and declared_id not in self.declared:
                self.declared[declared_id] = entry.get("kind")
            item = self.build_item(entry, path, scales, ivr)
            if item is None:
                continue
            if item.id in index_of:
                self.err((*path, "id"), f"duplicate item id {item.id!r}")
                continue
            index_of[item.id] = index
            items.append(item)
            if "ask_if" in entry:
                raw_conditions.append((len(items) - 1, entry["ask_if"]))
        by_id = {item.id: item for item in items}
        for position, raw_cond in raw_conditions:
            item = items[position]
            path = ("items", index_of[item.id], "ask_if")
            cond = self.build_condition(raw_cond, path, item, by_id, index_of)
            items[position] = replace(item, ask_if=cond)
        self.check_statements(items, index_of)
        if items and len(items) == len(raw) and all(it.kind == STATEMENT for it in items):
            self.err(("items",), "a script needs at least one item that takes an answer")
        return items

    def build_item(self, raw: dict, path: tuple, scales: dict, ivr: IvrSettings) -> Item | None:
        self.unknown_keys(raw, _ITEM_KEYS, path)
        item_id = self.get(raw, "id", path, str, required=True)
        if item_id is not None and not _ID_RE.match(item_id):
            self.err((*path, "id"), f"item id {item_id!r} must be lower-case letters, digits and _")
        kind = self.get(raw, "kind", path, str, required=True)
        if kind is not None and kind not in KINDS:
            self.err((*path, "kind"), f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
            kind = None
        title = self.get(raw, "title", path, str, default=item_id)
        text = self.get(raw, "text", path, str, required=True)
        ivr_text = self.get(raw, "ivr", path, str)
        may_skip = self.get(raw, "may_skip", path, bool, default=False)
        self.get(raw, "note", path, str)
        channels_raw = self.get(raw, "channels", path, list)
        if channels_raw is None:
            channels = frozenset({AGENT}) if kind == OPEN else frozenset(CHANNELS)
        else:
            channels = frozenset(channels_raw)
            bad = [c for c in channels_raw if c not in CHANNELS]
            if bad or not channels_raw:
                self.err((*path, "channels"), f"channels must list some of {', '.join(CHANNELS)}")
        for name, value in (("text", text), ("ivr", ivr_text), ("title", title)):
            if value is not None:
                self.placeholders(value, (*path, name))
        if IVR in channels and ivr_text is None and kind is not None:
            self.err(path, f"item {item_id!r}: missing 'ivr' wording (it is asked by IVR)")
        if kind is None or item_id is None or text is None:
            return None
        options: tuple[Option, ...] | None = ()
        if kind in CHOICE_KINDS:
            options = self.item_options(raw, path, scales, ivr, item_id)
            if options is not None:
                self.check_options(kind, options, path, item_id)
        else:
            for name in ("options", "scale"):
                if name in raw:
                    self.err((*path, name), f"a {kind} item has no options")
        if kind == OPEN and IVR in channels:
            self.err(
                (*path, "channels"),
                f"item {item_id!r}: an open item takes free text and cannot be asked by IVR",
            )
        if kind == STATEMENT and (may_skip or "ask_if" in raw):
            self.err(path, f"statement {item_id!r} cannot have may_skip or ask_if")
        if options is None:
            return None
        return Item(
            id=item_id,
            kind=kind,
            title=title or item_id,
            text=text,
            ivr_text=ivr_text,
            options=options,
            may_skip=may_skip,
            channels=channels,
            line=self.line_of(path),
        )

    def item_options(
        self, raw: dict, path: tuple, scales: dict, ivr: IvrSettings, item_id: str
    ) -> tuple[Option, ...] | None:
        has_options, has_scale = "options" in raw, "scale" in raw
        if has_options == has_scale:
            self.err(path, f"item {item_id!r}: give exactly one of 'options' or 'scale'")
            return None
        if has_scale:
            name = self.get(raw, "scale", path, str)
            if name is None:
                return None
            if name not in scales:
                known = ", ".join(scales) or "none"
                self.err((*path, "scale"), f"unknown scale {name!r} (defined: {known})")
                return None
            return scales[name]
        entries = self.get(raw, "options", path, list)
        if entries is None:
            return None
        return self.build_options(entries, (*path, "options"), ivr)

    def check_options(self, kind: str, options: tuple, path: tuple, item_id: str) -> None:
        where = f"item {item_id!r}"
        ends = {o.ends for o in options}
        if kind == RATING:
            source = self.option_source.get(id(options), path)
            for index, opt in enumerate(options):
                opath = (*source, index)
                if not opt.not_applicable and opt.points is None:
                    message = (
                        f"rating option {opt.code!r} has no points "
                        "(scoring of every level must be in the script)"
                    )
                    if not any(e.path == _fmt_path(opath) for e in self.errors):
                        self.err(opath, message)
        elif any(o.points is not None for o in options):
            self.err(path, f"{where}: only rating items score points")
        if kind == CONSENT:
            if ENDS_DECLINED not in ends or None not in ends:
                self.err(
                    path,
                    f"{where}: consent needs an option that ends: declined and one that goes on",
                )
        elif kind == SCREENING:
            if ENDS_SCREENED_OUT not in ends or None not in ends:
                self.err(
                    path,
                    f"{where}: screening needs an option that ends: screened_out "
                    "and one that goes on",
                )
        elif ends != {None}:
            self.err(path, f"{where}: only consent and screening options may end the interview")
        if kind == YES_NO and not {"yes", "no"} <= {o.code for o in options}:
            self.err(path, f"{where}: a yes_no item needs options coded 'yes' and 'no'")

    def build_condition(
        self, raw: Any, path: tuple, owner: Item, by_id: dict, index_of: dict
    ) -> Condition | None:
        if not isinstance(raw, dict):
            self.err(path, f"a condition must be a mapping, not {_type_name(raw)}")
            return None
        if "all" in raw or "any" in raw:
            op = "all" if "all" in raw else "any"
            self.unknown_keys(raw, (op,), path)
            parts_raw = self.get(raw, op, path, list)
            if not parts_raw:
                if parts_raw is not None:
                    self.err((*path, op), f"{op!r} needs at least one condition")
                return None
            parts = [
                self.build_condition(p, (*path, op, i), owner, by_id, index_of)
                for i, p in enumerate(parts_raw)
            ]
            if any(p is None for p in parts):
                return None
            return Condition(op=op, parts=tuple(parts))
        op = "in" if "in" in raw else "not_in"
        self.unknown_keys(raw, ("item", op), path)
        ref = self.get(raw, "item", path, str, required=True)
        codes = self.get(raw, op, path, list, required=True)
        if ref is None or codes is None:
            return None
        if ref == owner.id:
            self.err((*path, "item"), f"item {owner.id!r} refers to itself (a loop)")
            return None
        if ref not in by_id:
            if ref not in self.declared:
                self.err((*path, "item"), f"unknown item {ref!r} in condition of item {owner.id!r}")
            return None
        if index_of[ref] > index_of[owner.id]:
            self.err(
                (*path, "item"),
                f"item {owner.id!r} refers to later item {ref!r}: conditions may only use "
                "answers to earlier items (this keeps the interview free of loops)",
            )
            return None
        target = by_id[ref]
        if not target.is_choice:
            self.err(
                (*path, "item"), f"condition uses {target.kind} item {ref!r}, which has no codes"
            )
            return None
        known = {o.code for o in target.options}
        for i, code in enumerate(codes):
            if not isinstance(code, str) or code not in known:
                hint = " (quote yes/no in YAML)" if isinstance(code, bool) else ""
                self.err(
                    (*path, op, i),
                    f"{code!r} is not an option of item {ref!r} "
                    f"(options: {', '.join(sorted(known))}){hint}",
                )
                return None
        return Condition(op=op, item=ref, codes=tuple(codes))

    def check_statements(self, items: list[Item], index_of: dict) -> None:
        # A statement is read before the next answerable item, so that item must
        # always be asked, or the statement would be lost with it.
        for position, item in enumerate(items):
            if item.kind != STATEMENT:
                continue
            follower = next((it for it in items[position + 1 :] if it.kind != STATEMENT), None)
            path = ("items", index_of[item.id])
            if follower is None:
                self.err(path, f"statement {item.id!r} is last; closing words go in 'closing'")
            elif follower.ask_if is not None or not item.channels <= follower.channels:
                self.err(
                    path,
                    f"statement {item.id!r} is read with item {follower.id!r}, which must be "
                    "asked always and on every channel of the statement",
                )

    # ----- scoring and closing

    def build_scoring(self, data: dict, items: list[Item]) -> Scoring:
        ratings = {it.id: it for it in items if it.kind == RATING}
        raw = self.get(data, "scoring", (), dict, required=bool(ratings))
        if raw is None:
            return Scoring()
        path = ("scoring",)
        self.unknown_keys(raw, _SCORING_KEYS, path)
        weights_raw = self.get(raw, "weights", path, dict, required=True) or {}
        weights: dict[str, float] = {}
        for item_id, weight in weights_raw.items():
            wpath = (*path, "weights", item_id)
            if item_id not in ratings:
                if self.declared.get(item_id) != RATING:
                    self.err(wpath, f"{item_id!r} is not a rating item")
            elif isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                self.err(wpath, f"weight of {item_id!r} must be a number 0 or more")
            else:
                weights[item_id] = float(weight)
        for item_id in ratings:
            if item_id not in weights_raw:
                self.err(
                    (*path, "weights"),
                    f"rating item {item_id!r} has no weight (give 0 to leave it out of the score)",
                )
        if weights and not sum(weights.values()) > 0:
            self.err((*path, "weights"), "at least one weight must be above 0")
        satisfied_item, levels = None, frozenset()
        sat = self.get(raw, "satisfied", path, dict, required=bool(ratings))
        if sat is not None:
            spath = (*path, "satisfied")
            self.unknown_keys(sat, ("item", "levels"), spath)
            satisfied_item = self.get(sat, "item", spath, str, required=True)
            level_list = self.get(sat, "levels", spath, list, required=True) or []
            levels = frozenset(level_list)
            if satisfied_item is not None:
                if satisfied_item not in ratings:
                    if self.declared.get(satisfied_item) != RATING:
                        self.err((*spath, "item"), f"{satisfied_item!r} is not a rating item")
                else:
                    codes = {
                        o.code for o in ratings[satisfied_item].options if not o.not_applicable
                    }
                    for i, level in enumerate(level_list):
                        if level not in codes:
                            self.err(
                                (*spath, "levels", i),
                                f"{level!r} is not a rated level of {satisfied_item!r}",
                            )
        share = self.get(raw, "partial_min_share", path, (int, float), default=0.5)
        if not (0 < share <= 1):
            self.err(
                (*path, "partial_min_share"), "partial_min_share must be above 0 and at most 1"
            )
        return Scoring(
            weights=MappingProxyType(weights),
            satisfied_item=satisfied_item,
            satisfied_levels=levels,
            partial_min_share=float(share),
        )

    def build_closing(self, raw: dict | None) -> tuple[dict[str, str], dict[str, str]]:
        text: dict[str, str] = {}
        spoken: dict[str, str] = {}
        if raw is None:
            return text, spoken
        path = ("closing",)
        self.unknown_keys(raw, CLOSINGS, path)
        for name in CLOSINGS:
            entry = raw.get(name, _MISSING)
            cpath = (*path, name)
            if entry is _MISSING:
                self.err(path, f"missing required closing {name!r}")
            elif isinstance(entry, str):
                text[name] = spoken[name] = entry
                self.placeholders(entry, cpath)
            elif isinstance(entry, dict):
                self.unknown_keys(entry, ("text", "ivr"), cpath)
                t = self.get(entry, "text", cpath, str, required=True)
                s = self.get(entry, "ivr", cpath, str, default=t)
                if t is not None:
                    text[name], spoken[name] = t, s
                    self.placeholders(t, (*cpath, "text"))
                    self.placeholders(s, (*cpath, "ivr"))
            else:
                self.err(cpath, f"closing {name!r} must be text or a mapping with text and ivr")
        return text, spoken
