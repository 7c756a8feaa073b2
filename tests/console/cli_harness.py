"""Running `upmetr` commands in-process (click's CliRunner) with a config folder of their own."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from console.cli import main


def run(
    config_dir: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    """`upmetr *args` with the login kept in `config_dir`, none from the environment."""
    base = {"UPMETR_CONFIG_DIR": str(config_dir), "UPMETR_API_KEY": "", "UPMETR_URL": ""}
    return CliRunner().invoke(main, list(args), input=input, env={**base, **(env or {})})
