"""README must stay true: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

from survey_service.config import SETTINGS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    head = README[:1500]
    assert "make run" in head and "make test" in head


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert f"`{setting.name}`" in README, setting.name


def _source_outside_config() -> str:
    package = Path(__file__).parent.parent / "survey_service"
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
        if path.name != "config.py" and "migrations" not in path.parts
    )


def test_every_documented_setting_is_read():
    """A setting in the README that no code reads is a promise the service does not keep."""
    source = _source_outside_config()
    unread = [s.name for s in SETTINGS if f'"{s.name}"' not in source]
    assert unread == []


def test_every_command_is_documented(app):
    cli = app.cli
    with app.app_context():
        for name, command in cli.commands.items():
            if name in ("run", "shell", "routes"):
                continue
            sub = getattr(command, "commands", None)
            if sub:
                for sub_name in sub:
                    assert f"flask --app wsgi {name} {sub_name}" in README, f"{name} {sub_name}"
            else:
                assert f"flask --app wsgi {name}" in README, name
