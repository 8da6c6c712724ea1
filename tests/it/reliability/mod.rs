//! Reliable in operation (issue 17): bursts on a small pool, mail claims that follow the work,
//! graceful shutdown, and the database going away, each with real parts and a time bound.

mod burst;
mod mail;
mod outage;
mod pool;
mod shutdown;
