//! The window channel with a real socket and a real engine: who is let in, who is refused
//! (and that the refusal is logged), and commands and events over an admitted connection.

use super::*;
use crate::controller::Controller;
use crate::controller::tests::recorder::Recorder;
use delegate_core::secrets::Stores;
use delegate_core::{Engine, Paths};
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use tokio::io::AsyncWriteExt;

/// What the app logged during a test.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Setup {
    host: WindowHost,
    log: Log,
    _guard: tracing::subscriber::DefaultGuard,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// A host on a socket in a fresh runtime folder, serving a real engine's shell.
fn setup() -> Setup {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let data = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::under(data.path()), Stores::memory()).unwrap();
    let (controller, shell) = Controller::new(Arc::new(engine), Recorder::default());
    tokio::spawn(controller.run());
    let host = WindowHost::create_in(&runtime.path().join("delegate")).unwrap();
    tokio::spawn(host.clone().serve(shell));
    Setup {
        host,
        log,
        _guard: guard,
        _dirs: (data, runtime),
    }
}

struct Client {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    async fn connect(host: &WindowHost) -> Self {
        let (read, writer) = UnixStream::connect(host.socket())
            .await
            .unwrap()
            .into_split();
        Self {
            reader: BufReader::new(read),
            writer,
        }
    }

    async fn say(&mut self, line: &str) {
        protocol::write_line(&mut self.writer, line.to_string())
            .await
            .unwrap();
    }

    async fn hear(&mut self) -> Option<ToWindow> {
        let mut buf = Vec::new();
        let line = tokio::time::timeout(
            Duration::from_secs(10),
            protocol::read_line(&mut self.reader, &mut buf, protocol::MAX_MESSAGE),
        )
        .await
        .expect("an answer within 10 s")
        .unwrap()?;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn hello(host: &WindowHost, secret: &str) -> (Self, Option<ToWindow>) {
        let mut c = Self::connect(host).await;
        c.say(
            &FromWindow::Hello {
                secret: secret.into(),
            }
            .line(),
        )
        .await;
        let heard = c.hear().await;
        (c, heard)
    }
}

fn refused(heard: Option<ToWindow>) -> String {
    match heard {
        Some(ToWindow::Refused { reason }) => reason,
        other => panic!("expected a refusal, heard {other:?}"),
    }
}

const SECRET: &str = "9b1f0c6e2d4a8f3b7c5e1a9d0b2c4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d";

#[tokio::test]
async fn only_this_user_may_enter_the_folder_and_use_the_socket() {
    let s = setup();
    let dir = s.host.socket().parent().unwrap();
    assert_eq!(std::fs::metadata(dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(
        std::fs::metadata(s.host.socket()).unwrap().mode() & 0o777,
        0o600
    );
}

#[tokio::test]
async fn a_program_of_the_same_user_without_the_secret_is_refused_and_logged() {
    let s = setup();
    // Nothing is being opened: nobody gets in, whatever they say.
    let (_, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(refused(heard), Refusal::NotStarting.to_string());
    // A window is starting (this very process, so the pid matches): a wrong or empty secret
    // is refused.
    s.host.expect(std::process::id() as i32, SECRET, None);
    let (_, heard) = Client::hello(&s.host, "").await;
    assert_eq!(refused(heard), Refusal::WrongSecret.to_string());
    let (_, heard) = Client::hello(&s.host, &SECRET[..63]).await;
    assert_eq!(refused(heard), Refusal::WrongSecret.to_string());
    // Something that does not introduce itself.
    let mut c = Client::connect(&s.host).await;
    c.say(r#"{"call":{"id":1,"command":"approve_run","args":{"id":1}}}"#)
        .await;
    assert_eq!(refused(c.hear().await), Refusal::NoHello.to_string());
    let log = s.log.text();
    assert_eq!(
        log.matches("refused a connection on the window channel")
            .count(),
        4,
        "{log}"
    );
    assert!(log.contains("its secret is wrong"), "{log}");
    assert!(
        log.contains(&format!("pid={}", std::process::id())),
        "{log}"
    );
    assert!(!log.contains(SECRET), "the secret is never logged: {log}");
    // The refusals did not use the secret up: the window it belongs to still gets in.
    let (_, heard) = Client::hello(&s.host, SECRET).await;
    assert!(matches!(heard, Some(ToWindow::Welcome { .. })), "{heard:?}");
}

/// A stand-in for a window process this host started (its pid is what the host checks).
fn stand_in() -> std::process::Child {
    std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn the_secret_admits_only_the_process_it_was_given_to_and_only_once() {
    let s = setup();
    // The host started another process's window: the right secret from this process means
    // the secret got out. It is refused, the secret admits nobody any more, and that window
    // is ended.
    let mut other = stand_in();
    s.host.expect(other.id() as i32, SECRET, None);
    let (_, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(
        refused(heard),
        Refusal::OtherProcess(std::process::id() as i32).to_string()
    );
    let ended = other.wait().unwrap();
    assert!(!ended.success(), "the window whose secret got out is ended");
    let (_, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(refused(heard), Refusal::NotStarting.to_string());
    // Asked for several times while starting: it opens on the newest screen asked for.
    s.host.expect(std::process::id() as i32, SECRET, None);
    s.host.open(Some(Opens::Activity));
    s.host.open(Some(Opens::Run { id: 42 }));
    s.host.open(None);
    let (_window, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(
        heard,
        Some(ToWindow::Welcome {
            opens: Some(Opens::Run { id: 42 })
        })
    );
    // Used: the same secret again is turned away.
    let (_, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(refused(heard), Refusal::NotStarting.to_string());
}

#[tokio::test]
async fn an_admitted_window_calls_commands_and_hears_events() {
    let s = setup();
    s.host.expect(std::process::id() as i32, SECRET, None);
    let (mut w, heard) = Client::hello(&s.host, SECRET).await;
    assert_eq!(heard, Some(ToWindow::Welcome { opens: None }));
    let call = |id: u64, command: &str, args: Value| {
        FromWindow::Call {
            id,
            command: command.into(),
            args,
        }
        .line()
    };
    w.say(&call(1, "list_templates", json!({}))).await;
    let Some(ToWindow::Reply {
        id: 1,
        outcome: Outcome::Ok(templates),
    }) = w.hear().await
    else {
        panic!("list_templates answered");
    };
    assert!(templates.as_array().is_some_and(|t| !t.is_empty()));
    // Arguments as the web view sends them; a missing optional one reads as none.
    w.say(&call(20, "set_paused", json!({"paused": true})))
        .await;
    assert_eq!(
        w.hear().await,
        Some(ToWindow::Reply {
            id: 20,
            outcome: Outcome::Ok(Value::Null)
        })
    );
    // A command the controller answers (the board it keeps).
    w.say(&call(21, "get_status", json!({}))).await;
    let Some(ToWindow::Reply {
        id: 21,
        outcome: Outcome::Ok(board),
    }) = w.hear().await
    else {
        panic!("get_status answered");
    };
    assert!(board["employees"].is_object(), "{board}");
    w.say(&call(2, "suggest_workspace", json!({"name": "Writer"})))
        .await;
    let Some(ToWindow::Reply {
        id: 2,
        outcome: Outcome::Ok(path),
    }) = w.hear().await
    else {
        panic!("suggest_workspace answered");
    };
    assert!(
        path.as_str().unwrap().to_lowercase().ends_with("writer"),
        "{path}"
    );
    // An engine error crosses as the window shows it.
    w.say(&call(3, "get_run", json!({"id": 999}))).await;
    let Some(ToWindow::Reply {
        id: 3,
        outcome: Outcome::Err(e),
    }) = w.hear().await
    else {
        panic!("get_run answered");
    };
    assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
    w.say(&call(4, "format_disk", json!({}))).await;
    let Some(ToWindow::Reply {
        id: 4,
        outcome: Outcome::Err(e),
    }) = w.hear().await
    else {
        panic!("an unknown command answered");
    };
    assert_eq!(e["code"], json!("unknown_command"));
    w.say(&call(5, "get_run", json!({"id": "x"}))).await;
    let Some(ToWindow::Reply {
        outcome: Outcome::Err(e),
        ..
    }) = w.hear().await
    else {
        panic!("bad arguments answered");
    };
    assert_eq!(e["code"], json!("invalid"));
    // Events and "come to the front" go to the window.
    s.host
        .emit("delegate://status", json!({"paused_all": false}));
    assert_eq!(
        w.hear().await,
        Some(ToWindow::Event {
            name: "delegate://status".into(),
            payload: json!({"paused_all": false})
        })
    );
    s.host.open(Some(Opens::Settings));
    assert_eq!(
        w.hear().await,
        Some(ToWindow::Show {
            opens: Some(Opens::Settings)
        })
    );
    w.say(&call(6, "window_painted", Value::Null)).await;
    assert!(matches!(
        w.hear().await,
        Some(ToWindow::Reply { id: 6, .. })
    ));
    assert!(s.log.text().contains("window painted"));
    // A garbled line does not end the channel.
    w.writer.write_all(b"not json\n").await.unwrap();
    w.say(&call(7, "list_sources", json!({}))).await;
    assert!(matches!(
        w.hear().await,
        Some(ToWindow::Reply { id: 7, .. })
    ));
}

#[tokio::test]
async fn a_window_that_stops_reading_is_ended_instead_of_growing_delegate() {
    let s = setup();
    s.host.expect(std::process::id() as i32, SECRET, None);
    let (_never_reads, heard) = Client::hello(&s.host, SECRET).await;
    assert!(matches!(heard, Some(ToWindow::Welcome { .. })));
    // Ending the stuck window kills it by pid: let that be a stand-in, not this test.
    let mut window = stand_in();
    s.host.state().window.as_mut().unwrap().pid = window.id() as i32;
    let payload = json!({"progress": "x".repeat(200)});
    let mut sent = 0;
    while s.host.state().window.as_ref().unwrap().link.is_some() {
        s.host.emit("delegate://event", payload.clone());
        sent += 1;
        assert!(sent < 1_000_000, "the backlog never filled");
        if sent % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let ended = window.wait().unwrap();
    assert!(!ended.success(), "the stuck window is ended");
    assert!(s.log.text().contains("the window stopped reading"));
}

#[tokio::test]
async fn a_hello_longer_than_allowed_is_refused_without_holding_it() {
    let s = setup();
    s.host.expect(std::process::id() as i32, SECRET, None);
    let mut c = Client::connect(&s.host).await;
    let long = format!(
        "{{\"hello\":{{\"secret\":\"{}\"}}}}",
        "a".repeat(protocol::MAX_HELLO * 4)
    );
    c.say(&long).await;
    assert_eq!(refused(c.hear().await), Refusal::NoHello.to_string());
}
