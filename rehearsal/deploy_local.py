"""make deploy-local: `cdk deploy` of the dev stage into a local moto server, then smoke checks.

Steps, in order (each named in the output, and in the error when it fails):

1. start emulator   moto's server (rehearsal/moto_launcher.py) on localhost, a free port, its
                    own process group, state in .deploy-local/
2. synth            `cdk synth` with the compliance gate on (acknowledgements included) and
                    the rehearsal-only context value that leaves out custom resources
3. check templates  nothing in the dev templates refers to a resource that was left out
4. bootstrap        `cdk bootstrap aws://ACCOUNT/REGION` (the CDK toolkit stack)
5. deploy           `cdk deploy 'dev/*'` from the synthesized assembly: assets published to
                    the bootstrap bucket, stacks created in dependency order
6. verify deploy    every dev stack is *_COMPLETE and the emulator answered no request with
                    HTTP 5xx (the CDK CLI prints success even then)
7. smoke test       rehearsal/smoke.py reads the resources back with boto3

Whatever happens (a failed step, Ctrl-C, SIGTERM, an exception), the server is stopped by
its process group id and the state folder removed. Exit status: 0 when every step passed,
1 when a step failed (the message names it), 130/143 when interrupted.

No traffic leaves the machine: every AWS call goes to http://localhost:PORT with dummy
credentials; instance metadata and the CDK version check are disabled.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
STAGE = "dev"
PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
          "AWS::NoValue", "AWS::Partition", "AWS::NotificationARNs"}
_HTTP_5XX = re.compile(r'HTTP/1\.[01]\S*" (5\d\d) ')


class StepFailed(Exception):
    """A step did not do what it must; the message says what."""


class Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """moto's server as a child in its own process group, stopped by that group's id."""

    state_dir: Path
    account: str
    port: int = 0
    process: subprocess.Popen | None = None
    command: list[str] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.port}"  # localhost, not 127.0.0.1 (see docs)

    @property
    def log_path(self) -> Path:
        return self.state_dir / "moto.log"

    def start(self, timeout: float = 30.0) -> None:
        self.port = self.port or free_port()
        command = self.command or [sys.executable, "-m", "rehearsal.moto_launcher",
                                   "localhost", str(self.port)]
        env = {**os.environ, "MOTO_ACCOUNT_ID": self.account, "PYTHONPATH": str(ROOT)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StepFailed(f"moto exited with status {self.process.returncode}; "
                                 f"see its log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise StepFailed(f"moto did not answer on {self.endpoint} within {timeout:.0f}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)  # its own group: start_new_session=True
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def errors_since(self, offset: int) -> list[str]:
        """HTTP 5xx answers and tracebacks the server logged after byte ``offset``."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return []
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        found = [line for line in text.splitlines() if _HTTP_5XX.search(line)]
        found += [line for line in text.splitlines()
                  if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", line)]
        return found

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0


@dataclass
class Step:
    name: str
    run: Callable[[], None]


@dataclass
class Rehearsal:
    """Runs steps in order; stops the server and removes its state whatever happens."""

    server: MotoServer
    state_dir: Path
    steps: list[Step] = field(default_factory=list)
    keep_state: bool = False
    out: Callable[[str], None] = print
    current: subprocess.Popen | None = None

    def cleanup(self) -> None:
        child, self.current = self.current, None
        if child is not None and child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.server.stop()
        if not self.keep_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def run(self) -> int:
        atexit.register(self.cleanup)
        previous = {}

        def interrupt(signum: int, _frame: object) -> None:
            raise Interrupted(signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, interrupt)
        started = time.monotonic()
        step_name = "(none)"
        try:
            for step in self.steps:
                step_name = step.name
                t0 = time.monotonic()
                self.out(f"\n==> deploy-local: {step.name}")
                step.run()
                self.out(f"    ok: {step.name} ({time.monotonic() - t0:.1f}s)")
            kept = (f"state kept in {self.state_dir}" if self.keep_state
                    else "state removed")
            self.out(f"\ndeploy-local: OK, {len(self.steps)} steps in "
                     f"{time.monotonic() - started:.0f}s; emulator stopped, {kept}.")
            return 0
        except StepFailed as exc:
            self.out(f"\ndeploy-local: FAILED at step '{step_name}': {exc}")
            return 1
        except Interrupted as exc:
            self.out(f"\ndeploy-local: INTERRUPTED ({exc}) during step '{step_name}'")
            return 128 + exc.signum
        except Exception as exc:  # noqa: BLE001 - report, then clean up below
            self.out(f"\ndeploy-local: FAILED at step '{step_name}': "
                     f"{type(exc).__name__}: {exc}")
            return 1
        finally:
            # A second Ctrl-C or SIGTERM must not cut the clean-up short.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            try:
                self.cleanup()
            finally:
                atexit.unregister(self.cleanup)
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    def command(self, args: list[str], *, env: dict[str, str], cwd: Path,
                what: str) -> None:
        """Run a tool in its own process group (stopped by cleanup when interrupted)."""
        self.out("    $ " + " ".join(args))
        self.current = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        status = self.current.wait()  # on an interrupt, cleanup() stops self.current
        self.current = None
        if status != 0:
            raise StepFailed(f"{what} exited with status {status}")


# --- the real steps ------------------------------------------------------------------------


def dev_stacks(assembly: Path) -> list[tuple[str, Path]]:
    """(stack name, template file) of every stack in the dev stage's nested assembly."""
    manifest = json.loads((assembly / f"assembly-{STAGE}" / "manifest.json").read_text())
    stacks = []
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") == "aws:cloudformation:stack":
            props = artifact["properties"]
            stacks.append((props.get("stackName"), assembly / f"assembly-{STAGE}" / props["templateFile"]))
    if not stacks:
        raise StepFailed(f"no stacks in {assembly}/assembly-{STAGE}")
    return stacks


def _references(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))
                      if m.split(".")[0] not in variables}
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def check_templates(assembly: Path) -> list[str]:
    """Problems that would make moto (or CloudFormation) reject a rehearsal template."""
    from rehearsal.omit import is_custom_resource

    problems = []
    for name, path in dev_stacks(assembly):
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        known = set(resources) | set(template.get("Parameters", {})) | PSEUDO
        for logical_id, entry in resources.items():
            if is_custom_resource(entry.get("Type", "")):
                problems.append(f"{name}: {logical_id} ({entry['Type']}) was not left out")
            depends = entry.get("DependsOn", [])
            for target in [depends] if isinstance(depends, str) else depends:
                if target not in resources:
                    problems.append(f"{name}: {logical_id} DependsOn {target}, which was left out")
            for target in _references(entry) - known:
                problems.append(f"{name}: {logical_id} refers to {target}, which is not in the template")
        for output, entry in template.get("Outputs", {}).items():
            for target in _references(entry) - known:
                problems.append(f"{name}: output {output} refers to {target}, which is not in the template")
    return problems


def build(args: argparse.Namespace) -> Rehearsal:
    from platform_config import load_config

    config_file = Path(args.config).resolve()
    config = load_config(config_file)
    env_config = config.environment(STAGE)
    state_dir = Path(args.state_dir).resolve()
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    (state_dir / "home").mkdir()
    server = MotoServer(state_dir=state_dir, account=env_config.account, port=args.port)
    rehearsal = Rehearsal(server=server, state_dir=state_dir, keep_state=args.keep_state)
    assembly = state_dir / "cdk.out"
    bin_path = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{Path(sys.executable).parent}"

    def aws_env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "CDK_DEFAULT_")) or k == "AWS_CA_BUNDLE"}
        env.update({
            "PATH": f"{bin_path}{os.pathsep}{os.environ.get('PATH', '')}",
            # A fresh dummy key per run: the CDK CLI caches the account of an access key in
            # ~/.cdk, and another emulator may have answered for the same key before.
            "AWS_ACCESS_KEY_ID": f"AKIAREHEARSAL{os.getpid():07d}"[:20],
            "AWS_SECRET_ACCESS_KEY": "rehearsal-dummy-secret",
            "AWS_REGION": env_config.region,
            "AWS_DEFAULT_REGION": env_config.region,
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(state_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(state_dir / "no-aws-credentials"),
            "CDK_DISABLE_VERSION_CHECK": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
        })
        # The CLI's ~/.cdk account cache and any ~/.aws stay out of the rehearsal.
        env["HOME"] = str(state_dir / "home")
        return env

    def start() -> None:
        server.start()
        rehearsal.out(f"    moto (pid {server.process.pid}) on {server.endpoint}, "
                      f"account {env_config.account}, region {env_config.region}")

    def synth() -> None:
        rehearsal.command(
            ["cdk", "synth", "--quiet", "--no-notices", "--output", str(assembly),
             "-c", f"config={config_file}", "-c", "rehearsal:omit-custom-resources=true"],
            env=aws_env(), cwd=ROOT, what="cdk synth (compliance gate on)")

    def templates() -> None:
        # The app already failed the synth on any finding (compliance/gate.py); re-read the
        # report so that nothing is deployed from an assembly with an unacknowledged one.
        from compliance._summary import (
            incomplete_checks,
            read_findings,
            summarize_validation_failure,
        )

        if read_findings(assembly) or incomplete_checks(assembly):
            raise StepFailed(summarize_validation_failure(assembly))
        problems = check_templates(assembly)
        if problems:
            raise StepFailed("; ".join(problems))
        names = [name for name, _ in dev_stacks(assembly)]
        rehearsal.out(f"    dev stacks: {', '.join(names)}")

    def bootstrap() -> None:
        # From the state folder: no cdk.json there, so the CLI does not synthesize the app again.
        rehearsal.command(
            ["cdk", "bootstrap", f"aws://{env_config.account}/{env_config.region}", "--no-notices"],
            env=aws_env(), cwd=state_dir, what="cdk bootstrap")

    deploy_log_offset = {"value": 0}

    def deploy() -> None:
        deploy_log_offset["value"] = server.log_size()
        rehearsal.command(
            ["cdk", "deploy", "--app", str(assembly), f"{STAGE}/*", "--require-approval", "never",
             "--no-notices", "--progress", "events"],
            env=aws_env(), cwd=state_dir, what="cdk deploy")

    def verify() -> None:
        import boto3

        errors = server.errors_since(deploy_log_offset["value"])
        if errors:
            raise StepFailed("the emulator failed requests during the deploy although the CDK "
                             "CLI reported success:\n      " + "\n      ".join(errors[:10]))
        os.environ.update({k: v for k, v in aws_env().items() if k.startswith("AWS_")})
        session = boto3.Session(region_name=env_config.region)
        cfn = session.client("cloudformation")
        for name, _ in dev_stacks(assembly):
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            if status not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
                raise StepFailed(f"stack {name} is {status}")
            rehearsal.out(f"    {name}: {status}")

    def smoke_test() -> None:
        import boto3

        from rehearsal import smoke

        os.environ.update({k: v for k, v in aws_env().items() if k.startswith("AWS_")})
        session = boto3.Session(region_name=env_config.region)
        offset = server.log_size()
        deployed = smoke.load_deployed(session, [name for name, _ in dev_stacks(assembly)])
        results = smoke.run_checks(deployed, session, config)
        rehearsal.out(smoke.format_table(results))
        failed = [r.check for r in results if r.status == smoke.FAIL]
        errors = server.errors_since(offset)
        if errors:
            failed.append("emulator errors while reading back: " + "; ".join(errors[:3]))
        if failed:
            raise StepFailed(f"{len(failed)} check(s) failed: {', '.join(failed)}")

    rehearsal.steps = [
        Step("start emulator", start),
        Step("synth (compliance gate on)", synth),
        Step("check templates", templates),
        Step("cdk bootstrap", bootstrap),
        Step("cdk deploy", deploy),
        Step("verify deploy", verify),
        Step("smoke test", smoke_test),
    ]
    return rehearsal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.environ.get("PLATFORM_CONFIG")
                        or str(ROOT / "config" / "platform.yaml"))
    parser.add_argument("--state-dir", default=str(ROOT / ".deploy-local"))
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep .deploy-local/ (templates, moto.log) for debugging; the "
                             "server is stopped all the same")
    args = parser.parse_args(argv)
    from platform_config import ConfigError

    try:
        rehearsal = build(args)
    except (ConfigError, OSError) as exc:
        print(f"\ndeploy-local: FAILED at step 'load configuration': {exc}")
        return 1
    return rehearsal.run()


if __name__ == "__main__":
    sys.exit(main())
