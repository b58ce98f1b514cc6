//! A forwarder a test can cut, to take a backing service away without touching the real one
//! that every other test shares: it accepts on a socket of its own (a Unix socket for Docker, a
//! TCP port for Postgres) and relays each connection to the real service. Cut, it closes every
//! relayed connection and drops new ones at once, as a service that went away would look to
//! its clients; restored, it relays again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Either end of a relayed connection.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// Where clients connect.
enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(match self {
            Listener::Unix(listener) => Box::new(listener.accept().await?.0),
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
        })
    }
}

/// Where the real service is.
#[derive(Clone)]
enum Target {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Target {
    async fn connect(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(match self {
            Target::Unix(path) => Box::new(UnixStream::connect(path).await?),
            Target::Tcp(addr) => Box::new(TcpStream::connect(addr).await?),
        })
    }
}

/// A running forwarder; stopped (and its socket file removed) when dropped.
pub struct Proxy {
    cut: watch::Sender<bool>,
    socket: Option<PathBuf>,
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Relays a Unix socket of its own (see [`Proxy::unix_url`]) to the one at `target`.
    pub fn unix(target: impl Into<PathBuf>) -> Self {
        let socket = std::env::temp_dir().join(format!(
            "testkit-proxy-{}.sock",
            uuid::Uuid::new_v4().simple()
        ));
        let listener = UnixListener::bind(&socket).expect("bind the proxy's Unix socket");
        let target = Target::Unix(target.into());
        let (cut, watch) = watch::channel(false);
        let task = tokio::spawn(serve(Listener::Unix(listener), target, watch));
        Self {
            cut,
            socket: Some(socket),
            port: 0,
            task,
        }
    }

    /// Relays a TCP port of its own on 127.0.0.1 (see [`Proxy::port`]) to `target`.
    pub async fn tcp(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy's port");
        let port = listener.local_addr().expect("a local address").port();
        let (cut, watch) = watch::channel(false);
        let task = tokio::spawn(serve(Listener::Tcp(listener), Target::Tcp(target), watch));
        Self {
            cut,
            socket: None,
            port,
            task,
        }
    }

    /// A TCP proxy to the server a `scheme://user@host:port/path` URL (a database's) names, and
    /// the same URL through the proxy.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let mut through = reqwest::Url::parse(url).expect("a URL with a host");
        let target = through
            .socket_addrs(|| Some(5432))
            .expect("the URL's host resolves")[0];
        let proxy = Self::tcp(target).await;
        through.set_host(Some("127.0.0.1")).expect("a host");
        through.set_port(Some(proxy.port)).expect("a port");
        (proxy, through.to_string())
    }

    /// `unix://<socket>`, for a Docker client.
    pub fn unix_url(&self) -> String {
        format!("unix://{}", self.socket_path().display())
    }

    /// The proxy's Unix socket; panics for a TCP proxy.
    pub fn socket_path(&self) -> &Path {
        self.socket.as_deref().expect("a Unix proxy")
    }

    /// The proxy's TCP port on 127.0.0.1; 0 for a Unix proxy.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every relayed connection and drops new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Relays new connections again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// Accepts on `listener` until aborted; relays each connection while not cut.
async fn serve(listener: Listener, target: Target, cut: watch::Receiver<bool>) {
    let mut relays = JoinSet::new();
    loop {
        let client = match listener.accept().await {
            Ok(client) => client,
            Err(_) => {
                // Out of descriptors, say: try again in a moment rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        while relays.try_join_next().is_some() {}
        if *cut.borrow() {
            drop(client);
            continue;
        }
        relays.spawn(relay(client, target.clone(), cut.clone()));
    }
}

/// Copies both ways between `client` and the target until either side closes or the proxy is
/// cut.
async fn relay(mut client: Box<dyn Conn>, target: Target, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = target.connect().await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
