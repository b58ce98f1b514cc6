//! The grader's way to Docker: a unix socket of the campaign's that forwards every connection
//! to the engine's socket. Cutting it removes the socket file (a connect then fails as when the
//! engine has stopped), stops listening and drops every forwarded connection, container
//! attaches included; restoring it listens again on the same path.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

/// The engine's socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

pub struct DockerProxy {
    path: PathBuf,
    upstream: PathBuf,
    /// Cancelled to cut: ends the accept loop (closing the listener) and every connection.
    open: Mutex<Option<CancellationToken>>,
}

impl DockerProxy {
    /// Listens on `path`, forwarding to `upstream`.
    pub fn start(path: &Path, upstream: &Path) -> anyhow::Result<Self> {
        let proxy = Self {
            path: path.to_owned(),
            upstream: upstream.to_owned(),
            open: Mutex::default(),
        };
        // A socket file left by an earlier run would keep the path taken.
        let _ = std::fs::remove_file(path);
        proxy.restore()?;
        Ok(proxy)
    }

    /// The `docker_host` value that reaches the engine through the proxy.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Drops every connection and stops listening: Docker is unreachable.
    pub fn cut(&self) {
        if let Some(open) = self.open.lock().expect("not poisoned").take() {
            // At once, unlike the listener, which closes when its task next runs.
            let _ = std::fs::remove_file(&self.path);
            open.cancel();
        }
    }

    /// Listens again (a no-op while listening).
    pub fn restore(&self) -> anyhow::Result<()> {
        let mut open = self.open.lock().expect("not poisoned");
        if open.is_some() {
            return Ok(());
        }
        let listener = UnixListener::bind(&self.path)?;
        let token = CancellationToken::new();
        tokio::spawn(accept(listener, self.upstream.clone(), token.clone()));
        *open = Some(token);
        Ok(())
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn accept(listener: UnixListener, upstream: PathBuf, open: CancellationToken) {
    loop {
        let client = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
            () = open.cancelled() => return,
        };
        tokio::spawn(forward(client, upstream.clone(), open.clone()));
    }
}

async fn forward(mut client: UnixStream, upstream: PathBuf, open: CancellationToken) {
    let Ok(mut engine) = UnixStream::connect(&upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut engine) => {}
        () = open.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `GET /_ping` through `path`: the engine's answer, or the connect/read error.
    async fn ping(path: &Path) -> std::io::Result<String> {
        let mut socket = UnixStream::connect(path).await?;
        socket
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await?;
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await?;
        Ok(answer)
    }

    #[tokio::test]
    async fn a_cut_proxy_cannot_be_reached_and_a_restored_one_reaches_docker() {
        let dir = std::env::temp_dir().join(format!("faults-proxy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let proxy = DockerProxy::start(&dir.join("docker.sock"), Path::new(DOCKER_SOCKET)).unwrap();
        let path = dir.join("docker.sock");
        assert!(ping(&path).await.unwrap().ends_with("OK"), "engine answers");

        proxy.cut();
        let refused = ping(&path).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::NotFound);

        proxy.restore().unwrap();
        assert!(ping(&path).await.unwrap().ends_with("OK"), "engine answers");
        drop(proxy);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn cutting_drops_a_connection_in_progress() {
        let dir = std::env::temp_dir().join(format!("faults-proxy-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("docker.sock");
        let proxy = DockerProxy::start(&path, Path::new(DOCKER_SOCKET)).unwrap();
        // HTTP/1.1 keeps the connection open after the answer.
        let mut socket = UnixStream::connect(&path).await.unwrap();
        socket
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0; 1024];
        assert!(socket.read(&mut buffer).await.unwrap() > 0, "an answer");

        proxy.cut();
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut buffer))
                .await
                .expect("the cut connection ends at once");
        assert!(matches!(read, Ok(0) | Err(_)), "closed, not {read:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
