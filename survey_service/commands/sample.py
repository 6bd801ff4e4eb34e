"""Commands of the sample stage: draw, release, verify."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_service.cli import BadInput, _run
from survey_service.db import get_session
from survey_service.errors import ServiceError

sample_cli = AppGroup("sample", help="The stratified sample: draw and verify.")


@sample_cli.command("draw")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed (e.g. numbers read out at a public meeting); default: a random one.",
)
@click.option(
    "--per-unit",
    type=int,
    default=None,
    help="A fixed number of cases per unit instead of the margin-of-error design.",
)
@click.option(
    "--margin",
    type=float,
    default=0.5,
    show_default=True,
    help="Target margin of error on the 10-point scale.",
)
@click.option("--sd", type=float, default=None, help="Assumed SD (default: last wave's, or 2.0).")
@click.option("--minimum", type=int, default=30, show_default=True, help="Minimum completes.")
@click.option("--response-rate", type=float, default=0.5, show_default=True)
@click.option("--eligibility-rate", type=float, default=0.9, show_default=True)
@click.option(
    "--allocation",
    type=click.Choice(["proportional", "neyman", "equal"]),
    default="proportional",
    show_default=True,
    help="Allocation to sub-strata.",
)
@click.option("--no-substrata", is_flag=True, help="Do not sub-stratify units by client kind.")
@click.option("--wave", "wave_name", default=None, help="Wave name (default: the open one).")
def sample_draw(
    seed,
    per_unit,
    margin,
    sd,
    minimum,
    response_rate,
    eligibility_rate,
    allocation,
    no_substrata,
    wave_name,
) -> None:
    """Fix the frame and draw the wave's stratified sample; print its record.

    Each unit is a domain, sub-stratified by client kind; its size comes from
    the margin of error (or --per-unit). On the web the frame is fixed first
    and the seed given afterwards.
    """
    import secrets

    from survey_service.results import estimates
    from survey_service.sample import draws
    from survey_service.setup.waves import current_wave

    seed = secrets.randbelow(2**63) if seed is None else seed

    def work(s):
        wave = current_wave(s, wave_name)
        design = draws.DrawDesign(
            per_unit=per_unit,
            margin=margin,
            sd=sd if sd is not None else estimates.default_sd(s, wave),
            minimum=minimum,
            response_rate=response_rate,
            eligibility_rate=eligibility_rate,
            allocation=allocation,
            substrata=None if no_substrata else "kind",
        )
        return draws.draw_sample(session=s, wave=wave, seed=seed, design=design, actor=None)

    record = _run(work)
    click.echo(
        f"draw {record.id}: seed {record.seed}, frame {record.frame_size} "
        f"(sha256 {record.frame_hash}), planned sample {record.sample_size}"
    )


@sample_cli.command("release")
@click.argument("draw_id", type=int)
@click.argument("units", nargs=-1, required=True)
def sample_release(draw_id: int, units: tuple[str, ...]) -> None:
    """Release the next reserve replicate of draw DRAW_ID for the given unit codes."""
    from survey_service.sample import draws

    count = _run(
        lambda s: draws.release_next_replicate(
            session=s, record=draws.get_draw(s, draw_id), unit_codes=list(units), actor=None
        )
    )
    click.echo(f"released {count} cases")


@sample_cli.command("verify")
@click.argument("draw_id", type=int)
def sample_verify(draw_id: int) -> None:
    """Re-run draw DRAW_ID from the stored frame and seed; exit 1 on any difference."""
    from survey_service.sample import draws

    session = get_session()
    try:
        result = draws.verify_draw(session, draws.get_draw(session, draw_id))
    except ServiceError as exc:
        raise BadInput(str(exc)) from exc
    click.echo(("match: " if result.ok else "DIFFERENT: ") + result.message)
    if not result.ok:
        raise click.exceptions.Exit(1)


def _add_two_step_and_audit() -> None:
    from survey_service.commands.sample_audit import add_sample_commands

    add_sample_commands(sample_cli)  # fix-frame, draw-fixed, export-audit, audit


_add_two_step_and_audit()
