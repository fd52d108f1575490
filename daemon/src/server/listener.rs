//! The stream socket: binding it safely, accepting connections with their peer credentials,
//! and serving each connection as HTTP/1.1 with bounded header reads.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixListener;
use tokio::sync::OwnedSemaphorePermit;

use super::access::{Channel, Peer};
use super::{io_error, routes, Daemon, ServeError};

/// A client must send its request head within this time (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Removes a leftover socket file (the caller made sure no daemon answers on it); refuses to
/// remove anything that is not a socket.
pub fn remove_stale(path: &Path) -> Result<(), ServeError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(io_error("cannot remove the stale socket", path))
        }
        Ok(_) => Err(ServeError::Io {
            what: "refusing to replace a file that is not a socket:",
            path: path.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("cannot inspect", path)(e)),
    }
}

/// Prepares `path` for a socket: its directory (0700 when we create it), no stale file.
pub fn prepare(path: &Path) -> Result<(), ServeError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("cannot create the socket directory", dir))?;
    }
    remove_stale(path)
}

pub fn restrict(path: &Path) -> Result<(), ServeError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_error("cannot restrict the permissions of", path))
}

pub fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    prepare(path)?;
    let listener = UnixListener::bind(path).map_err(io_error("cannot listen on", path))?;
    restrict(path)?;
    Ok(listener)
}

pub async fn accept_loop(daemon: Arc<Daemon>, listener: UnixListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Typically EMFILE under a flood: back off briefly instead of spinning.
                eprintln!("warden serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over the connection cap the connection is dropped at once.
        let Ok(permit) = daemon.connections.clone().try_acquire_owned() else {
            continue;
        };
        let peer = match stream.peer_cred() {
            Ok(cred) => Peer {
                channel: Channel::Socket,
                pid: cred.pid(),
                uid: Some(cred.uid()),
            },
            Err(_) => Peer {
                channel: Channel::Socket,
                pid: None,
                uid: None,
            },
        };
        tokio::spawn(serve_connection(daemon.clone(), peer, stream, permit));
    }
}

/// Serves one connection (socket or door) until the client closes it.
pub async fn serve_connection<S>(
    daemon: Arc<Daemon>,
    peer: Peer,
    stream: S,
    _permit: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let service = service_fn(move |request| routes::handle(daemon.clone(), peer.clone(), request));
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
