"""Sample commands beyond the one-step draw: the two-step draw and the audit package.

``flask --app wsgi sample fix-frame`` freezes the approved lists and records the frame's hash
and the design (no seed yet); ``sample draw-fixed --draw ID --seed N`` then draws from that
fixed frame, the order the web pages use, so that nobody can tune the frame to the seed.
``sample export-audit ID PACKAGE`` writes the draw's audit package and ``sample audit
PACKAGE`` re-draws from it without the database (as ``python -m sampling.audit PACKAGE``
does). ``sample draw`` (fix and draw in one step) stays in :mod:`survey_service.commands.sample`.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import click
from flask.cli import AppGroup


def _design_options(fn):
    options = [
        click.option("--per-unit", type=int, default=None, help="A fixed number per unit."),
        click.option("--margin", type=float, default=0.5, show_default=True),
        click.option("--sd", type=float, default=None, help="Assumed SD (default: last wave's)."),
        click.option("--minimum", type=int, default=30, show_default=True),
        click.option("--response-rate", type=float, default=0.5, show_default=True),
        click.option("--eligibility-rate", type=float, default=0.9, show_default=True),
        click.option(
            "--allocation",
            type=click.Choice(["proportional", "neyman", "equal"]),
            default="proportional",
            show_default=True,
        ),
        click.option("--replicates", type=int, default=2, show_default=True),
        click.option("--reserve", type=int, default=2, show_default=True),
        click.option("--no-substrata", is_flag=True, help="Do not sub-stratify by client kind."),
        click.option("--wave", "wave_name", default=None, help="Wave (default: the open one)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def add_sample_commands(group: AppGroup) -> None:
    """Register the commands of this module on the ``sample`` group."""
    from survey_service.cli import BadInput, _run, needs_no_app

    @group.command("fix-frame")
    @_design_options
    def fix_frame_command(wave_name, no_substrata, sd, **design) -> None:
        """Fix the frame (freeze the lists, record its hash and design); no seed yet."""
        from survey_service.results import estimates
        from survey_service.sample import draws
        from survey_service.setup.waves import current_wave

        def work(s):
            wave = current_wave(s, wave_name)
            d = draws.DrawDesign(
                sd=sd if sd is not None else estimates.default_sd(s, wave),
                substrata=None if no_substrata else "kind",
                **design,
            )
            return draws.fix_frame(session=s, wave=wave, design=d, actor=None)

        record = _run(work)
        click.echo(
            f"draw {record.id}: frame fixed, {record.frame_size} elements "
            f"(sha256 {record.frame_hash}), planned sample {record.sample_size}; "
            f"now give the seed: sample draw-fixed --draw {record.id} --seed N"
        )

    @group.command("draw-fixed")
    @click.option("--draw", "draw_id", type=int, required=True, help="The fixed frame's draw id.")
    @click.option("--seed", type=int, default=None, help="Seed; default: a random one.")
    def draw_fixed_command(draw_id: int, seed: int | None) -> None:
        """Draw from a frame fixed by ``sample fix-frame`` with the seed given now."""
        from survey_service.sample import draws

        seed = secrets.randbelow(2**63) if seed is None else seed
        record = _run(
            lambda s: draws.draw_from_frame(
                session=s, record=draws.get_draw(s, draw_id), seed=seed, actor=None
            )
        )
        click.echo(
            f"draw {record.id}: seed {record.seed}, frame {record.frame_size} "
            f"(sha256 {record.frame_hash}), planned sample {record.sample_size}"
        )

    @group.command("export-audit")
    @click.argument("draw_id", type=int)
    @click.argument("package", type=click.Path(path_type=Path, dir_okay=False))
    def export_audit_command(draw_id: int, package: Path) -> None:
        """Write the audit package of draw DRAW_ID (JSON, no phone number) to PACKAGE."""
        from survey_service.sample import draws
        from survey_service.sample.audit_package import audit_package

        data = _run(lambda s: audit_package(s, draws.get_draw(s, draw_id), commit=_commit()))
        package.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(
            f"wrote {package}: {len(data['frame']['rows'])} frame elements, "
            f"{len(data['cases']['rows'])} cases, seed {data['seed']}"
        )

    @group.command("audit")
    @click.argument("package", type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @needs_no_app
    def audit_command(package: Path, as_json: bool) -> None:
        """Re-draw from an audit PACKAGE and list the selected keys; exit 1 on a difference."""
        from sampling.audit import check_package, report_lines  # numpy: loaded when used

        try:
            data = json.loads(package.read_text(encoding="utf-8"))
            result = check_package(data)
        except (ValueError, KeyError) as exc:
            raise BadInput(f"审计包 {package} 无法读取：{exc}") from exc
        for line in report_lines(data, result, as_json=as_json):
            click.echo(line)
        if not result.ok:
            raise click.exceptions.Exit(1)
