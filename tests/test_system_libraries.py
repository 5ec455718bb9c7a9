"""Every shared library Qt's xcb platform plugin loads comes from a package scripts/setup.sh installs.

A machine where someone installed the rest by hand hides a missing package: the window opens
there and nowhere else. So the check is not "does ldd find everything" alone, but "does every
library ldd finds belong to a package that setup.sh asks apt for, or to one of their
dependencies (which apt brings with them), or to an Essential package every Debian system has".
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

import PySide6

from conftest import REPO

PLUGIN = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def setup_packages() -> set[str]:
    """The package names in setup.sh's APT_PACKAGES array."""
    text = (REPO / "scripts" / "setup.sh").read_text()
    body = re.search(r"^APT_PACKAGES=\((.*?)\)", text, re.S | re.M)
    assert body, "setup.sh has no APT_PACKAGES=(...) array"
    return set(body.group(1).split())


def dpkg_field(package: str, field: str) -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f", f"${{{field}}}", package], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else ""


@lru_cache(maxsize=None)
def dependencies(package: str) -> frozenset[str]:
    """Direct Depends and Pre-Depends of an installed package, every alternative included."""
    text = dpkg_field(package, "Depends") + "," + dpkg_field(package, "Pre-Depends")
    names = set()
    for alternative in re.split(r"[,|]", text):
        name = alternative.strip().split(" ")[0].split(":")[0]
        if name:
            names.add(name)
    return frozenset(names)


def closure(roots: set[str]) -> set[str]:
    seen, todo = set(), list(roots)
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(dependencies(package) - seen)
    return seen


def owning_package(library: str) -> str:
    # Debian's merged /usr: dpkg may record the file under /lib or /usr/lib.
    resolved = str(Path(library).resolve())
    for candidate in {library, resolved, resolved.removeprefix("/usr"), "/usr" + library}:
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0].strip()
    raise AssertionError(f"{library}: no Debian package owns it (installed by hand?)")


def system_libraries_of(binary: Path) -> dict[str, str]:
    """ldd's answer for the libraries outside the wheel: soname -> path (or 'not found')."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", line)
        if match and "site-packages" not in match.group(2):
            found[match.group(1)] = match.group(2)
    return found


def test_every_library_of_the_xcb_plugin_is_found():
    libraries = system_libraries_of(PLUGIN)
    missing = sorted(name for name, path in libraries.items() if path == "not found")
    assert not missing, f"libqxcb.so cannot load: {missing} missing; add their packages to setup.sh"


def test_every_library_of_the_xcb_plugin_comes_from_a_package_setup_installs():
    wanted = closure(setup_packages())
    essential = {line.split()[0] for line in subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Essential}\n"], capture_output=True, text=True).stdout.splitlines()
        if line.endswith(" yes")}
    strays = {}
    for name, path in system_libraries_of(PLUGIN).items():
        package = owning_package(path)
        if package not in wanted and package not in essential:
            strays[name] = package
    assert not strays, f"libraries from packages setup.sh does not install: {strays}"


def test_the_dependency_walk_sees_through_to_libc():
    # Guards the check above against passing vacuously: libc6 is reached from setup's packages.
    assert "libc6" in closure(setup_packages())
    assert "libxcb1" in dependencies("libxcb-icccm4")
