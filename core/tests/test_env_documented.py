"""Every environment variable the settings read is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(
    r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']|os\.environ(?:\.get|\.setdefault)?\(\s*["']([A-Z][A-Z0-9_]+)["']|_redis_url\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def test_every_setting_variable_is_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    read = set()
    for path in [*(ROOT / "config" / "settings").glob("*.py"), ROOT / "config" / "gunicorn.py"]:
        for match in READ.finditer(path.read_text()):
            read.add(next(group for group in match.groups() if group))
    missing = sorted(read - documented)
    assert not missing, f"add these to .env.example: {missing}"
