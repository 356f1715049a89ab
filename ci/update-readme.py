#!/usr/bin/env python3
"""Regenerate the README's generated parts from the real tool:

- the check list (`qmpspec list --format markdown`), between <!-- checks:begin/end -->;
- the check-client scenario list (`qmpspec check-client --list --format markdown`), between
  <!-- client-scenarios:begin/end -->;
- the sample report: a real run against QEMU 7.2 (terminal summary) and a real failure
  (the emulated monitor with --fault lf-only), between <!-- sample:begin/end -->;
- the matrix: a real run against QEMU 7.2 and QEMU 10.0.2 (target/qemu-10.0, or
  $QMPSPEC_QEMU10), between <!-- matrix:begin/end --> (left as it is, loudly, when either
  QEMU is missing);
- the schema diff between the recorded schemas of QEMU 7.2 and 10.0.2, between
  <!-- schema-diff:begin/end -->.

Every sample is trimmed to what is worth reading: the first lines, every line that is not a
plain pass, the summary. harness/tests/readme.rs fails when either list in the README is
stale, or the schema diff excerpt is not the tool's output.
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
readme = replace(readme, "client-scenarios",
                 run("check-client", "--list", "--format", "markdown").stdout)

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

def grouped(lines, indent):
    """Each line with the lines under it (those that start with `indent`)."""
    groups = []
    for line in lines:
        if line.startswith(indent) and groups:
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups

def trim_matrix(out):
    """The legend, the header and the first rows, then every row (with the lines under it)
    that is not a pass everywhere, then the summaries."""
    legend, rest = out.split("\n\n", 1)
    table, summary = rest.rsplit("\n\n", 1)
    lines = table.splitlines()
    header, rows = lines[0], lines[1:]
    groups = grouped(rows, " ")
    first, others = groups[:4], groups[4:]
    notable = [g for g in others if len(g) > 1 or "<- differs" in g[0]]
    shown = [header] + [l for g in first for l in g] + ["..."]
    if notable:
        shown += [l for g in notable for l in g] + ["..."]
    return legend + "\n\n" + "\n".join(shown) + "\n\n" + summary.strip() + "\n"

qemu10 = os.path.join(os.environ.get("QMPSPEC_QEMU10") or os.path.join(ROOT, "target", "qemu-10.0", "bin"),
                      "qemu-system-x86_64")
have_10 = os.access(qemu10, os.X_OK) and "version 10.0.2" in subprocess.run(
    [qemu10, "--version"], capture_output=True, text=True).stdout
if shutil.which("qemu-system-x86_64") and have_10:
    shown_10 = os.path.relpath(qemu10, ROOT)
    r = run("check", "--qemu", "--qemu", shown_10)
    readme = replace(readme, "matrix", "```text\n$ qmpspec check --qemu --qemu %s\n%s```\n"
                     % (shown_10, trim_matrix(r.stdout)))
else:
    print("update-readme.py: QEMU 7.2 or QEMU 10.0.2 (%s) missing: the matrix sample is NOT "
          "regenerated (ci/setup.sh installs both)" % qemu10, file=sys.stderr)

def trim_diff(out, keep=5, pick={"commands changed": ["migrate", "query-machines", "query-status"]}):
    """The counts, then per section a few entries (those in `pick`, else the first `keep`)
    and how many more there are."""
    head, *sections = out.rstrip("\n").split("\n\n")
    shown = [head]
    for sec in sections:
        title, *lines = sec.splitlines()
        entries = grouped(lines, "    ")
        wanted = pick.get(title.split(" (")[0])
        kept = [e for e in entries if e[0].strip().split()[0] in wanted] if wanted else entries[:keep]
        body = [l for e in kept for l in e]
        if len(kept) < len(entries):
            body.append("  ... (%d more)" % (len(entries) - len(kept)))
        shown.append("\n".join([title] + body))
    return "\n\n".join(shown) + "\n"

old, new = "specs/qemu-7.2/system-x86_64.schema.json", "specs/qemu-10.0/system-x86_64.schema.json"
r = run("schema-diff", old, new)
readme = replace(readme, "schema-diff", "```text\n$ qmpspec schema-diff %s %s\n%s```\n"
                 % (old, new, trim_diff(r.stdout)))
open("README.md", "w").write(readme)
print("README.md updated")
