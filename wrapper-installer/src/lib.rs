//! The library behind `warden setup` (being built).
