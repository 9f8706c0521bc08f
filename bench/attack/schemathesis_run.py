"""schemathesis against Haven's JSON API, for every role (run through bench/attack/schemathesis).

Starts a fresh demo instance (bench/attack/haven_instance.py), signs in every demo account and
creates API tokens on its profile page: one with all of the account's permissions per role, one
read-only token (supervisor) and one scoped to a single permission (counsellor, view_institutions).
For every token and every operation of /api/openapi.json, schemathesis generates requests from
the schema (valid ones and, for a share of the examples, invalid ones) and each response is checked:

  * no 5xx (not_a_server_error),
  * the status code, content type, headers and body are those the document declares
    (status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance),
  * refusal: a 2xx where the token must be refused is a failure. Who must be refused comes from
    bench/attack/api_access.json (the route's permission, the role's permissions), which the test
    crates/haven-web/tests/attack_tables.rs keeps equal to routes.rs and policy.rs; a read-only
    token must be refused every write, a scoped token everything outside its scope.
    Conversely, a refusal (403) where the token is allowed is reported too.

Bounded: --examples per operation and token (default 25), so the run stops by itself.
Last line: RESULT schemathesis tried=<test cases> failed=<distinct failures>
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import DataGenerationMethod
from schemathesis.specs.openapi import checks as oa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from haven_instance import Instance, build, log  # noqa: E402

CHECKS = (
    schemathesis.checks.not_a_server_error,
    oa.status_code_conformance,
    oa.content_type_conformance,
    oa.response_headers_conformance,
    oa.response_schema_conformance,
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18150)
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--only", default="", help="operations whose path contains this")
    args = ap.parse_args()
    table = json.loads((Path(__file__).resolve().parent / "api_access.json").read_text())
    started = time.time()
    binary = build()
    tried = 0
    failures: dict[tuple, list[str]] = {}
    per_token = defaultdict(lambda: [0, 0])
    transport_400 = [0]
    with Instance(args.port, binary=binary) as haven:
        # token name -> (token, scopes it holds, read-only)
        tokens = {}
        for role in table["roles"]:
            staff = haven.sign_in(role)
            scopes = staff.offered_scopes()
            tokens[role] = (staff.create_token(scopes), set(scopes), False)
            if role == "supervisor":
                tokens["supervisor read-only"] = (staff.create_token(scopes, read_only=True), set(scopes), True)
            if role == "counsellor":
                tokens["counsellor scoped view_institutions"] = (
                    staff.create_token(["view_institutions"]),
                    {"view_institutions"},
                    False,
                )
        # Haven's document is OpenAPI 3.1 (utoipa 5); schemathesis 3.39 reads it behind this switch.
        schemathesis.experimental.OPEN_API_3_1.enable()
        schema = schemathesis.from_uri(
            haven.base + "/api/openapi.json",
            base_url=haven.base,
            data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
        )
        operations = []
        for result in schema.get_all_operations():
            op = result.ok()
            if args.only and args.only not in op.path:
                continue
            operations.append(op)
        log(f"{len(operations)} operations x {len(tokens)} tokens, {args.examples} examples each")
        for name, (token, scopes, read_only) in tokens.items():
            role = name.split()[0]
            granted = set(table["roles"][role]) & scopes
            for op in operations:
                key = f"{op.method.upper()} {op.path}"
                perm = table["operations"].get(key)
                if perm is None:
                    failures[(name, key, "not in api_access.json")] = ["an operation the table does not list"]
                    continue
                allowed = perm in granted and not (read_only and op.method.upper() != "GET")
                headers = {"Authorization": f"Bearer {token}"}
                counted = [0]

                @settings(
                    max_examples=args.examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate],
                )
                @given(case=op.as_strategy(data_generation_method=DataGenerationMethod.positive)
                       | op.as_strategy(data_generation_method=DataGenerationMethod.negative))
                def run(case):
                    counted[0] += 1
                    res = case.call(headers=headers, timeout=30)
                    problems = []
                    if (case.data_generation_method == DataGenerationMethod.negative and res.status_code == 400
                            and not res.content and "content-type" not in res.headers):
                        # A request the HTTP layer refused as malformed before any handler ran
                        # (seen with generated header bytes): a 400, but not one Haven writes.
                        transport_400[0] += 1
                        return
                    try:
                        case.validate_response(res, checks=CHECKS)
                    except Exception as e:  # CheckFailed, or a group of them
                        subs = getattr(e, "exceptions", None)
                        if subs:
                            e = "\n".join("- " + str(x).splitlines()[0] for x in subs)
                        for line in str(e).splitlines():
                            line = line.strip()
                            if line.startswith(("- ", "1. ", "2. ", "3. ", "4. ", "5. ")) or line[:2].rstrip(".").isdigit():
                                problems.append(line.lstrip("-0123456789. "))
                        if not problems:
                            problems.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
                    if 200 <= res.status_code < 300 and not allowed:
                        problems.append(f"{res.status_code} where {name} must be refused ({perm})")
                    if res.status_code in (401, 403) and allowed and case.data_generation_method == DataGenerationMethod.positive:
                        problems.append(f"{res.status_code} refusal where {name} is allowed ({perm})")
                    for p in problems:
                        k = (name, key, f"{p[:160]} [{res.status_code} {res.headers.get('content-type', '-')}]")
                        if k not in failures:
                            failures[k] = [
                                case.as_curl_command(headers={"Authorization": "Bearer hvn_…"})[:600],
                                "-> " + res.text[:200].replace("\n", " "),
                            ]

                try:
                    run()
                except Exception as e:  # a generation error is a failure of the run, not a pass
                    failures[(name, key, f"could not run: {type(e).__name__}: {str(e)[:200]}")] = []
                tried += counted[0]
                per_token[name][0] += counted[0]
            per_token[name][1] = sum(1 for k in failures if k[0] == name)
            log(f"{name}: {per_token[name][0]} cases, {per_token[name][1]} failures")
        if not haven.alive():
            failures[("server", "", "the server died")] = [haven.server_log()[-2000:]]
    for name, (n, f) in per_token.items():
        print(f"{name:40s} {n:5d} cases  {f:3d} failures")
    for (name, key, problem), example in sorted(failures.items()):
        print(f"FAIL [{name}] {key}: {problem}")
        for e in example:
            print(f"    {e}")
    print(f"{transport_400[0]} invalid requests refused by the HTTP layer with a bare 400 (not checked further)")
    print(f"schemathesis {schemathesis.__version__}: {len(operations)} operations, {len(tokens)} tokens, "
          f"{args.examples} examples each; {time.time() - started:.0f}s")
    print(f"RESULT schemathesis tried={tried} failed={len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
