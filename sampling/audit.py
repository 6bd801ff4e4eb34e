"""A draw anyone can audit: the package format, its check, and ``python -m sampling.audit``.

An audit package is one JSON file holding everything the draw depends on and nothing that
identifies a person:

``format``
    ``"sampling-audit-v1"``.
``frame``
    ``{"columns": ["unit", "kind", "key"], "rows": [...]}``: every frame element as its unit
    code, client kind and pseudonymous key (the keyed hash of the phone number: it orders and
    identifies the element without revealing the number), in the canonical order of
    :mod:`sampling.draw` (by stratum label, then key, by Unicode code point).
``frame_hash``
    The SHA-256 recorded when the frame was fixed, :func:`sampling.frame_hash` of
    ``(unit, kind, key)``.
``substrata``
    ``"kind"`` (stratum label ``unit/kind``) or null (stratum label ``unit``).
``strata``
    Per stratum label: ``n`` (planned sample), ``replicate_size``, ``released`` and
    ``stored`` (replicates released / stored).
``seed``, ``generator``, ``code_version``
    The seed given after the frame was fixed, the generator string recorded by the draw, and
    the versions of the code that drew it.
``cases`` (optional)
    ``{"columns": ["key", "stratum", "rank", "replicate", "released"], "rows": [...]}``: the
    cases as recorded, to be compared with the re-draw.

:func:`check_package` recomputes the frame hash, re-draws with :func:`sampling.draw` and
compares; ``python -m sampling.audit PACKAGE`` prints the outcome and the selected keys and
exits 1 on any difference. It needs NumPy and this package only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sampling.draw import DRAW_ALGORITHM, draw
from sampling.errors import SamplingError
from sampling.framehash import FRAME_HASH_HEADER, frame_hash

__all__ = ["AUDIT_FORMAT", "AuditResult", "build_package", "check_package", "main"]

AUDIT_FORMAT = "sampling-audit-v1"


def _label(unit: str, kind: str, substrata: str | None) -> str:
    return f"{unit}/{kind}" if substrata == "kind" else unit


def build_package(
    unit,
    kind,
    key,
    *,
    frame_hash_recorded: str,
    substrata,
    strata: dict,
    seed: int,
    generator: str,
    code_version: dict,
    cases=None,
    extra: dict | None = None,
) -> dict:
    """The audit package as a JSON-ready dict, frame rows put in canonical order.

    Parameters
    ----------
    unit, kind, key : sequence of str
        Per frame element.
    frame_hash_recorded : str
        The hash recorded when the frame was fixed.
    substrata : {"kind", None}
    strata : dict
        ``{label: {"n", "replicate_size", "released", "stored"}}``.
    seed : int
    generator : str
    code_version : dict
        E.g. ``{"sampling": DRAW_ALGORITHM, "numpy": ..., "commit": ...}``.
    cases : sequence of (key, stratum, rank, replicate, released), optional
    extra : dict, optional
        More context (wave, draw id), copied under ``"draw"``.

    Returns
    -------
    dict

    References
    ----------
    .. [1] NIST (2015), FIPS PUB 180-4, *Secure Hash Standard (SHS)*.
    """
    rows = [[str(u), str(k), str(h)] for u, k, h in zip(unit, kind, key, strict=True)]
    rows.sort(key=lambda r: (_label(r[0], r[1], substrata), r[2]))
    out = {
        "format": AUDIT_FORMAT,
        "draw": dict(extra or {}),
        "frame_hash": frame_hash_recorded,
        "frame_hash_header": FRAME_HASH_HEADER.strip(),
        "substrata": substrata,
        "strata": {
            label: {f: int(spec[f]) for f in ("n", "replicate_size", "released", "stored")}
            for label, spec in sorted(strata.items())
        },
        "seed": int(seed),
        "generator": generator,
        "code_version": {"draw_algorithm": DRAW_ALGORITHM, **code_version},
        "frame": {"columns": ["unit", "kind", "key"], "rows": rows},
    }
    if cases is not None:
        case_rows = sorted(
            [[str(k), str(s), int(r), int(p), bool(rel)] for k, s, r, p, rel in cases],
            key=lambda c: (c[1], c[2]),
        )
        out["cases"] = {
            "columns": ["key", "stratum", "rank", "replicate", "released"],
            "rows": case_rows,
        }
    return out


@dataclass(frozen=True)
class AuditResult:
    """Result of :func:`check_package`.

    Attributes
    ----------
    ok : bool
        Hash, canonical order and (if present) every recorded case agree with the re-draw.
    problems : list of str
        What differs, first difference of each kind.
    selected : dict
        ``{stratum label: [keys of the planned sample, in random order]}``.
    released : dict
        ``{stratum label: [keys released so far, in random order]}``.
    frame_hash : str
        The recomputed frame hash.
    """

    ok: bool
    problems: list = field(default_factory=list)
    selected: dict = field(default_factory=dict)
    released: dict = field(default_factory=dict)
    frame_hash: str = ""


def check_package(package: dict) -> AuditResult:
    """Recompute the frame hash and re-draw from an audit package; compare with the record.

    Parameters
    ----------
    package : dict
        As written by :func:`build_package` (see the module docstring).

    Returns
    -------
    AuditResult

    References
    ----------
    .. [1] Tillé, Y. (2006), *Sampling Algorithms*, Springer, sec. 4.5.
    """
    if package.get("format") != AUDIT_FORMAT:
        raise SamplingError(f"format={package.get('format')!r}; allowed: {AUDIT_FORMAT!r}")
    rows = package["frame"]["rows"]
    substrata = package.get("substrata")
    unit = np.array([r[0] for r in rows], dtype=str)
    kind = np.array([r[1] for r in rows], dtype=str)
    key = np.array([r[2] for r in rows], dtype=str)
    labels = np.array([_label(u, k, substrata) for u, k in zip(unit, kind, strict=True)], dtype=str)
    problems = []
    got_hash = frame_hash(unit, kind, key) if rows else ""
    if got_hash != package["frame_hash"]:
        problems.append(f"frame hash differs: recorded {package['frame_hash']}, package {got_hash}")
    order = sorted(range(len(rows)), key=lambda i: (labels[i], key[i]))
    if order != list(range(len(rows))):
        first = next(i for i, j in enumerate(order) if i != j)
        problems.append(f"frame rows are not in canonical order (first at row {first})")
    strata = package["strata"]
    frame_strata = sorted(set(labels.tolist()))
    if frame_strata != sorted(strata):
        problems.append("strata of the frame and of the design differ")
        return AuditResult(False, problems, {}, {}, got_hash)
    result = draw(
        labels,
        {s: strata[s]["n"] for s in frame_strata},
        int(package["seed"]),
        replicate_size={s: strata[s]["replicate_size"] for s in frame_strata},
        keys=key,
    )
    per = {s: strata[s] for s in frame_strata}
    code = result.stratum_code
    labs = result.strata
    selected: dict = {str(s): [] for s in labs}
    released: dict = {str(s): [] for s in labs}
    by_rank = np.lexsort((result.rank, code))
    stored_rows = {}
    for i in by_rank.tolist():
        s = str(labs[code[i]])
        rep = int(result.replicate[i])
        if result.selected[i]:
            selected[s].append(str(key[i]))
        if rep <= per[s]["released"]:
            released[s].append(str(key[i]))
        if rep <= per[s]["stored"]:
            stored_rows[str(key[i])] = (s, int(result.rank[i]), rep, rep <= per[s]["released"])
    if "cases" in package:
        recorded = {
            c[0]: (c[1], int(c[2]), int(c[3]), bool(c[4])) for c in package["cases"]["rows"]
        }
        for k in sorted(set(recorded) | set(stored_rows)):
            if recorded.get(k) != stored_rows.get(k):
                problems.append(
                    f"case {k}: recorded {recorded.get(k)}, re-drawn {stored_rows.get(k)} "
                    "(stratum, rank, replicate, released)"
                )
                break
    return AuditResult(not problems, problems, selected, released, got_hash)


def main(argv: list[str] | None = None) -> int:
    """``python -m sampling.audit PACKAGE [--json]``: exit 0 if the draw reproduces, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m sampling.audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("package", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    package = json.loads(args.package.read_text(encoding="utf-8"))
    res = check_package(package)
    for line in report_lines(package, res, as_json=args.json):
        print(line)
    return 0 if res.ok else 1


def report_lines(package: dict, res: AuditResult, *, as_json: bool = False) -> list[str]:
    """The printed report of :func:`main` (also used by ``flask sample audit``)."""
    if as_json:
        return [
            json.dumps(
                {
                    "ok": res.ok,
                    "problems": res.problems,
                    "frame_hash": res.frame_hash,
                    "seed": package["seed"],
                    "selected": res.selected,
                    "released": res.released,
                },
                ensure_ascii=False,
            )
        ]
    n_sel = sum(len(v) for v in res.selected.values())
    lines = [
        ("REPRODUCED" if res.ok else "DIFFERENT")
        + f": frame {len(package['frame']['rows'])} elements, sha256 {res.frame_hash}, "
        f"seed {package['seed']}, {n_sel} selected",
        *[f"  problem: {p}" for p in res.problems],
    ]
    for s, keys in res.selected.items():
        lines.append(f"{s}\t{len(keys)}\t" + " ".join(keys))
    return lines


if __name__ == "__main__":
    sys.exit(main())
