//! Why an output is not receiving, in words a streamer acts on: every side
//! (the host's status, the game's badge, `ctl`) shows the same text.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Why an output is not receiving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputProblem {
    /// The server took the connection, then closed it as the stream
    /// started: ingests do this for a wrong or expired stream key.
    KeyRefused,
    /// Nothing answered at the server's address (refused, timed out, no route).
    Unreachable,
    /// The server's name could not be looked up.
    UnknownServer,
    /// The secure (TLS) connection failed: an untrusted or wrong certificate.
    Insecure,
    /// A stream that was running lost its connection.
    ConnectionLost,
    /// A recording could not be written: the disk is full.
    DiskFull,
    /// Anything else, as the media framework said it.
    Other {
        /// What the failing part reported (no stream key in it).
        message: String,
    },
}

impl fmt::Display for OutputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyRefused => f.write_str("the server refused the stream: check the stream key"),
            Self::Unreachable => {
                f.write_str("the server cannot be reached: check the address and your network")
            }
            Self::UnknownServer => {
                f.write_str("the server's name was not found: check the address and your network")
            }
            Self::Insecure => {
                f.write_str("the secure connection failed: the server's certificate is not trusted")
            }
            Self::ConnectionLost => f.write_str("the connection to the server was lost"),
            Self::DiskFull => f.write_str("the disk is full"),
            Self::Other { message } => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_advice() {
        assert_eq!(
            OutputProblem::KeyRefused.to_string(),
            "the server refused the stream: check the stream key"
        );
        let other = OutputProblem::Other {
            message: "Internal data stream error.".into(),
        };
        assert_eq!(other.to_string(), "Internal data stream error.");
    }
}
