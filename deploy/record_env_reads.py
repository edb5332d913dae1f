"""Print (JSON) every environment variable the project's code reads while importing a settings
module (and config/gunicorn.py): ``python deploy/record_env_reads.py config.settings.prod``.

Used by core/tests/test_deploy_k8s.py to check that the Kubernetes ConfigMap/Secret and the
systemd EnvironmentFile carry every variable. Reads are recorded at their source
(``environ.Env.get_value`` and ``os.environ`` lookups) and kept when the reading code lives in
this repository (not in a library), so indirect reads (``_redis_url("REDIS_CACHE_URL", ...)``,
helpers in core/*/config.py) count too.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEEN: set[str] = set()


def _project_caller() -> bool:
    """Is the code asking (skipping django-environ and this file) part of this repository?"""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != __file__ and "environ" not in Path(name).parts:
            return name.startswith(str(ROOT)) and "/site-packages/" not in name
        frame = frame.f_back
    return False


class _RecordingEnviron(dict):
    def _seen(self, key):
        if isinstance(key, str) and _project_caller():
            SEEN.add(key)

    def __getitem__(self, key):
        self._seen(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._seen(key)
        return super().get(key, default)

    def setdefault(self, key, default=None):
        self._seen(key)
        return super().setdefault(key, default)

    def __contains__(self, key):
        self._seen(key)
        return super().__contains__(key)


def main(module: str) -> None:
    import environ

    original = environ.Env.get_value

    def get_value(self, var, *args, **kwargs):
        if _project_caller():
            SEEN.add(var)
        return original(self, var, *args, **kwargs)

    environ.Env.get_value = get_value
    os.environ = _RecordingEnviron(os.environ)  # noqa: B003 - recording reads, not clearing
    environ.Env.ENVIRON = os.environ
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    importlib.import_module(module)
    runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    print(json.dumps(sorted(SEEN)))


if __name__ == "__main__":
    main(sys.argv[1])
