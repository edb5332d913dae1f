"""Environment loading shared by every settings module.

Precedence, highest first: the process environment, then a ``.env`` file at the project root
(read with ``overwrite=False`` so it never overrides a variable that is already set), then the
defaults that ``dev``/``test`` put in place with ``os.environ.setdefault`` *after* this runs.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
