"""Schemathesis against an installed `upmetr serve`: every operation of its OpenAPI document,
every phase and check, a superadmin's token and real object ids (tests/conformance.py).

The server runs as a subprocess on a data directory of its own, with moto's AWS endpoint
for the cloud operations. Prints the operations, cases, server errors, failures and the
time taken; exits 1 on any failure.

    python benchmarks/fuzz.py                      # >= 10,000 cases
    python benchmarks/fuzz.py --max-examples 5 -v      # a quick pass, every failure printed
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from moto.server import ThreadedMotoServer  # noqa: E402

from tests.conformance import config, run, seed  # noqa: E402
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess, free_port  # noqa: E402

# moto's own server wants credentials in the environment; any well-formed keys do.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAUPMETRFUZZKEY01",
    "AWS_SECRET_ACCESS_KEY": "upmetr-fuzz-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=120, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(FAKE_AWS)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    moto.start()
    aws = f"http://127.0.0.1:{moto._port}"
    with tempfile.TemporaryDirectory(prefix="upmetr-fuzz-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        server = ServerProcess(data_dir)
        server.env.update(FAKE_AWS)
        server.env.update({
            "UPMETR_AWS_ENDPOINT_URL": aws,
            # The fuzzer's requests come from one address at full speed for minutes.
            "UPMETR_RATE_LIMIT_USER": "1000000/minute",
            "UPMETR_RATE_LIMIT_ANON": "1000000/minute",
            "UPMETR_ACCESS_TOKEN_MINUTES": "600",
        })  # fmt: skip
        server.create_user(ADMIN_EMAIL)
        server.start()
        try:
            objects = seed(server.url, ADMIN_EMAIL, ADMIN_PASSWORD, aws)
            passes = [
                config(server.url, objects, max_examples=args.max_examples, seed=args.seed,
                       stateful=stateful)
                for stateful in (False, True)
            ]  # fmt: skip
            started = time.monotonic()
            outcome = run(server.url, passes)
            seconds = time.monotonic() - started
            # The tracebacks of any 500s, before the data directory goes.
            log = _errors(server.log_path.read_text(errors="replace"))
        finally:
            # A stream the fuzzer left open can hold a graceful stop past its 10 s.
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.stop()
            moto.stop()
    print(f"operations:     {outcome.operations}")
    print(f"cases:          {outcome.cases}")
    print(f"server errors:  {outcome.server_errors}")
    print(f"failures:       {len(outcome.failures)}")
    print(f"errors:         {len(outcome.errors)}")
    print(f"duration:       {seconds:.0f} s ({outcome.cases / seconds:.0f} cases/s)")
    print(f"passes:         {', '.join(f'{s:.0f} s' for s in outcome.pass_seconds)}")
    for name, count in sorted(outcome.by_check.items()):
        print(f"  {name}: {count}")
    if args.verbose:
        for line in [*outcome.errors, *outcome.failures]:
            print(line)
    if log:
        # aiohttp's own parser logs the 400 it answers schemathesis's probe (a NUL byte in a
        # header) at ERROR too: only an `upmetr.http` record is a 500 of ours.
        print("ERROR records in the server log:\n" + log)
    return 1 if outcome.failures or outcome.errors or outcome.server_errors else 0


def _errors(log: str) -> str:
    """The server log's ERROR records with their tracebacks (the lines up to the next record)."""
    kept: list[str] = []
    keeping = False
    for line in log.splitlines():
        if line[:4].isdigit():  # a record starts with its date
            keeping = " ERROR " in line
        if keeping:
            kept.append(line)
    return "\n".join(kept)


if __name__ == "__main__":
    sys.exit(main())
