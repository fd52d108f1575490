//! `GET /v1/events`: every audit record as a server-sent event, live.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::{broadcast, mpsc};

/// A comment line keeps idle streams alive and lets us notice a client that left.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A response body fed by a channel.
pub struct EventStream {
    frames: mpsc::Receiver<Bytes>,
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.frames
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// Starts forwarding records to a new stream; the forwarder ends when the client leaves.
pub fn stream(mut records: broadcast::Receiver<std::sync::Arc<str>>) -> EventStream {
    let (sender, frames) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        loop {
            let chunk = tokio::select! {
                record = records.recv() => match record {
                    Ok(line) => Bytes::from(format!("data: {line}\n\n")),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        Bytes::from(format!(": {missed} records skipped (slow reader)\n\n"))
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = keep_alive.tick() => Bytes::from_static(b": keep-alive\n\n"),
                _ = sender.closed() => break,
            };
            if sender.send(chunk).await.is_err() {
                break;
            }
        }
    });
    EventStream { frames }
}
