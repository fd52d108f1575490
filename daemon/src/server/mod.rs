//! `warden serve`: sockets, door, sessions, approvals, audit and policy reload around the engine.
