"""The Dockerfile read as text (no Docker engine here): a web stage built with npm, the final stage without build
tools, running as a non-root user with `glassbox` as its entry point, and every file it copies present in the build
context (not excluded by .dockerignore)."""
import fnmatch
import re

from glassbox.config import PROJECT_ROOT

BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "nodejs", "npm")
WRITTEN_ELSEWHERE = ("web/",)  # the web app: its own stage's sources, in its own folder


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split into stages."""
    text = re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def ignored(path: str) -> bool:
    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(path.rstrip("/"), pattern) or path.startswith(pattern.rstrip("/") + "/")
               for pattern in patterns)


def test_the_web_app_is_built_in_its_own_node_stage():
    web = next(stage for stage in stages() if stage[0].lower().endswith(" as web"))
    assert web[0].split()[1].startswith("node:")
    assert any("npm ci" in line for line in web) and any("npm run build" in line for line in web)
    final = stages()[-1]
    assert any(line.startswith("COPY --from=web") and "/app/web/dist" in line for line in final)


def test_the_final_stage_has_no_build_tools_and_runs_glassbox_as_a_user():
    final = stages()[-1]
    assert final[0].split()[1].startswith("python:") and "slim" in final[0]
    installs = " ".join(line for line in final if "apt-get install" in line).split()
    assert not set(installs) & set(BUILD_TOOLS)
    [user] = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user not in ("root", "0")
    assert 'ENTRYPOINT ["glassbox"]' in final


def test_every_copied_path_is_in_the_build_context():
    for stage in stages():
        for line in stage:
            if not line.startswith("COPY ") or "--from=" in line:
                continue
            sources = line.split()[1:-1]
            for source in sources:
                if source.startswith(WRITTEN_ELSEWHERE):
                    continue
                assert (PROJECT_ROOT / source).exists(), f"{source} is copied but missing"
                assert not ignored(source), f"{source} is copied but .dockerignore leaves it out"
