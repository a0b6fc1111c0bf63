"""The benchmarks behind BENCHMARKS.md, each against a baseline measured in the same run on the
same input, reported as ratios (absolute times vary by machine; ratios much less).

usage: bench.py BINARY [--rounds N] [--only staging,scan,deploy,services,fleet,handoff] [--previews 3,20]
                [--old-binary OLD]

  staging   `vars` staging a 200 MiB `path` package vs `sha256sum` of the file; peak memory
  scan      `scan --format json` of 40 services x 100 previews and of 500 services x 10 previews
            vs `cat` of the same files; its peak memory at 500 services against 50
  deploy    the reference design's hand-written workflow (../shared/baseline or
            $SEED_BASELINE: seed-workflow.sh + its Terraform) vs lambda-gitops vs bare
            `terraform apply` of lambda-gitops's own module with the same variables (the
            floor), step by step: first deploy, no-op re-run, one preview added, one removed,
            at 3 and at 20 previews. Each side has its own emulator (moto on 127.0.0.1); the
            sides take turns step by step; every round starts from empty emulators.
  services  three services in one run (default --jobs, and --jobs 1) vs one run per service
  fleet     30 services x 2 previews applied once, then a commit bumping one service: `plan` of
            every service vs `plan --service` of that one, `apply`, `matrix --changed-since`,
            with the terraform commands each run starts
  handoff   the merge job: `apply --plan-dir` of the plan `plan --out-dir` saved for a staging
            version bump (one service, staging, production, 3 previews, applied once before)
            vs plain `apply` of the same change, each side with its own emulator, every round
            a new version; with --old-binary, also that binary's `apply --plan-dir` (before
            the merge job planned afresh itself)

Everything talks to emulators on loopback only; terraform's providers come from a filesystem
mirror ($TF_PLUGIN_MIRROR, else terraform's implied mirror directories, else /opt/tf-plugins).
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


PROFILE = {}  # (previews, step, command) -> [seconds], from lambda-gitops's own timing (-v)


def timed(argv, cwd=None, env=None, check=True, profile=None):
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if check and result.returncode not in (0, 2):
        sys.stderr.write(result.stderr.decode(errors="replace")[-4000:])
        raise SystemExit(f"{argv[0]} exited {result.returncode}")
    if profile is not None:
        # `-v` logs "`…/terraform plan …` finished in 1.23s" per command.
        for line in result.stderr.decode(errors="replace").splitlines():
            if "` finished in " in line and "terraform " in line:
                command = line.split("terraform ", 1)[1].split()[0]
                seconds = float(line.rsplit(" ", 1)[1].rstrip("s"))
                PROFILE.setdefault(profile + (command,), []).append(seconds)
    return elapsed


def median_of(runs, argv, cwd=None):
    """Median wall time over `runs`, and the largest peak RSS of those processes (KiB), read
    for each one from its own rusage (the children's total would count every earlier child)."""
    times, peak = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"{argv[0]} exited {child.returncode}")
        peak = max(peak, usage.ru_maxrss)
    return statistics.median(times), peak


def ms(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- staging and scan --------------------------------------------------------------------

def bench_staging(binary, scratch, runs):
    big = os.path.join(scratch, "big")
    write(f"{big}/services/svc/config.yaml",
          "serviceName: svc\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: a.h\n"
          "  triggerBucket: svc-up\n  packageBucket: svc-pk\n  package:\n    path: \"pkg-{version}.zip\"\n")
    write(f"{big}/environments/staging/svc/config.yaml",
          "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1\"\n  functionName: f\n  s3TriggerPrefix: s/\n")
    size = 200 << 20
    # Written in pieces: a child forked from a process holding the whole payload would count
    # it in its own peak memory (Linux keeps the pre-exec high-water mark).
    with zipfile.ZipFile(f"{big}/pkg-1.zip", "w", zipfile.ZIP_STORED) as z:
        with z.open("payload.bin", "w", force_zip64=True) as payload:
            for _ in range(size >> 20):
                payload.write(os.urandom(1 << 20))
    common = ["--gitops-dir", big, "--work-dir", f"{scratch}/work", "--cache-dir", f"{scratch}/cache", "-q"]
    tool, rss = median_of(runs, [binary, "vars", *common])
    base, _ = median_of(runs, ["sha256sum", f"{big}/pkg-1.zip"])
    return [
        ("`vars` staging a 200 MiB `path` package (scan, validate, whole-zip check, SHA-256, link)",
         ms(tool), f"`sha256sum` of the file: {ms(base)}", tool / base),
        ("peak memory of that `vars` run", f"{rss / 1024:.1f} MiB", f"the package: {size >> 20} MiB",
         rss / 1024 / (size >> 20)),
    ]


def wide_tree(root, services, previews):
    """`services` Lambda services, each with staging, production and `previews` previews."""
    files = 0
    for s in range(services):
        name = f"svc{s}"
        write(f"{root}/services/{name}/config.yaml",
              f"serviceName: {name}\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: a.h\n"
              f"  triggerBucket: {name}-up\n  packageBucket: {name}-pk\n  package:\n    url: \"https://example.com/{name}-{{version}}.zip\"\n")
        write(f"{root}/environments/staging/{name}/config.yaml",
              f"serviceName: {name}\nenvName: staging\nlambda:\n  version: \"1\"\n  functionName: {name}-s\n  s3TriggerPrefix: s/\n")
        write(f"{root}/environments/production/{name}/config.yaml",
              f"serviceName: {name}\nenvName: production\nlambda:\n  version: \"1\"\n  functionName: {name}-p\n  s3TriggerPrefix: p/\n")
        files += 3
        for pr in range(1, previews + 1):
            write(f"{root}/environments/preview/pr-{pr}/services/{name}.values.yaml",
                  f"serviceName: {name}\ndeploymentType: lambda\nlambda:\n  version: \"1-pr{pr}\"\n  commitSha: abcdef1\n")
            files += 1
    return files


def bench_scan(binary, scratch, runs):
    rows = []
    peaks = {}
    for services, previews in ((40, 100), (50, 10), (500, 10)):
        root = os.path.join(scratch, f"wide-{services}x{previews}")
        files = wide_tree(root, services, previews)
        tool, peak = median_of(runs, [binary, "scan", "--gitops-dir", root, "--format", "json"])
        base, _ = median_of(runs, ["sh", "-c", f"find {root} -name '*.yaml' -exec cat {{}} + > /dev/null"])
        peaks[services, previews] = peak
        if (services, previews) != (50, 10):
            rows.append((f"`scan --format json` of {files} files ({services} services × {previews} previews)",
                         ms(tool), f"`cat` of the same files: {ms(base)}", tool / base))
    small, large = peaks[50, 10], peaks[500, 10]
    rows.append(("peak memory of `scan --format json`, 500 services × 10 previews",
                 f"{large / 1024:.1f} MiB", f"50 services × 10 previews: {small / 1024:.1f} MiB", large / small))
    return rows


# --- deploys against emulators -----------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, scratch, name):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        log = open(os.path.join(scratch, f"moto-{name}.log"), "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=log)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("moto did not start")
                time.sleep(0.1)

    def reset(self, buckets):
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).read()
        import boto3
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)

    def env(self, base):
        env = dict(base)
        env.update(AWS_ENDPOINT_URL=self.endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"):
            env.pop(name, None)
        return env

    def stop(self):
        self.process.terminate()
        self.process.wait()


def find_mirror():
    """$TF_PLUGIN_MIRROR, else the first of the directories terraform itself searches as
    implied local mirrors on Linux (then this machine's /opt/tf-plugins) that holds
    `registry.terraform.io`; never a search of the whole filesystem."""
    mirror = os.environ.get("TF_PLUGIN_MIRROR")
    if mirror:
        return mirror
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    for base in [os.path.expanduser("~/.terraform.d/plugins"), f"{data_home}/terraform/plugins",
                 *(f"{d}/terraform/plugins" for d in data_dirs if d), "/opt/tf-plugins"]:
        if os.path.isdir(os.path.join(base, "registry.terraform.io")):
            return base
    return None


def package(path, payload):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        info = zipfile.ZipInfo("app.py", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, f"def handler(event, context):\n    return {payload!r}\n")


def gitops_tree(root, service, previews):
    """The fixtures' layout, `path` packages, `previews` PR previews of one service."""
    write(f"{root}/services/{service}/config.yaml",
          f"serviceName: {service}\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n"
          f"  handler: app.handler\n  triggerBucket: {service}-uploads\n  packageBucket: {service}-packages\n"
          f"  package:\n    path: \"packages/{service}-{{version}}.zip\"\n"
          f"  preview:\n    functionName: \"{service}-prod-pr-{{pr}}\"\n")
    for env, version, function, prefix in (("staging", "1.1.0", f"{service}-prod-staging", "staging/"),
                                           ("production", "1.0.0", f"{service}-prod", "Projects/")):
        write(f"{root}/environments/{env}/{service}/config.yaml",
              f"serviceName: {service}\nenvName: {env}\nlambda:\n  version: \"{version}\"\n"
              f"  functionName: {function}\n  s3TriggerPrefix: \"{prefix}\"\n"
              f"gitVersion:\n  sha: \"abcdef1234567\"\n  shortSha: \"abcdef1\"\n")
        package(f"{root}/packages/{service}-{version}.zip", f"{service} {version}")
    for pr in range(1, previews + 1):
        add_preview(root, service, pr)


def add_preview(root, service, pr):
    write(f"{root}/environments/preview/pr-{pr}/services/{service}.values.yaml",
          f"serviceName: {service}\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0-pr{pr}\"\n"
          f"  commitSha: \"1234567abc\"\n")
    package(f"{root}/packages/{service}-1.1.0-pr{pr}.zip", f"{service} pr {pr}")


def remove_preview(root, service, pr):
    shutil.rmtree(f"{root}/environments/preview/pr-{pr}")


class Side:
    """One way of deploying the tree, with its own emulator and work dir."""

    def __init__(self, name, emulator, scratch, env):
        self.name, self.emulator, self.scratch, self.env = name, emulator, scratch, emulator.env(env)
        self.work = os.path.join(scratch, f"work-{name}")

    def fresh(self, buckets):
        self.emulator.reset(buckets)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)


class Seed(Side):
    def __init__(self, seed_dir, *args):
        super().__init__("seed", *args)
        self.script = os.path.join(seed_dir, "seed-workflow.sh")

    def step(self, gitops, service, profile=None):
        return timed(["bash", self.script, gitops, service, f"packages/{service}-{{version}}.zip", self.work],
                     env=self.env)


class Tool(Side):
    def __init__(self, binary, *args):
        super().__init__("lambda-gitops", *args)
        self.binary = binary

    def step(self, gitops, service, profile=None):
        return timed([self.binary, "apply", "--auto-approve", "-v", "--gitops-dir", gitops,
                      "--work-dir", self.work, "--cache-dir", os.path.join(self.scratch, "cache-tool")],
                     env=self.env, profile=profile)


class Floor(Side):
    """Bare `terraform apply` of lambda-gitops's own module with the same variables, written
    beforehand (by `lambda-gitops vars`, untimed): what terraform itself costs."""

    def __init__(self, binary, *args):
        super().__init__("terraform", *args)
        self.binary = binary

    def step(self, gitops, service, profile=None):
        vars_work = os.path.join(self.scratch, "work-floor-vars")
        subprocess.run([self.binary, "vars", "-q", "--gitops-dir", gitops, "--work-dir", vars_work,
                        "--cache-dir", os.path.join(self.scratch, "cache-floor")],
                       env=self.env, check=True, stdout=subprocess.DEVNULL)
        module = os.path.join(self.work, service)
        os.makedirs(module, exist_ok=True)
        for name in os.listdir(os.path.join(ROOT, "terraform")):
            if name.endswith(".tf") or name == ".terraform.lock.hcl":
                shutil.copy(os.path.join(ROOT, "terraform", name), module)
        shutil.copy(os.path.join(vars_work, service, "lambda-gitops.tfvars.json"),
                    os.path.join(module, "vars.tfvars.json"))
        shutil.rmtree(os.path.join(module, "packages"), ignore_errors=True)
        shutil.copytree(os.path.join(vars_work, service, "packages"), os.path.join(module, "packages"))
        elapsed = 0.0
        if not os.path.isdir(os.path.join(module, ".terraform")):
            elapsed += timed(["terraform", f"-chdir={module}", "init", "-input=false", "-no-color"], env=self.env)
        elapsed += timed(["terraform", f"-chdir={module}", "apply", "-auto-approve", "-input=false", "-no-color",
                          "-var-file=vars.tfvars.json"], env=self.env)
        return elapsed


STEPS = ["first deploy", "no-op re-run", "one preview added", "one preview removed"]


def bench_deploy(binary, scratch, rounds, preview_counts, seed_dir, env):
    service = "svc"
    buckets = [f"{service}-uploads", f"{service}-packages"]
    emulators = {name: Emulator(scratch, name) for name in ("seed", "tool", "floor")}
    sides = [Seed(seed_dir, emulators["seed"], scratch, env),
             Tool(binary, emulators["tool"], scratch, env),
             Floor(binary, emulators["floor"], scratch, env)]
    steps = STEPS
    results = {}  # (previews, step, side) -> [seconds]
    try:
        for previews in preview_counts:
            for round_ in range(rounds):
                gitops = os.path.join(scratch, f"gitops-{previews}-{round_}")
                shutil.rmtree(gitops, ignore_errors=True)
                gitops_tree(gitops, service, previews)
                for side in sides:
                    side.fresh(buckets)
                for step in steps:
                    if step == "one preview added":
                        add_preview(gitops, service, previews + 1)
                    if step == "one preview removed":
                        remove_preview(gitops, service, previews + 1)
                    for side in sides:
                        seconds = side.step(gitops, service, profile=(previews, step))
                        results.setdefault((previews, step, side.name), []).append(seconds)
                        print(f"  {previews:>2} previews, round {round_ + 1}, {step:<20} {side.name:<14} {seconds:6.2f} s",
                              file=sys.stderr)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    rows = []
    for previews in preview_counts:
        for step in steps:
            seed, tool, floor = (statistics.median(results[(previews, step, name)])
                                 for name in ("seed", "lambda-gitops", "terraform"))
            rows.append((previews, step, seed, tool, floor))
    return rows


def bench_services(binary, scratch, rounds, env):
    """Three services from empty emulators: one run with the default `--jobs` (the cores),
    one run with `--jobs 1`, and one run per service in turn."""
    emulator = Emulator(scratch, "services")
    services = ["alpha", "beta", "gamma"]
    buckets = [b for s in services for b in (f"{s}-uploads", f"{s}-packages")]
    gitops = os.path.join(scratch, "gitops-services")
    for service in services:
        gitops_tree(gitops, service, 3)
    run_env = emulator.env(env)
    times = {"parallel": [], "jobs3": [], "jobs1": [], "apart": []}
    try:
        for _ in range(rounds):
            for mode in times:
                emulator.reset(buckets)
                work = os.path.join(scratch, f"work-services-{mode}")
                shutil.rmtree(work, ignore_errors=True)
                base = [binary, "apply", "--auto-approve", "-q", "--gitops-dir", gitops, "--work-dir", work,
                        "--cache-dir", os.path.join(scratch, "cache-services")]
                if mode == "parallel":
                    seconds = timed(base, env=run_env)
                elif mode == "jobs3":
                    seconds = timed(base + ["--jobs", "3"], env=run_env)
                elif mode == "jobs1":
                    seconds = timed(base + ["--jobs", "1"], env=run_env)
                else:
                    seconds = sum(timed(base + ["--service", s], env=run_env) for s in services)
                times[mode].append(seconds)
                print(f"  three services, {mode:<8} {seconds:6.2f} s", file=sys.stderr)
    finally:
        emulator.stop()
    return {mode: statistics.median(values) for mode, values in times.items()}


# --- a fleet: many services, one of them changed ---------------------------------------

def bench_fleet(binary, scratch, rounds, env, services=30, previews=2):
    """`services` services with `previews` previews each, applied once (untimed); then a pull
    request bumps one service's staging version. Timed: `plan` of every service against
    `plan --service` of the changed one alone, `apply` of every service, and `matrix
    --changed-since` of the commit before; each run's terraform processes are counted
    through a `--terraform-bin` wrapper that logs every invocation."""
    emulator = Emulator(scratch, "fleet")
    names = [f"s{i:02d}" for i in range(services)]
    gitops = os.path.join(scratch, "gitops-fleet")
    for name in names:
        gitops_tree(gitops, name, previews)
    git = ["git", "-C", gitops, "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "fleet"], check=True)
    log = os.path.join(scratch, "terraform-invocations.log")
    wrapper = os.path.join(scratch, "terraform-counting")
    write(wrapper, f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{shutil.which("terraform")}" "$@"\n')
    os.chmod(wrapper, 0o755)
    run_env = emulator.env(env)
    work = os.path.join(scratch, "work-fleet")
    base = [binary, "-q", "--gitops-dir", gitops, "--work-dir", work,
            "--cache-dir", os.path.join(scratch, "cache-fleet")]
    tf = ["--terraform-bin", wrapper]

    def counted(argv):
        """Wall time, terraform commands started, and lambda-gitops's own peak RSS (KiB:
        its rusage from wait4, which leaves its children out)."""
        open(log, "w").close()
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 2):
            sys.stderr.write(child.stderr.read().decode(errors="replace")[-4000:])
            raise SystemExit(f"{argv[0]} exited {code}")
        lines = open(log).read().split()
        return seconds, sum(1 for line in lines if line != "version"), usage.ru_maxrss

    results = {}
    try:
        emulator.reset([b for s in names for b in (f"{s}-uploads", f"{s}-packages")])
        print(f"  fleet: first apply of {services} services", file=sys.stderr)
        timed([*base[:1], "apply", *base[1:], *tf, "--auto-approve"], env=run_env)
        changed = names[services // 3]
        for round_ in range(rounds):
            version = f"1.2.{round_}"
            path = f"{gitops}/environments/staging/{changed}/config.yaml"
            text = open(path).read()
            write(path, re.sub(r'version: "[^"]*"', f'version: "{version}"', text, count=1))
            package(f"{gitops}/packages/{changed}-{version}.zip", f"{changed} {version}")
            subprocess.run(git + ["add", "-A"], check=True)
            subprocess.run(git + ["commit", "-q", "-m", f"bump {changed}"], check=True)
            runs = {
                "plan, every service": [*base[:1], "plan", *base[1:], *tf],
                "plan --service (the changed one)": [*base[:1], "plan", *base[1:], *tf, "--service", changed],
                "plan --refresh, every service (terraform for each)": [*base[:1], "plan", *base[1:], *tf, "--refresh"],
                "matrix --changed-since HEAD~1": [*base[:1], "matrix", *base[1:], "--changed-since", "HEAD~1"],
                "apply, every service": [*base[:1], "apply", *base[1:], *tf, "--auto-approve"],
            }
            for name, argv in runs.items():
                seconds, processes, peak = counted(argv)
                results.setdefault(name, []).append((seconds, processes, peak))
                print(f"  fleet round {round_ + 1}: {name:<34} {seconds:6.2f} s, {processes} terraform commands, "
                      f"{peak / 1024:.0f} MiB", file=sys.stderr)
        listed = subprocess.run([*base[:1], "matrix", *base[1:], "--changed-since", "HEAD~1"], env=run_env,
                                stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    finally:
        emulator.stop()
    return results, changed, listed


def fleet_section(results, changed, listed, rounds, services, previews):
    one = statistics.median(s for s, _, _ in results["plan --service (the changed one)"])
    one_peak = max(m for _, _, m in results["plan --service (the changed one)"])
    rows = ""
    for name, values in results.items():
        seconds = statistics.median(s for s, _, _ in values)
        processes = max(p for _, p, _ in values)
        peak = max(m for _, _, m in values)
        ratio = f"{seconds / one:.2f}×" if name.startswith("plan") else "—"
        rows += f"| {name} | {seconds:.2f} s | {processes} | {ratio} | {peak / 1024:.0f} MiB ({peak / one_peak:.2f}×) |\n"
    return (f"{services} services × {previews} previews, applied once; then each round a commit bumps the "
            f"staging version of `{changed}`. Medians of {rounds} rounds; terraform commands counted through a "
            f"`--terraform-bin` wrapper (`version` left out).\n\n"
            "| run | time | terraform commands | vs `plan --service` of the changed one | the run's peak memory, largest process (vs that plan) |\n|---|---|---|---|---|\n"
            + rows + f"\n`matrix --changed-since HEAD~1` listed: `{listed}`\n")


# --- the merge job: the reviewed plan's apply ---------------------------------------------

def set_staging(root, service, version):
    """Staging of `service` at `version`, its `path` package beside it."""
    write(f"{root}/environments/staging/{service}/config.yaml",
          f"serviceName: {service}\nenvName: staging\nlambda:\n  version: \"{version}\"\n"
          f"  functionName: {service}-prod-staging\n  s3TriggerPrefix: \"staging/\"\n"
          f"gitVersion:\n  sha: \"abcdef1234567\"\n  shortSha: \"abcdef1\"\n")
    package(f"{root}/packages/{service}-{version}.zip", f"{service} {version}")


class Handoff(Side):
    """One binary's way of applying a change: `plan --out-dir` then `apply --plan-dir` (the
    merge job applying what was reviewed), or plain `apply`."""

    def __init__(self, name, binary, reviewed, *args):
        super().__init__(name, *args)
        self.binary, self.reviewed = binary, reviewed
        self.plans = os.path.join(self.scratch, f"plans-{name}")

    def run(self, gitops, *extra, profile=None):
        return timed([self.binary, *extra, "-v", "--gitops-dir", gitops, "--work-dir", self.work,
                      "--cache-dir", os.path.join(self.scratch, f"cache-{self.name}")],
                     env=self.env, profile=profile)

    def step(self, gitops):
        """Seconds of (`plan --out-dir`, the apply), the plan's None for plain `apply`."""
        if not self.reviewed:
            return None, self.run(gitops, "apply", "--auto-approve", profile=("handoff", self.name, "apply"))
        shutil.rmtree(self.plans, ignore_errors=True)
        plan = self.run(gitops, "plan", "--out-dir", self.plans, profile=("handoff", self.name, "plan"))
        apply = self.run(gitops, "apply", "--auto-approve", "--plan-dir", self.plans,
                         profile=("handoff", self.name, "apply"))
        return plan, apply


HANDOFF_SIDES = ["apply --plan-dir", "plain apply", "apply --plan-dir, before"]


def bench_handoff(binary, old_binary, scratch, rounds, env):
    """One service (staging, production, 3 previews) applied once by each side; then per round
    staging moves to a new version and each side applies that change from the same state (its
    own emulator and work dir), taking turns."""
    service = "svc"
    buckets = [f"{service}-uploads", f"{service}-packages"]
    gitops = os.path.join(scratch, "gitops-handoff")
    shutil.rmtree(gitops, ignore_errors=True)
    gitops_tree(gitops, service, 3)
    wanted = [(HANDOFF_SIDES[0], binary, True), (HANDOFF_SIDES[1], binary, False)]
    if old_binary:
        wanted.append((HANDOFF_SIDES[2], old_binary, True))
    emulators = {name: Emulator(scratch, f"handoff-{i}") for i, (name, _, _) in enumerate(wanted)}
    sides = [Handoff(name, path, reviewed, emulators[name], scratch, env) for name, path, reviewed in wanted]
    results = {}  # (side, "plan" | "apply") -> [seconds]
    try:
        for side in sides:
            side.fresh(buckets)
            timed([side.binary, "apply", "--auto-approve", "-q", "--gitops-dir", gitops, "--work-dir", side.work,
                   "--cache-dir", os.path.join(scratch, f"cache-{side.name}")], env=side.env)
        for round_ in range(rounds):
            set_staging(gitops, service, f"1.{round_ + 2}.0")
            for side in sides:
                plan, apply = side.step(gitops)
                if plan is not None:
                    results.setdefault((side.name, "plan"), []).append(plan)
                results.setdefault((side.name, "apply"), []).append(apply)
                print(f"  handoff, round {round_ + 1}, {side.name:<24} "
                      f"{'' if plan is None else f'plan {plan:6.2f} s, '}apply {apply:6.2f} s", file=sys.stderr)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    return {key: statistics.median(values) for key, values in results.items()}


def handoff_section(times, rounds):
    plain = times[("plain apply", "apply")]
    rows = [("`apply --auto-approve --plan-dir DIR` (the merge job)", "apply --plan-dir", "apply"),
            ("plain `apply --auto-approve` of the same change", "plain apply", "apply"),
            ("`apply --auto-approve --plan-dir DIR`, before (`--old-binary`: the saved plan applied)",
             "apply --plan-dir, before", "apply"),
            ("`plan --out-dir DIR` on the pull request (not on the merge job)", "apply --plan-dir", "plan")]
    table = "| run | time | vs plain `apply` |\n|---|---|---|\n"
    table += "".join(f"| {label} | {times[(side, what)]:.2f} s | {times[(side, what)] / plain:.2f}× |\n"
                     for label, side, what in rows if (side, what) in times)
    profile = "| run | command | median | per run |\n|---|---|---|---|\n"
    order = {name: i for i, name in enumerate(HANDOFF_SIDES)}
    for (_, side, what, command), values in sorted(
            ((k, v) for k, v in PROFILE.items() if k[0] == "handoff"),
            key=lambda kv: (order[kv[0][1]], kv[0][2] != "apply", kv[0][3])):
        before = ", before" if side.endswith(", before") else ""
        label = "plain `apply`" if side == "plain apply" else f"`apply --plan-dir`{before}"
        if what == "plan":
            label = f"`plan --out-dir`{before}"
        profile += (f"| {label} | `terraform {command}` | {statistics.median(values):.2f} s | "
                    f"{len(values) / rounds:g} |\n")
    return (f"Medians of {rounds} rounds. One service (staging, production, 3 previews) applied once; "
            "each round moves staging to a new version, and each side applies that change from the same "
            "state with its own emulator and work dir.\n\n" + table +
            "\nEach terraform command of those runs, timed by lambda-gitops itself (`-v`):\n\n" + profile)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="staging,scan,deploy,services")
    parser.add_argument("--previews", default="3,20")
    parser.add_argument("--old-binary", help="handoff: also time this build's `apply --plan-dir`")
    args = parser.parse_args()
    only = set(args.only.split(","))
    runs = 5
    # Beside the checkout (../shared/baseline), or beside the directory holding it (a worktree).
    seed_dir = os.environ.get("SEED_BASELINE") or next(
        (d for d in (os.path.join(ROOT, "..", "shared", "baseline"), os.path.join(ROOT, "..", "..", "shared", "baseline"))
         if os.path.isfile(os.path.join(d, "seed-workflow.sh"))),
        os.path.join(ROOT, "..", "shared", "baseline"))

    scratch = tempfile.mkdtemp(prefix="lambda-gitops-bench-")
    env = dict(os.environ)
    mirror = find_mirror()
    rc = os.path.join(scratch, "terraform.rc")
    write(rc, "" if not mirror else
          f'provider_installation {{\n  filesystem_mirror {{\n    path    = "{mirror}"\n'
          f'    include = ["registry.terraform.io/*/*"]\n  }}\n}}\n')
    env["TF_CLI_CONFIG_FILE"] = rc
    env["CHECKPOINT_DISABLE"] = "1"
    try:
        sections = []
        if only & {"staging", "scan"}:
            rows = []
            if "staging" in only:
                rows += bench_staging(args.binary, scratch, runs)
            if "scan" in only:
                rows += bench_scan(args.binary, scratch, runs)
            table = "| benchmark | lambda-gitops | baseline | ratio |\n|---|---|---|---|\n"
            table += "".join(f"| {a} | {b} | {c} | {r:.2f}× |\n" for a, b, c, r in rows)
            sections.append(("Staging and scanning", f"Medians of {runs} runs.\n\n{table}"))
        if "deploy" in only:
            if not os.path.isfile(os.path.join(seed_dir, "seed-workflow.sh")):
                raise SystemExit(f"no seed workflow in {seed_dir} (set SEED_BASELINE)")
            rows = bench_deploy(args.binary, scratch, args.rounds,
                                [int(n) for n in args.previews.split(",")], seed_dir, env)
            table = ("| previews | step | seed workflow | lambda-gitops | bare terraform | speed-up vs seed | "
                     "vs bare terraform |\n|---|---|---|---|---|---|---|\n")
            table += "".join(
                f"| {p} | {step} | {seed:.2f} s | {tool:.2f} s | {floor:.2f} s | {seed / tool:.2f}× | {tool / floor:.2f}× |\n"
                for p, step, seed, tool, floor in rows)
            sections.append(("Deploys against the seed workflow",
                             f"Medians of {args.rounds} rounds, each from empty emulators.\n\n{table}"))
        deploy_profile = {k: v for k, v in PROFILE.items() if isinstance(k[0], int)}
        if "deploy" in only and deploy_profile:
            table = "| previews | step | command | median | runs |\n|---|---|---|---|---|\n"
            for (p, step, command), values in sorted(deploy_profile.items(), key=lambda kv: (kv[0][0], STEPS.index(kv[0][1]), kv[0][2])):
                table += f"| {p} | {step} | `terraform {command}` | {statistics.median(values):.2f} s | {len(values)} |\n"
            sections.append(("Where lambda-gitops's time goes",
                             "Each terraform command of the lambda-gitops runs above, timed by lambda-gitops itself (`-v`).\n\n"
                             + table))
        if "services" in only:
            times = bench_services(args.binary, scratch, args.rounds, env)
            apart = times["apart"]
            sections.append(("Three services", (
                f"Medians of {args.rounds} rounds, each from an empty emulator, 3 previews per service.\n\n"
                "| run | time | vs one after another |\n|---|---|---|\n"
                f"| one run, default `--jobs` ({os.cpu_count()}) | {times['parallel']:.2f} s | {times['parallel'] / times['jobs1']:.2f}× |\n"
                f"| one run, `--jobs 3` (one per service) | {times['jobs3']:.2f} s | {times['jobs3'] / times['jobs1']:.2f}× |\n"
                f"| one run, `--jobs 1` | {times['jobs1']:.2f} s | 1.00× |\n"
                f"| one run per service, in turn | {apart:.2f} s | {apart / times['jobs1']:.2f}× |\n")))
        if "fleet" in only:
            results, changed, listed = bench_fleet(args.binary, scratch, args.rounds, env)
            sections.append(("A fleet, one service changed",
                             fleet_section(results, changed, listed, args.rounds, 30, 2)))
        if "handoff" in only:
            sections.append(("The reviewed plan's apply (`apply --plan-dir`)",
                             handoff_section(bench_handoff(args.binary, args.old_binary, scratch, args.rounds, env),
                                             args.rounds)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    load = os.getloadavg()[0]
    out = [f"Measured by `scripts/bench {' '.join(sys.argv[2:])}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores,"
           f" {cpu}; load average {load:.1f} at the end), {'debug' if '/debug/' in args.binary else 'release'} build."]
    for title, body in sections:
        out.append(f"\n### {title}\n\n{body}")
    print("\n".join(out).rstrip())


if __name__ == "__main__":
    main()
