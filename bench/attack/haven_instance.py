"""A throw-away Haven demo instance for the attack bench, and signed-in clients of it.

Used by the scripts in this folder (and free for any other check to reuse):

    from haven_instance import Instance, build
    with Instance(port=18100) as haven:          # builds nothing: pass binary= or call build()
        staff = haven.sign_in("counsellor")      # password + second factor (TOTP enrolment)
        token = staff.create_token()             # an API token with all of the role's scopes
        page = staff.get("/staff/desk")

What it does:
  * `build()` runs `cargo build -p haven` (debug; CARGO_TARGET_DIR is honoured) and returns the
    binary; HAVEN_BIN (a path) skips the build.
  * `Instance` makes a fresh data folder in a temporary directory, runs `haven demo --size 1`
    there (one account per role, one shared password, printed by the command), starts
    `haven serve` on 127.0.0.1:<port> and waits for /readyz. With a PostgreSQL server URL in
    HAVEN_ATTACK_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) it creates a
    fresh database `haven_attack_<random>` on that server instead of SQLite, and drops it at the
    end. The portal's rate limit is raised through its documented settings
    (portal.challenge_after / portal.refuse_after), and so is the sign-in form's per-address
    limit of failures (limits.failed_sign_ins_per_address), so that a scanner reaches the
    handlers; per-account locking is left as it is.
  * `Staff` is a cookie session of one demo account: it signs in with the password, enrols the
    second factor (reads the secret from the enrolment page, computes the RFC 6238 code),
    keeps the session cookie, reads the CSRF token from the forms, and creates API tokens on
    the profile page.

Command line (for scripts in other languages):
    python3 haven_instance.py serve --port 18100 --out info.json
starts an instance, signs in every role, creates one token per role, writes base URL, password,
cookies, CSRF tokens and API tokens to info.json, and runs until SIGTERM/SIGINT.
Only standard-library Python.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import html.parser
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROLES = [
    "admin",
    "supervisor",
    "counsellor",
    "case_worker",
    "lawyer",
    "fundraiser",
    "analyst",
    "portal_editor",
]
DEMO_DOMAIN = "demo.haven.invalid"


def log(msg: str) -> None:
    print(f"[haven-instance] {msg}", file=sys.stderr, flush=True)


def build(release: bool = False) -> Path:
    """Builds the `haven` binary (or takes HAVEN_BIN) and returns its path."""
    given = os.environ.get("HAVEN_BIN")
    if given:
        return Path(given).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    cmd = ["cargo", "build", "-q", "-p", "haven"] + (["--release"] if release else [])
    log("building: " + " ".join(cmd))
    subprocess.run(cmd, cwd=REPO, check=True)
    return target / ("release" if release else "debug") / "haven"


def totp(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 with SHA-1, as authenticator apps (and Haven) use it."""
    s = secret_b32.replace(" ", "").upper()
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off : off + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


# --- HTML forms --------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    def values(self) -> list[tuple[str, str]]:
        """What a browser would submit without anyone touching the form (plus a first option
        for selects, and checked boxes only)."""
        out = []
        for f in self.fields:
            if f.kind in ("checkbox", "radio") and not f.checked:
                continue
            if f.kind in ("submit", "button", "file", "image", "reset"):
                continue
            v = f.value
            if f.kind == "select" and not v and f.options:
                v = next((o for o in f.options if o), f.options[0])
            out.append((f.name, v))
        return out


class FormParser(html.parser.HTMLParser):
    """Every <form> of a page with its fields (inputs, selects with their options, textareas)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(
                action=a.get("action", ""),
                method=a.get("method", "get").lower(),
                enctype=a.get("enctype", "application/x-www-form-urlencoded"),
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            self._form.fields.append(
                Field(
                    a["name"],
                    a.get("type", "text").lower(),
                    a.get("value", ""),
                    "checked" in a,
                )
            )
        elif tag == "select" and a.get("name"):
            self._select = Field(a["name"], "select")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "textarea")
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected = self._option
            v = value if value is not None else self._option_text.strip()
            self._select.options.append(v)
            if selected:
                self._select.value = v
            self._option = None


def forms_of(page: str) -> list[Form]:
    p = FormParser()
    p.feed(page)
    return p.forms


def links_of(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"#]*)', page)]


# --- HTTP --------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    url: str
    headers: dict
    text: str

    def json(self):
        return json.loads(self.text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401
        return None


class Client:
    """A cookie-keeping HTTP client of one instance (follows redirects unless told not to)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self._follow = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self._stay = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict | None = None,
        follow: bool = True,
        timeout: float = 30,
    ) -> Response:
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        opener = self._follow if follow else self._stay
        try:
            with opener.open(req, timeout=timeout) as r:
                return Response(r.status, r.geturl(), dict(r.headers), r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.geturl(), dict(e.headers), e.read().decode("utf-8", "replace"))

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post_form(self, path: str, fields: list[tuple[str, str]], **kw) -> Response:
        body = urllib.parse.urlencode(fields).encode()
        h = {"content-type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, data=body, headers=h, **kw)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


# --- The instance ------------------------------------------------------------------------


class Staff(Client):
    """A signed-in demo account (a real browser-like session: cookie + CSRF token)."""

    def __init__(self, base: str, role: str, email: str) -> None:
        super().__init__(base)
        self.role = role
        self.email = email
        self.csrf = ""

    def sign_in(self, password: str) -> None:
        page = self.get("/staff/login")
        form = next(f for f in forms_of(page.text) if f.action.startswith("/staff/login"))
        fields = dict(form.values())
        fields.update(email=self.email, password=password)
        r = self.post_form("/staff/login", list(fields.items()))
        if "/staff/enrol" in r.url:
            secret = re.search(r'id="totp-secret"[^>]*>([^<]+)<', r.text)
            if not secret:
                raise RuntimeError(f"{self.role}: no TOTP secret on the enrolment page")
            enrol = next(f for f in forms_of(r.text) if f.action == "/staff/enrol")
            fields = dict(enrol.values())
            fields["code"] = totp(secret.group(1))
            r = self.post_form("/staff/enrol", list(fields.items()))
            if r.status != 200 or "recovery" not in r.text.lower():
                raise RuntimeError(f"{self.role}: enrolment refused ({r.status})")
        elif "/staff/login/second-factor" in r.url:
            raise RuntimeError(f"{self.role}: already enrolled; this helper signs each account in once")
        home = self.get("/staff/")
        if home.status != 200 or "/staff/login" in home.url:
            raise RuntimeError(f"{self.role}: sign-in failed ({home.status} {home.url})")
        self.csrf = self.csrf_from(home.text)

    @staticmethod
    def csrf_from(page: str) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        if not m:
            raise RuntimeError("no CSRF token on the page")
        return m.group(1)

    def offered_scopes(self) -> list[str]:
        page = self.get("/staff/profile").text
        form = next(f for f in forms_of(page) if f.action == "/staff/profile/tokens")
        return [f.value for f in form.fields if f.name == "scope"]

    def create_token(
        self, scopes: list[str] | None = None, read_only: bool = False, name: str | None = None, days: int = 7
    ) -> str:
        """Creates an API token on the profile page: by default with every scope the account
        is offered (all of its own permissions)."""
        scopes = self.offered_scopes() if scopes is None else scopes
        fields = [("csrf", self.csrf), ("name", name or f"attack bench {self.role}"), ("days", str(days))]
        fields += [("scope", s) for s in scopes]
        if read_only:
            fields.append(("read_only", "1"))
        r = self.post_form("/staff/profile/tokens", fields)
        m = re.search(r'name="token" value="(hvn_[^"]+)"', r.text)
        if r.status != 200 or not m:
            raise RuntimeError(f"{self.role}: token not created ({r.status})")
        return m.group(1)


class Instance:
    """A fresh demo instance on 127.0.0.1:<port>; a context manager that always stops it."""

    def __init__(
        self,
        port: int,
        binary: Path | None = None,
        database_url: str | None = None,
        env: dict | None = None,
        demo_size: int = 1,
        keep_dir: bool = False,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.binary = Path(binary) if binary else build()
        self.server_url = database_url if database_url is not None else os.environ.get("HAVEN_ATTACK_DATABASE_URL")
        self.extra_env = env or {}
        self.demo_size = demo_size
        self.keep_dir = keep_dir
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.password = ""
        self.accounts: dict[str, str] = {}
        self.pg_db: str | None = None
        self.database_url: str | None = None

    # The environment of every `haven` command of this instance.
    def env(self) -> dict:
        e = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
        e.update(
            HAVEN_DATA_DIR=str(self.dir),
            HAVEN_LISTEN=f"127.0.0.1:{self.port}",
            HAVEN_PUBLIC_URL=self.base,
            # The scanners send thousands of portal requests from one address: raise the
            # portal's documented per-address limits so that they reach the handlers.
            HAVEN_PORTAL__CHALLENGE_AFTER="1000000",
            HAVEN_PORTAL__REFUSE_AFTER="1000000",
            # Likewise for the sign-in form's per-address limit of failed sign-ins.
            HAVEN_LIMITS__FAILED_SIGN_INS_PER_ADDRESS="1000000",
            HAVEN_LOG__LEVEL="warn",
        )
        if self.database_url:
            e["HAVEN_DATABASE_URL"] = self.database_url
        e.update(self.extra_env)
        return e

    def haven(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.binary), *args], env=self.env(), cwd=self.dir, capture_output=True, text=True, check=check
        )

    def _create_pg(self) -> None:
        u = urllib.parse.urlsplit(self.server_url)
        self.pg_db = "haven_attack_" + secrets.token_hex(4)
        admin = urllib.parse.urlunsplit((u.scheme, u.netloc, u.path or "/postgres", u.query, ""))
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {self.pg_db}"], check=True)
        self.database_url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.pg_db, u.query, ""))
        self._pg_admin = admin

    def start(self) -> "Instance":
        # A server left over from an interrupted run would answer /readyz in this one's place,
        # with other accounts: refuse to start rather than test a stranger.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is taken by another process (a server left over from "
                                   f"an interrupted run?); stop it or pass another --port")
        self.dir = Path(tempfile.mkdtemp(prefix="haven-attack-"))
        if self.server_url:
            self._create_pg()
        out = self.haven("demo", "--size", str(self.demo_size)).stdout
        m = re.search(r"password: (\S+)", out)
        if not m:
            raise RuntimeError("`haven demo` printed no password")
        self.password = m.group(1)
        for email in re.findall(r"^\s+(\S+@" + re.escape(DEMO_DOMAIN) + r")$", out, re.M):
            self.accounts[email.split("@")[0].replace("-", "_")] = email
        self.log_path = self.dir / "serve.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve"], env=self.env(), cwd=self.dir, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haven serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if Client(self.base).get("/readyz", timeout=2).status == 200:
                    log(f"serving {self.base} ({'PostgreSQL' if self.database_url else 'SQLite'}, data {self.dir})")
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("haven serve did not become ready in 60 s")

    def sign_in(self, role: str) -> Staff:
        s = Staff(self.base, role, self.accounts[role])
        s.sign_in(self.password)
        return s

    def client(self) -> Client:
        return Client(self.base)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def server_log(self) -> str:
        try:
            return self.log_path.read_text()
        except (OSError, AttributeError):
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.pg_db:
            subprocess.run(["psql", self._pg_admin, "-qc", f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)"])
            self.pg_db = None
        if self.dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Instance":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="start an instance, sign every role in, write info JSON, wait")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--out", required=True)
    a = ap.parse_args()
    with Instance(a.port) as inst:
        info = {"base": inst.base, "password": inst.password, "accounts": inst.accounts, "roles": {}}
        for role in inst.accounts:
            st = inst.sign_in(role)
            info["roles"][role] = {"cookie": st.cookie_header(), "csrf": st.csrf, "token": st.create_token()}
        Path(a.out).write_text(json.dumps(info, indent=2))
        log(f"ready; info in {a.out}; stop with SIGTERM")
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            while not stop and inst.alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
