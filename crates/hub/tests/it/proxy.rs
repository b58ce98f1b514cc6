//! A TCP proxy in front of the shared Postgres that a test can cut: every connection through it
//! breaks at once and new ones are closed as soon as they arrive, until it is healed. An outage
//! of Postgres for one hub, without touching the server everybody else uses.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct CutProxy {
    url: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl CutProxy {
    /// A proxy to the server of `database_url`; [`CutProxy::url`] is the same URL through it.
    pub async fn start(database_url: &str) -> Self {
        let parsed = reqwest::Url::parse(database_url).expect("a database URL");
        let target = format!(
            "{}:{}",
            parsed.host_str().expect("a host"),
            parsed.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut url = parsed.clone();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(listener.local_addr().unwrap().port()))
            .unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let accepting = tokio::spawn(accept(listener, target, cut.clone(), open.clone()));
        Self {
            url: url.to_string(),
            cut,
            open,
            accepting: accepting.abort_handle(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Breaks every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.open.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn accept(
    listener: TcpListener,
    target: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        if cut.load(Ordering::SeqCst) {
            continue; // dropped: the client sees its connection closed
        }
        let target = target.clone();
        let forwarding = tokio::spawn(async move {
            if let Ok(mut server) = TcpStream::connect(&target).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
        open.lock().unwrap().push(forwarding.abort_handle());
    }
}
