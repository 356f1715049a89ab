#!/usr/bin/env python3
"""Regenerate the README's generated parts from the real tool:

- the check list (`qmpspec list --format markdown`), between <!-- checks:begin/end -->;
- the sample report: a real run against QEMU 7.2 (terminal summary) and a real failure
  (the emulated monitor with --fault lf-only), between <!-- sample:begin/end -->.

harness/tests/readme.rs fails when the check list in the README is stale.
"""
import os, re, subprocess, sys, tempfile, shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "qmpspec"], check=True)
BIN = os.path.join(ROOT, "target", "release", "qmpspec")

def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True)

def replace(text, name, body):
    pat = re.compile(r"(<!-- %s:begin -->\n).*?(<!-- %s:end -->)" % (name, name), re.S)
    if not pat.search(text):
        sys.exit(f"README.md has no <!-- {name}:begin/end --> markers")
    return pat.sub(lambda m: m.group(1) + body + m.group(2), text)

readme = open("README.md").read()
readme = replace(readme, "checks", run("list", "--format", "markdown").stdout)

sample = []
if shutil.which("qemu-system-x86_64"):
    r = run("check", "--qemu")
    lines = r.stdout.strip().splitlines()
    # The first few lines, every line that is not a pass, and the summary.
    others = [l for l in lines[4:-1] if not l.startswith("PASS")]
    shown = lines[:4] + ["..."] + others + (["..."] if others else []) + lines[-1:]
    sample.append("```text\n$ qmpspec check --qemu\n" + "\n".join(shown) + "\n```\n")
with tempfile.TemporaryDirectory() as d:
    md = os.path.join(d, "r.md")
    r = run("check", "--emulated", "--fault", "lf-only", "--only", "framing.crlf",
            "--report", "markdown=" + md)
    sample.append("A failure, as the Markdown report shows it "
                  "(`qmpspec check --emulated --fault lf-only --only framing.crlf "
                  "--report markdown=report.md`):\n\n")
    report = open(md).read()
    # Demote the report's headings so they nest under the README's.
    report = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", report, flags=re.M)
    sample.append(report.rstrip() + "\n")
readme = replace(readme, "sample", "\n".join(sample))
open("README.md", "w").write(readme)
print("README.md updated")
