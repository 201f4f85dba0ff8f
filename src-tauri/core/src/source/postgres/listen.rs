//! `LISTEN` on the tables employees work on: a row inserted or set back to pending, or a
//! person's comment, wakes the employees it is for at once (their next read is fresh). One
//! connection per account, reconnected with backoff; after a reconnect every employee is
//! woken, since a notification may have been missed meanwhile. Polling stays the fallback.

use super::schema::quote;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// What wakes one employee's source.
#[derive(Default)]
pub struct Wake {
    pub notify: Notify,
    /// Its view is out of date: read again whatever its age.
    pub stale: AtomicBool,
}

impl Wake {
    pub fn fire(&self) {
        self.stale.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

/// The employees listening on one channel: their employee values and wakes.
type Listeners = Vec<(String, Arc<Wake>)>;

/// Who listens for what: channel (a table) → its listeners.
#[derive(Default)]
pub struct Board {
    wakes: Mutex<HashMap<String, Listeners>>,
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Listeners>> {
        self.wakes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an employee's wake; true when the channel is new.
    pub fn add(&self, channel: &str, who: &str, wake: Arc<Wake>) -> bool {
        let mut w = self.lock();
        let fresh = !w.contains_key(channel);
        w.entry(channel.to_string())
            .or_default()
            .push((who.to_string(), wake));
        fresh
    }

    fn channels(&self) -> HashSet<String> {
        self.lock().keys().cloned().collect()
    }

    /// A notification: the employees it names (every one of the table without a payload).
    pub fn tell(&self, channel: &str, payload: &str) {
        if let Some(list) = self.lock().get(channel) {
            for (who, wake) in list {
                if payload.is_empty() || who == payload {
                    wake.fire();
                }
            }
        }
    }

    fn everyone(&self) {
        for list in self.lock().values() {
            for (_, wake) in list {
                wake.fire();
            }
        }
    }
}

/// Keeps one listening connection until `stop`. `channels` brings tables added later.
pub async fn run(
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    board: Arc<Board>,
    mut channels: mpsc::UnboundedReceiver<String>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, String)>();
        let connected = match &tls {
            Some(tls) => config
                .connect(tls.clone())
                .await
                .map(|(c, conn)| (c, drive(conn, tx))),
            None => config
                .connect(tokio_postgres::NoTls)
                .await
                .map(|(c, conn)| (c, drive(conn, tx))),
        };
        match connected {
            Ok((client, ended)) => {
                let mut listening = HashSet::new();
                let mut ok = true;
                for ch in board.channels() {
                    ok &= listen(&client, &ch).await;
                    listening.insert(ch);
                }
                if ok {
                    if failures > 0 {
                        tracing::info!("listening to PostgreSQL again");
                    }
                    failures = 0;
                    // Whatever happened while no one listened.
                    board.everyone();
                    tokio::pin!(ended);
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            Some((ch, payload)) = rx.recv() => board.tell(&ch, &payload),
                            Some(ch) = channels.recv() => {
                                if listening.insert(ch.clone()) && !listen(&client, &ch).await {
                                    break;
                                }
                            }
                            why = &mut ended => {
                                let why = why.unwrap_or_else(|_| "closed".into());
                                tracing::warn!(cause = %why, "the PostgreSQL listening connection ended; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(cause = %e, "cannot listen to PostgreSQL; polling meanwhile");
            }
        }
        failures = failures.saturating_add(1);
        let wait = Duration::from_secs((1u64 << failures.min(5)).min(30));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn listen(client: &tokio_postgres::Client, channel: &str) -> bool {
    match client
        .batch_execute(&format!("LISTEN {}", quote(channel)))
        .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(channel, cause = %e, "cannot LISTEN");
            false
        }
    }
}

/// Drives a connection on its own task, handing its notifications to `tx`; the receiver
/// gets why it ended.
fn drive<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
    tx: mpsc::UnboundedSender<(String, String)>,
) -> tokio::sync::oneshot::Receiver<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let why = loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
                None => break "closed by the server".to_string(),
            }
        };
        let _ = done_tx.send(why);
    });
    done_rx
}
