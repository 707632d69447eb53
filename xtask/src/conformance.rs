//! `cargo xtask conformance`: checks `docs/openapi.yaml` against the simulator.
//!
//! 1. Route table: every `.route("…", method(…))` of `sim/src` is an operation of the spec, and every
//!    operation of the spec is a route of the source (paths compared with parameter names erased).
//! 2. Probe: a real `latchkey sim serve` answers every operation of the spec with something other than its
//!    fallbacks (404 "no such endpoint", 405), so the router really serves what the spec lists.
//! 3. Schemathesis (pinned, in a venv under the target dir) against that simulator, with a portfolio set
//!    up through the API and the right token per endpoint: no 5xx, and every status code, content type,
//!    header and body matches the spec, for every generated case (bounded per operation).

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{cargo, require, root, step, target_dir};

/// The schemathesis release this project pins.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Generated cases per operation in the fuzzing phase (the examples and coverage phases add theirs).
const MAX_EXAMPLES: u32 = 40;
/// The manager token of the simulator under test.
const MANAGER_TOKEN: &str = "conformance-manager-token";
/// A valid compressed P-256 public key (the device key of protocol/tests/vectors/credential.json).
const DEVICE_KEY: &str = "03ef7ff43d4d9cfd16c223f6d2214887c9b9a9e5c9b442ab048de8d5fd77468211";

/// Runs the three checks.
pub fn run() -> anyhow::Result<()> {
    require("curl", "to drive the simulator in the conformance check")?;
    require("python3", "to run schemathesis")?;
    let work = target_dir().join("conformance");
    std::fs::create_dir_all(&work)?;
    let python = ensure_schemathesis(&work)?;
    let spec = spec_json(&python)?;
    let spec_ops = spec_operations(&spec)?;
    let source_ops = source_routes(&root().join("sim/src"))?;
    compare(&spec_ops, &source_ops)?;
    eprintln!(
        "    route table: {} operations in docs/openapi.yaml = {} routes in sim/src",
        spec_ops.len(),
        source_ops.len()
    );

    let mut build = cargo();
    build.args(["build", "--bin", "latchkey"]);
    step("build the latchkey binary", build)?;
    let server = Server::start(&work)?;
    probe(&server.base, &spec_ops)?;
    eprintln!("    probe: the running simulator serves all {} operations", spec_ops.len());
    let world = setup(&server.base).context("setting up a portfolio through the API")?;
    schemathesis(&work, &python, &server.base, &world)
}

// ---------------------------------------------------------------------------------------------------------
// schemathesis in a venv
// ---------------------------------------------------------------------------------------------------------

fn ensure_schemathesis(work: &Path) -> anyhow::Result<PathBuf> {
    let venv = work.join("venv");
    let python = venv.join("bin/python");
    let installed = Command::new(venv.join("bin/schemathesis"))
        .arg("--version")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(SCHEMATHESIS_VERSION));
    if installed {
        return Ok(python);
    }
    eprintln!(
        "==> python3 -m venv + pip install schemathesis=={SCHEMATHESIS_VERSION} (into {})",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("could not start `python3 -m venv`")?;
    if !status.success() {
        bail!("`python3 -m venv` failed: install the venv module (Debian: apt-get install python3-venv)");
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .status()
        .context("could not start pip")?;
    if !status.success() {
        bail!(
            "`pip install schemathesis=={SCHEMATHESIS_VERSION}` failed (PyPI): the conformance check needs it"
        );
    }
    Ok(python)
}

/// docs/openapi.yaml as JSON (PyYAML comes with schemathesis).
fn spec_json(python: &Path) -> anyhow::Result<Value> {
    let path = root().join("docs/openapi.yaml");
    let output = Command::new(python)
        .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
        .arg(&path)
        .output()
        .context("could not run python to read docs/openapi.yaml")?;
    if !output.status.success() {
        bail!("docs/openapi.yaml is not valid YAML: {}", String::from_utf8_lossy(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("docs/openapi.yaml as JSON")
}

// ---------------------------------------------------------------------------------------------------------
// Route table
// ---------------------------------------------------------------------------------------------------------

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A path with its parameter names erased: `/a/{door}/b` → `/a/{}/b`.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// (METHOD, path shape) of every operation of the spec.
fn spec_operations(spec: &Value) -> anyhow::Result<BTreeSet<(String, String)>> {
    let paths = spec["paths"].as_object().context("docs/openapi.yaml has no paths")?;
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), shape(path)));
            }
        }
    }
    Ok(ops)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// (METHOD, path shape) of every `.route("literal", handlers)` in the simulator's source. The methods are
/// the `get(`/`post(`/… calls at the top level of the handler expression (closures' bodies are nested and
/// not read). A route whose path is not a string literal fails the check: it cannot be compared.
fn source_routes(dir: &Path) -> anyhow::Result<BTreeSet<(String, String)>> {
    let mut files = Vec::new();
    rust_files(dir, &mut files)?;
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let args = balanced(rest).with_context(|| format!("unbalanced .route( in {}", file.display()))?;
            let trimmed = args.trim_start();
            let Some(literal) = trimmed.strip_prefix('"') else {
                bail!(
                    "a route in {} has no literal path: the conformance check cannot read it",
                    file.display()
                );
            };
            let end = literal.find('"').context("unterminated route path")?;
            let path = &literal[..end];
            let handlers = literal[end + 1..].trim_start().trim_start_matches(',');
            let methods = top_level_methods(handlers);
            if methods.is_empty() {
                bail!("route {path} in {} names no method the check knows", file.display());
            }
            for method in methods {
                routes.insert((method.to_uppercase(), shape(path)));
            }
        }
    }
    Ok(routes)
}

/// The text up to the parenthesis closing the one just opened (string literals skipped).
fn balanced(text: &str) -> Option<&str> {
    let mut depth = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn top_level_methods(handlers: &str) -> Vec<&'static str> {
    let bytes = handlers.as_bytes();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => {
                let before_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                if before_ok
                    && let Some(m) = METHODS.iter().find(|m| handlers[i..].starts_with(&format!("{m}(")))
                {
                    found.push(*m);
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn compare(spec: &BTreeSet<(String, String)>, source: &BTreeSet<(String, String)>) -> anyhow::Result<()> {
    let missing: Vec<_> = source.difference(spec).map(|(m, p)| format!("{m} {p}")).collect();
    let extra: Vec<_> = spec.difference(source).map(|(m, p)| format!("{m} {p}")).collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut message = String::from("docs/openapi.yaml is out of sync with the simulator's router:");
    if !missing.is_empty() {
        message += &format!("\n  served but not in the spec (describe them): {}", missing.join(", "));
    }
    if !extra.is_empty() {
        message += &format!("\n  in the spec but not served (remove them): {}", extra.join(", "));
    }
    bail!(message)
}

// ---------------------------------------------------------------------------------------------------------
// The simulator under test
// ---------------------------------------------------------------------------------------------------------

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(work: &Path) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(work.join("sim.log"))?;
        let child = Command::new(target_dir().join("debug/latchkey"))
            // Rate limits off: schemathesis sends thousands of requests a minute from one address.
            .args(["sim", "serve", "--db", ":memory:", "--manager-token", MANAGER_TOKEN])
            .args(["--rate-limit", "0", "--sign-in-rate-limit", "0", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("could not start `latchkey sim serve`")?;
        let server = Server { child, base };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if matches!(call(&server.base, "GET", "/healthz", None, None), Ok((200, _))) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the simulator did not answer /healthz within 20 s (log: {})", work.join("sim.log").display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP call with curl: (status, body).
fn call(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut command = Command::new("curl");
    command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method]).arg(format!("{base}{path}"));
    if let Some(token) = bearer {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if body.is_some() {
        command.args(["-H", "Content-Type: application/json", "--data-binary", "@-"]);
    }
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().context("could not start curl")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(body.unwrap_or_default().as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.rsplit_once('\n').context("curl printed no status")?;
    Ok((status.trim().parse().context("curl printed no status")?, body.to_owned()))
}

/// Every spec operation reaches a route, not the router's fallbacks.
fn probe(base: &str, ops: &BTreeSet<(String, String)>) -> anyhow::Result<()> {
    let mut unserved = Vec::new();
    for (method, shape) in ops {
        let path = shape.replace("{}", "probe");
        let body = matches!(method.as_str(), "POST" | "PUT" | "PATCH").then_some("{}");
        let (status, text) = call(base, method, &path, None, body)?;
        if status == 405 || (status == 404 && text.contains("no such endpoint")) {
            unserved.push(format!("{method} {shape} ({status})"));
        }
    }
    if !unserved.is_empty() {
        bail!(
            "the running simulator does not serve these operations of docs/openapi.yaml: {}",
            unserved.join(", ")
        );
    }
    Ok(())
}

/// Tokens and ids of the portfolio the schemathesis run starts from.
struct World {
    partner_token: String,
    user_token: String,
    session: String,
    ids: Value,
}

fn ok(result: (u16, String), what: &str) -> anyhow::Result<Value> {
    let (status, body) = result;
    if status != 200 {
        bail!("{what}: expected 200, got {status}: {body}");
    }
    serde_json::from_str(&body).or(Ok(Value::Null))
}

fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key].as_str().map(str::to_owned).with_context(|| format!("no {key} in {v}"))
}

fn setup(base: &str) -> anyhow::Result<World> {
    let m = Some(MANAGER_TOKEN);
    let post = |path: &str, token: Option<&str>, body: Value| {
        call(base, "POST", path, token, Some(&body.to_string()))
    };
    let partner =
        ok(post("/manager/v1/partners", m, json!({"name": "Conformance Stays"}))?, "create partner")?;
    let (client_id, client_secret) = (text(&partner, "clientId")?, text(&partner, "clientSecret")?);
    let building = ok(
        post("/manager/v1/buildings", m, json!({"name": "Spec Tower", "timezone": "America/New_York"}))?,
        "create building",
    )?;
    let building = text(&building, "uuid")?;
    let mut doors = Vec::new();
    for (name, access) in [("Lobby", "COMMUNAL"), ("Unit 1", "PRIVATE")] {
        let door = ok(
            post(
                "/manager/v1/doors",
                m,
                json!({"buildingUuid": building, "name": name, "type": "DOOR", "accessibilityType": access,
                       "isConnected": true}),
            )?,
            "create door",
        )?;
        let door = text(&door, "uuid")?;
        ok(
            post(
                &format!("/manager/v1/doors/{door}/activate"),
                m,
                json!({"serialNumber": format!("SPEC-{}", doors.len()), "deviceType": "M"}),
            )?,
            "activate door",
        )?;
        doors.push(door);
    }
    let key =
        ok(post("/manager/v1/keys", m, json!({"name": "Spec key", "doorUuids": doors}))?, "create key")?;
    let key = text(&key, "uuid")?;
    let partner_uuid = text(&partner, "uuid")?;
    ok(
        call(
            base,
            "PUT",
            &format!("/manager/v1/keys/{key}/partner"),
            m,
            Some(&json!({"partnerUuid": partner_uuid}).to_string()),
        )?,
        "assign key",
    )?;
    ok(call(base, "POST", &format!("/manager/v1/keys/{key}/enable"), m, None)?, "enable key")?;
    let token = ok(
        post(
            "/v1/oauth/token",
            None,
            json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
                   "audience": "https://rest.latchaccess.com/access/sdk"}),
        )?,
        "partner token",
    )?;
    let partner_token = text(&token, "access_token")?;
    let now = now_rfc3339()?;
    let email = "spec.user@example.com";
    let user = ok(
        post(
            "/access/sdk/v2/users",
            Some(&partner_token),
            json!({"firstName": "Spec", "lastName": "User", "email": email, "startTime": now, "doorUuids": doors,
                   "shareable": true, "passcodeType": "PERMANENT", "role": "NON_RESIDENT"}),
        )?,
        "invite user",
    )?;
    let user = text(&user, "userUuid")?;
    ok(
        post(
            "/passwordless/start",
            None,
            json!({"client_id": client_id, "client_secret": client_secret, "email": email, "connection": "email",
                   "send": "code"}),
        )?,
        "passwordless start",
    )?;
    let outbox = ok(call(base, "GET", "/manager/v1/outbox", m, None)?, "outbox")?;
    let otp = outbox["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find_map(|m| m["content"].as_str()))
        .and_then(|content| content.split("code is ").nth(1))
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
        .context("the outbox holds no sign-in code")?;
    let token = ok(
        post(
            "/v1/oauth/token",
            None,
            json!({"grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp", "client_id": client_id,
                   "client_secret": client_secret, "username": email, "otp": otp, "realm": "email",
                   "scope": "openid offline_access"}),
        )?,
        "user token",
    )?;
    let user_token = text(&token, "access_token")?;
    let device = ok(
        post(
            "/access/sdk/v1/me/devices",
            Some(&user_token),
            json!({"publicKey": DEVICE_KEY, "name": "Spec phone"}),
        )?,
        "register device",
    )?;
    let device = text(&device, "deviceUuid")?;
    let guest = ok(
        post(
            "/access/sdk/v1/me/guests",
            Some(&user_token),
            json!({"firstName": "Gus", "lastName": "Guest", "email": "gus@example.com", "startTime": now,
                   "doorUuids": doors, "passcodeType": "PERMANENT"}),
        )?,
        "invite guest",
    )?;
    let guest = text(&guest, "guestUuid")?;
    let session = manager_session(base)?;
    let csrf = csrf_token(base, &session)?;
    // The radio's operations get real lock ids (and, through the hooks, fresh connections to them).
    let heard = ok(call(base, "GET", "/sim/v1/radio/advertisements", m, None)?, "radio advertisements")?;
    let locks: Vec<Value> = heard["advertisements"]
        .as_array()
        .map(|ads| ads.iter().map(|ad| ad["lockId"].clone()).collect())
        .unwrap_or_default();
    if locks.len() != doors.len() {
        bail!("the radio advertises {} locks for {} activated doors: {heard}", locks.len(), doors.len());
    }
    Ok(World {
        partner_token,
        user_token,
        session,
        ids: json!({"doors": doors, "user": user, "guest": guest, "key": key, "building": building,
                    "partner": partner_uuid, "device": device, "csrf": csrf, "locks": locks}),
    })
}

fn now_rfc3339() -> anyhow::Result<String> {
    let output = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().context("running date")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Signs in to the manager web page and returns the session cookie's value.
fn manager_session(base: &str) -> anyhow::Result<String> {
    let output = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-D", "-", "-X", "POST", "--data-urlencode"])
        .arg(format!("token={MANAGER_TOKEN}"))
        .arg(format!("{base}/manager/sign-in"))
        .output()
        .context("could not start curl")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| {
            value
                .trim()
                .strip_prefix("lk_manager_session=")
                .map(|v| v.split(';').next().unwrap_or("").to_owned())
        })
        .filter(|v| !v.is_empty())
        .context("the manager sign-in set no session cookie")
}

/// The CSRF token of a manager web session, read from a page's hidden form field.
fn csrf_token(base: &str, session: &str) -> anyhow::Result<String> {
    let output = Command::new("curl")
        .args(["-s", "-H", &format!("Cookie: lk_manager_session={session}")])
        .arg(format!("{base}/manager/buildings"))
        .output()
        .context("could not start curl")?;
    let page = String::from_utf8_lossy(&output.stdout);
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .context("the manager page carries no CSRF token")
}

fn schemathesis(work: &Path, python: &Path, base: &str, world: &World) -> anyhow::Result<()> {
    let hooks = work.join("conformance_hooks.py");
    std::fs::write(&hooks, include_str!("conformance_hooks.py"))?;
    let report = work.join("report");
    let _ = std::fs::remove_dir_all(&report);
    let mut command = Command::new(python);
    command
        .current_dir(work)
        .args(["-m", "schemathesis.cli", "run"])
        .arg(root().join("docs/openapi.yaml"))
        .args(["--url", base])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", "20261122", "--workers", "2", "--max-redirects", "0", "--request-timeout", "30"])
        .args(["--suppress-health-check", "all", "--no-color", "--generation-database", "none"])
        .arg("--report=junit")
        .args(["--report-dir"])
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", "conformance_hooks")
        .env("PYTHONPATH", work)
        .env("LK_BASE", base)
        .env("LK_MANAGER_TOKEN", MANAGER_TOKEN)
        .env("LK_PARTNER_TOKEN", &world.partner_token)
        .env("LK_USER_TOKEN", &world.user_token)
        .env("LK_SESSION", &world.session)
        .env("LK_IDS", world.ids.to_string());
    step("schemathesis against docs/openapi.yaml", command)
}
