//! zvtran: a pure-Rust ZeroMQ stack that speaks ZMTP 3.1, so it talks to libzmq, pyzmq,
//! JeroMQ and NetMQ peers.
//!
//! Today the stack is its foundation: [`zmtp`], the sans-IO wire codec and handshake, and
//! [`drivers::blocking`], which runs one connection over a blocking stream. Sockets, patterns
//! composed at run time and transport plugins build on these.
//!
//! ```no_run
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use zvtran::drivers::blocking::BlockingConnection;
//! use zvtran::zmtp::{Config, Message, Role, SocketType};
//!
//! // Talk to a libzmq DEALER bound at tcp://127.0.0.1:5555.
//! let stream = TcpStream::connect("127.0.0.1:5555")?;
//! let mut conn = BlockingConnection::new(stream, Config::new(SocketType::Dealer, Role::Client))?;
//! let peer = conn.handshake(Duration::from_secs(5))?;
//! println!("peer is a {}", peer.socket_type);
//! conn.send(Message::from("hello"))?;
//! let reply = conn.recv(Duration::from_secs(5))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use zmtp;
pub use zvtran_drivers as drivers;
