"""`make test`'s chromium check (scripts/need-chromium.sh), with stand-ins for id, apt-get and chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = "apt-get install -y --no-install-recommends chromium"


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A PATH holding only stand-ins: `id -u` answers $UID_ANSWER, apt-get logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "chmod", "dirname"):  # what the scripts and the stand-ins call besides builtins
        (bin_dir / tool).symlink_to(shutil.which(tool))
    _stub(bin_dir, "id", 'echo "$UID_ANSWER"')
    log = tmp_path / "apt.log"

    def run(uid: int, apt: str | None = None, chromium: bool = False, script: str = "scripts/need-chromium.sh",
            args: tuple = ()):
        if apt is not None:
            _stub(bin_dir, "apt-get", f'echo "$*" >> "{log}"\n{apt}')
        if chromium:
            _stub(bin_dir, "chromium", "exit 0")
        env = {"PATH": str(bin_dir), "UID_ANSWER": str(uid), "HOME": str(tmp_path)}
        result = subprocess.run([str(bin_dir / "bash"), script, *args], check=False, cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        return result, calls

    run.bin_dir = bin_dir
    return run


def test_present_chromium_is_left_alone(machine):
    result, calls = machine(uid=0, apt="exit 0", chromium=True)
    assert result.returncode == 0 and calls == []


def test_root_with_apt_installs_it(machine):
    # The stand-in apt-get "installs" chromium by putting one on the PATH.
    installs = f'[ "$1" = install ] && {{ echo "exit 0" > "{machine.bin_dir}/chromium"; ' \
               f'chmod 755 "{machine.bin_dir}/chromium"; }}\nexit 0'
    result, calls = machine(uid=0, apt=installs)
    assert result.returncode == 0, result.stderr
    assert calls == ["install -y --no-install-recommends chromium"]
    assert "wordt nu geïnstalleerd" in result.stdout


def test_root_updates_the_package_lists_once_when_the_first_install_fails(machine):
    marker = machine.bin_dir.parent / "updated"
    installs = (f'if [ "$1" = update ]; then echo > "{marker}"; exit 0; fi\n'
                f'[ -e "{marker}" ] || exit 100\n'
                f'echo "exit 0" > "{machine.bin_dir}/chromium"; chmod 755 "{machine.bin_dir}/chromium"')
    result, calls = machine(uid=0, apt=installs)
    assert result.returncode == 0, result.stderr
    assert calls == ["install -y --no-install-recommends chromium", "update",
                     "install -y --no-install-recommends chromium"]


def test_root_stops_with_a_dutch_message_when_the_install_fails(machine):
    result, _calls = machine(uid=0, apt="exit 100")
    assert result.returncode != 0
    assert "FOUT: chromium kon niet worden geïnstalleerd; de tests zijn niet gestart." in result.stderr


@pytest.mark.parametrize("uid, apt", [(1000, "exit 0"), (0, None)], ids=["not-root", "root-without-apt"])
def test_otherwise_it_stops_and_gives_the_one_command(machine, uid, apt):
    result, calls = machine(uid=uid, apt=apt)
    assert result.returncode != 0 and calls == []
    assert "FOUT: chromium ontbreekt" in result.stderr
    assert f"    sudo {INSTALL}\n" in result.stderr


def test_make_test_stops_before_the_suite(machine):
    # Cheap if the check ever let it through: only collects one small file.
    result, _calls = machine(uid=1000, script="scripts/test.sh", args=("--collect-only", "tests/test_infra.py"))
    assert result.returncode != 0 and f"sudo {INSTALL}" in result.stderr
    assert "Testsuite" not in result.stdout


def test_ci_installs_chromium_before_make_test():
    # .ci/run installs it itself, so in CI the check finds chromium and changes nothing.
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("apt-get install -y --no-install-recommends chromium") < ci.index("make test")
    assert os.access(ROOT / "scripts" / "need-chromium.sh", os.X_OK)


def test_every_image_in_the_readme_and_the_handleiding_is_made_by_make_screenshots():
    """A screenshot a document shows but `make screenshots` does not make would silently go stale."""
    import importlib.util
    import re

    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = {"fullest": 1, "status": 1, "round": 1, "settled": (1, 1), "scenario": 1}
    made = {name for _role, name, *_rest in module.shots(ids)}
    made |= {name for name, *_rest in module.documents()}
    shown = set()
    for doc in (ROOT / "README.md", ROOT / "docs" / "handleiding.md"):
        shown |= set(re.findall(r"!\[[^\]]*\]\((?:docs/)?screenshots/([^)]+\.png)\)", doc.read_text()))
    assert {"dashboard.png", "handleiding-mijn-projecten.png"} <= shown  # the pattern does find images
    assert shown - made == set(), "afbeeldingen die make screenshots niet maakt"
    assert all((ROOT / "docs" / "screenshots" / name).is_file() for name in shown)
    # The README links the Dutch user guide.
    assert "docs/handleiding.md" in (ROOT / "README.md").read_text()
