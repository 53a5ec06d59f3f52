//! Headless Chromium driven over the Chrome `DevTools` protocol: raw CDP JSON on the
//! page target's WebSocket, just `Page.navigate` and `Runtime.evaluate`.
//!
//! Chromium runs in its own process group, and the whole group is stopped
//! when the guard drops, so no helper process outlives a test.

use std::fs::File;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use livestream_testkit::Reaped;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use tungstenite::{Message, WebSocket};

use crate::support::{PATIENCE, wait_for};

/// A headless Chromium with one page under remote control.
pub struct Chromium {
    page: WebSocket<TcpStream>,
    next_id: u64,
    process: Reaped,
    /// Chromium's stderr, shown when the `DevTools` connection fails.
    stderr: std::path::PathBuf,
    _dir: TempDir,
}

impl Chromium {
    /// Starts Chromium on `about:blank` and attaches to its page.
    pub fn launch() -> Self {
        assert!(
            on_path("chromium"),
            "chromium must be on PATH for the viewer page tests (scripts/setup.sh installs it)"
        );
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr");
        let process = Reaped::spawn(
            Command::new("chromium")
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--remote-debugging-port=0",
                ])
                .arg(format!(
                    "--user-data-dir={}",
                    dir.path().join("profile").display()
                ))
                .arg("about:blank")
                // Its singleton socket and crash reports stay in the
                // profile's dir, not in /tmp or the user's config.
                .env("TMPDIR", dir.path())
                .env("HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .env("XDG_CACHE_HOME", dir.path().join("cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&stderr).unwrap())
                .process_group(0),
        );
        let browser_url = wait_for("Chromium's DevTools address", || {
            let log = std::fs::read_to_string(&stderr).ok()?;
            let line = log
                .lines()
                .find_map(|line| line.strip_prefix("DevTools listening on "))?;
            Some(line.trim().to_owned())
        });
        let address = browser_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("odd DevTools address {browser_url:?}"))
            .to_owned();
        let page_url = wait_for("a page target", || {
            let targets: Value = ureq::get(format!("http://{address}/json/list"))
                .call()
                .ok()?
                .body_mut()
                .read_json()
                .ok()?;
            let page = targets
                .as_array()?
                .iter()
                .find(|target| target["type"] == "page")?;
            Some(page["webSocketDebuggerUrl"].as_str()?.to_owned())
        });
        let stream = TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let (page, _) = tungstenite::client(page_url, stream).unwrap();
        Self {
            page,
            next_id: 1,
            process,
            stderr,
            _dir: dir,
        }
    }

    /// Calls a CDP method and returns its result (events in between are skipped).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"id": id, "method": method, "params": params});
        if let Err(err) = self.page.send(Message::text(request.to_string())) {
            self.connection_lost(method, &err);
        }
        loop {
            let message = match self.page.read() {
                Ok(message) => message,
                Err(err) => self.connection_lost(method, &err),
            };
            let Message::Text(text) = message else {
                continue;
            };
            let mut reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                assert!(
                    reply["error"].is_null(),
                    "{method} failed: {}",
                    reply["error"]
                );
                return reply["result"].take();
            }
        }
    }

    /// Fails the test with what Chromium printed: the page's `DevTools`
    /// connection broke (the browser or its renderer died).
    fn connection_lost(&self, method: &str, err: &tungstenite::Error) -> ! {
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        panic!("{method}: the DevTools connection broke ({err}); Chromium's stderr:\n{log}")
    }

    /// Opens `url` in the page.
    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
    }

    /// Evaluates a JavaScript expression in the page (awaiting promises) and
    /// returns its value; fails the test if it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|exception| panic!("{expression} threw: {exception}"))
    }

    /// Waits until `expression` evaluates to `true` (throwing counts as not
    /// yet: the page may still be loading).
    pub fn wait_until(&mut self, what: &str, expression: &str) {
        wait_for(what, || {
            (self.try_eval(expression) == Ok(Value::Bool(true))).then_some(())
        });
    }

    /// The expression's value, or the exception it threw.
    fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let mut result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        match result["exceptionDetails"].take() {
            Value::Null => Ok(result["result"]["value"].take()),
            exception => Err(exception),
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // On SIGTERM the browser stops and reaps its own helpers; whatever is
        // still left in its process group after it has gone is killed.
        let group = Pid::from_raw(self.process.pid() as i32);
        self.process.signal("TERM");
        if self.process.wait_timeout(PATIENCE).is_none() {
            eprintln!("chromium did not stop on SIGTERM");
        }
        let _ = killpg(group, Signal::SIGKILL);
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| is_file(&dir.join(program))))
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|metadata| metadata.is_file())
}
