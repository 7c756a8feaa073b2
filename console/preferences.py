"""The console's own settings: `console.toml` beside the credentials.

theme = "upmetr-mono"        # any Textual theme; NO_COLOR picks the monochrome one
[keys]                       # binding id = key(s); `?` lists every id
"incidents.acknowledge" = "A"
"app.quit" = "ctrl+c,ctrl+q"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from console.config import config_dir

PREFERENCES_FILE = "console.toml"
DEFAULT_THEME = "textual-dark"
MONO_THEME = "upmetr-mono"  # console/themes.py


@dataclass
class Preferences:
    theme: str = DEFAULT_THEME
    keys: dict[str, str] = field(default_factory=dict)


def preferences_path() -> Path:
    return config_dir() / PREFERENCES_FILE


def load_preferences(path: Path | None = None) -> Preferences:
    """The file's settings; a missing file gives the defaults, a broken one raises ValueError."""
    path = path or preferences_path()
    default_theme = MONO_THEME if os.environ.get("NO_COLOR") else DEFAULT_THEME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Preferences(theme=default_theme)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ValueError(
            f'{path}: [keys] maps binding ids to key names, e.g. "app.quit" = "ctrl+c"'
        )
    theme = data.get("theme", default_theme)
    if not isinstance(theme, str):
        raise ValueError(f'{path}: theme is a name, e.g. theme = "{MONO_THEME}"')
    return Preferences(theme=theme, keys={str(k): v for k, v in keys.items()})
