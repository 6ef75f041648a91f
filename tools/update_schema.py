"""Refresh the vendored ACP JSON Schema in acp_tap/schemas/v1 and rewrite its PROVENANCE.md.

Usage:
  python tools/update_schema.py --npm VERSION          # from @agentclientprotocol/sdk@VERSION
  python tools/update_schema.py --from DIR [--source TEXT]   # from a directory of *.json

--npm runs `npm pack @agentclientprotocol/sdk@VERSION` in a temporary directory and takes
package/schema/v1/*.json from the tarball. --from copies DIR/*.json (for example a checkout of
agentclientprotocol/agent-client-protocol's schema/v1). Each file must parse as JSON; a file
named schema*.json must be draft 2020-12 with x-method annotations. Files the source does not
have are kept, with their old provenance. Run the tests afterwards: `pytest tests/test_check.py`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@agentclientprotocol/sdk"
DEST = Path(__file__).resolve().parent.parent / "acp_tap" / "schemas" / "v1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<source>.*) \| `(?P<sha>[0-9a-f]{64})` \|$")

NOTES = """\
## Notes for a validator

- `method` is typed only as `string`; the method → params/result type mapping is in the
  `x-method` and `x-side` annotations on each `$defs` entry (`x-side`: `agent` = handled by
  the agent, i.e. sent client→agent; `client` = handled by the client; `protocol` = either
  side, e.g. `$/cancel_request`). Definitions named `…Response` are results.
- Methods starting with `_` are extensions and have no schema. Kiro's legacy
  `session/set_model` and the `models` field of its `session/new` result are not in the v1
  schema.
- `acp-tap check` validates against `schema.json`, and against `schema.unstable.json` only
  for methods the stable file does not define.

## Refreshing

`python tools/update_schema.py --npm VERSION` (or `--from DIR`) rewrites the files and this
table; then run `pytest tests/test_check.py`.
"""


def npm_pack(version: str, workdir: Path) -> tuple[dict[str, bytes], str]:
    """The schema/v1/*.json files of the npm package, and a provenance line."""
    spec = f"{PACKAGE}@{version}"
    done = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"update_schema: `npm pack {spec}` failed:\n{done.stderr.strip()}")
    info = json.loads(done.stdout)[0]
    files: dict[str, bytes] = {}
    with tarfile.open(workdir / info["filename"], "r:gz") as tar:
        for member in tar.getmembers():
            match = re.fullmatch(r"package/schema/v1/([A-Za-z0-9_.-]+\.json)", member.name)
            if match and member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[match.group(1)] = extracted.read()
        license_name = _package_field(tar, "license")
    if not files:
        sys.exit(f"update_schema: {spec} has no package/schema/v1/*.json")
    source = f"npm `{spec}` (license {license_name}), `schema/v1/` in the package"
    return files, source


def _package_field(tar: tarfile.TarFile, field: str) -> str:
    member = tar.extractfile("package/package.json")
    if member is None:
        return "?"
    return str(json.loads(member.read()).get(field, "?"))


def from_directory(directory: Path, source: str | None) -> tuple[dict[str, bytes], str]:
    """The *.json files of ``directory``, and a provenance line."""
    files = {p.name: p.read_bytes() for p in sorted(directory.glob("*.json"))}
    if not files:
        sys.exit(f"update_schema: no *.json in {directory}")
    return files, source or f"directory `{directory.resolve()}`"


def validate(name: str, data: bytes) -> None:
    """Refuse files that are not JSON, or schema files acp-tap cannot index."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        sys.exit(f"update_schema: {name} is not JSON: {exc}")
    if name.startswith("schema"):
        defs = document.get("$defs", {}) if isinstance(document, dict) else {}
        methods = [d for d in defs.values() if isinstance(d, dict) and "x-method" in d]
        if document.get("$schema") != DRAFT or not methods:
            sys.exit(f"update_schema: {name} is not a draft 2020-12 ACP schema with x-method")


def old_rows(provenance: Path) -> dict[str, tuple[str, str]]:
    """The provenance table rows already written: file -> (source, sha256)."""
    if not provenance.exists():
        return {}
    rows = {}
    for line in provenance.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match["file"]] = (match["source"], match["sha"])
    return rows


def write(files: dict[str, bytes], source: str, dest: Path) -> None:
    """Write the files and PROVENANCE.md into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    provenance = dest / "PROVENANCE.md"
    rows = old_rows(provenance)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    for name, data in files.items():
        (dest / name).write_bytes(data)
        rows[name] = (f"{source}, copied {today}", hashlib.sha256(data).hexdigest())
    for name in list(rows):
        if not (dest / name).exists():
            del rows[name]
    table = "\n".join(f"| `{n}` | {src} | `{sha}` |" for n, (src, sha) in sorted(rows.items()))
    provenance.write_text(
        "# ACP JSON Schema, protocol v1 (vendored)\n\n"
        "Copied unchanged; `sha256` is of the file as vendored. JSON Schema draft 2020-12.\n\n"
        "| file | source | sha256 |\n| --- | --- | --- |\n"
        f"{table}\n\n{NOTES}",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    """Fetch, check, write."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--npm", metavar="VERSION", help=f"take the schema from {PACKAGE}")
    source.add_argument("--from", dest="directory", type=Path, metavar="DIR", help="a directory")
    parser.add_argument("--source", help="how to describe --from DIR in PROVENANCE.md")
    parser.add_argument("--dest", type=Path, default=DEST, help=f"default: {DEST}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.npm:
            files, origin = npm_pack(args.npm, Path(tmp))
        else:
            files, origin = from_directory(args.directory, args.source)
        for name, data in files.items():
            validate(name, data)
        write(files, origin, args.dest)
    print(f"update_schema: wrote {', '.join(sorted(files))} to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
