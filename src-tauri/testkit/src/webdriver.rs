//! Just enough of the W3C WebDriver protocol to drive the desktop app through `tauri-driver`:
//! start a session on the app binary, run scripts, take screenshots, close the window.

use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug)]
pub struct WebDriverError(pub String);

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebDriverError {}

pub struct Session {
    http: reqwest::Client,
    base: String,
    pub id: String,
}

async fn call(
    http: &reqwest::Client,
    req: reqwest::RequestBuilder,
) -> Result<Value, WebDriverError> {
    let _ = http;
    let resp = req
        .send()
        .await
        .map_err(|e| WebDriverError(e.to_string()))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| WebDriverError(e.to_string()))?;
    if !status.is_success() {
        return Err(WebDriverError(format!("HTTP {status}: {body}")));
    }
    Ok(body["value"].clone())
}

impl Session {
    /// Starts `application` through the driver at `driver_url` (e.g. http://127.0.0.1:4444).
    pub async fn start(driver_url: &str, application: &str) -> Result<Self, WebDriverError> {
        Self::start_with(driver_url, application, &[], Duration::from_secs(60)).await
    }

    /// Starts `application` with `args`. The session exists once the app shows a web view,
    /// so an app started hidden answers only when its window opens: `wait` bounds that.
    pub async fn start_with(
        driver_url: &str,
        application: &str,
        args: &[&str],
        wait: Duration,
    ) -> Result<Self, WebDriverError> {
        let http = reqwest::Client::builder()
            .timeout(wait)
            .build()
            .map_err(|e| WebDriverError(e.to_string()))?;
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": application, "args": args}}}});
        let v = call(
            &http,
            http.post(format!("{driver_url}/session")).json(&caps),
        )
        .await?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| WebDriverError(format!("no session id in {v}")))?
            .to_string();
        Ok(Self {
            http,
            base: format!("{driver_url}/session/{id}"),
            id,
        })
    }

    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, WebDriverError> {
        let body = json!({"script": script, "args": args});
        call(
            &self.http,
            self.http
                .post(format!("{}/execute/sync", self.base))
                .json(&body),
        )
        .await
    }

    /// Runs a script that finishes by calling its last argument (`done(value)`).
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value, WebDriverError> {
        let body = json!({"script": script, "args": args});
        call(
            &self.http,
            self.http
                .post(format!("{}/execute/async", self.base))
                .json(&body),
        )
        .await
    }

    /// Runs `invoke(command, args)` in the page and returns `Ok(result)` or `Err({code, message})`.
    pub async fn invoke(
        &self,
        command: &str,
        args: Value,
    ) -> Result<Result<Value, Value>, WebDriverError> {
        let script = "const done = arguments[arguments.length - 1];\
            window.__TAURI__.core.invoke(arguments[0], arguments[1])\
              .then(v => done({ ok: v === undefined ? null : v }))\
              .catch(e => done({ err: e }));";
        let body = json!({"script": script, "args": [command, args]});
        let v = call(
            &self.http,
            self.http
                .post(format!("{}/execute/async", self.base))
                .json(&body),
        )
        .await?;
        Ok(match v.get("err") {
            Some(e) => Err(e.clone()),
            None => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Waits until the page has loaded, its fonts and images are in and two more frames were
    /// drawn: the event to wait for before a screenshot, or before checking what the page's
    /// scripts did, instead of a fixed sleep. Bounded by the driver's script timeout (30 s).
    pub async fn settled(&self) -> Result<(), WebDriverError> {
        let script = "const done = arguments[arguments.length - 1];\
            const frames = () => requestAnimationFrame(() => requestAnimationFrame(() => done(true)));\
            const loaded = () => {\
              const imgs = [...document.images].filter(i => !i.complete).map(i => new Promise(r => {\
                i.addEventListener('load', r, { once: true });\
                i.addEventListener('error', r, { once: true });\
              }));\
              Promise.all([document.fonts ? document.fonts.ready : null, ...imgs]).then(frames);\
            };\
            if (document.readyState === 'complete') loaded();\
            else window.addEventListener('load', loaded, { once: true });";
        self.execute_async(script, json!([]))
            .await
            .map(|_| ())
            .map_err(|e| WebDriverError(format!("the page did not settle: {e}")))
    }

    pub async fn screenshot(&self) -> Result<Vec<u8>, WebDriverError> {
        let v = call(
            &self.http,
            self.http.get(format!("{}/screenshot", self.base)),
        )
        .await?;
        let b64 = v
            .as_str()
            .ok_or_else(|| WebDriverError("screenshot is not a string".into()))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| WebDriverError(e.to_string()))
    }

    /// Resizes the window (its outer size, in pixels).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), WebDriverError> {
        call(
            &self.http,
            self.http
                .post(format!("{}/window/rect", self.base))
                .json(&json!({"width": width, "height": height})),
        )
        .await
        .map(|_| ())
    }

    /// Closes the current window (as a person closing it would).
    pub async fn close_window(&self) -> Result<(), WebDriverError> {
        call(
            &self.http,
            self.http.delete(format!("{}/window", self.base)),
        )
        .await
        .map(|_| ())
    }

    pub async fn end(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
