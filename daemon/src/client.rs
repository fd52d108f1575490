//! Talks to a running daemon over its Unix socket.
