//! The stream socket: binding it safely, accepting connections with their peer credentials,
//! and serving a connection as HTTP/1.1 with bounded header reads.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::access::{Channel, Peer};
use super::limits::Slot;
use super::{io_error, routes, Daemon, ServeError};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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

/// The next accepted connection and its peer, blocking; `None` when accepting failed.
pub fn next_connection(listener: &UnixListener) -> Option<(UnixStream, Peer)> {
    match listener.accept() {
        Ok((stream, _)) => {
            let peer = Peer::of(&stream, Channel::Socket);
            Some((stream, peer))
        }
        Err(e) => {
            // Typically EMFILE under a flood: back off briefly instead of spinning.
            eprintln!("warden serve: accept failed: {e}");
            std::thread::sleep(Duration::from_millis(50));
            None
        }
    }
}

/// Serves one connection (socket or door) until the client closes it (or sends no request
/// head within [`HEADER_TIMEOUT`], also between requests); its slot is given back then.
pub async fn serve_connection<S>(daemon: Arc<Daemon>, peer: Peer, stream: S, _slot: Slot)
where
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

/// A connection whose first bytes were already read (by the express lane): they are read
/// again first, then the stream itself.
pub struct Replay<S> {
    received: Vec<u8>,
    replayed: usize,
    stream: S,
}

impl<S> Replay<S> {
    pub fn new(received: Vec<u8>, stream: S) -> Self {
        Replay {
            received,
            replayed: 0,
            stream,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let rest = &this.received[this.replayed..];
        if rest.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.replayed += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
