//! An IRC channel as a source: register, join, answer pings, turn channel
//! traffic into events through [`IrcSession`].

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::transport::Transport;
use super::{POLL, SessionEnd, SourceContext, is_timeout, now_ms};
use crate::irc::{IrcAction, IrcLine, IrcSession, MAX_LINE_BYTES};
use crate::lines::{Line, LineReader};

/// One connection, until the server closes it, asks to reconnect, or the source stops.
pub(super) fn session(
    host: &str,
    port: u16,
    channel: &str,
    context: &SourceContext,
) -> Result<(), SessionEnd> {
    let mut stream = Transport::connect(host, port, context.tls.as_ref())?;
    stream.set_read_timeout(POLL)?;
    // Anonymous, read-only: the nick Twitch accepts without a password.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
    let mut session = IrcSession::new(
        channel,
        &format!("justinfan{}", nonce % 100_000),
        &format!("{nonce:x}"),
    );
    let send = |stream: &mut Transport, lines: &[String]| {
        lines
            .iter()
            .try_for_each(|line| stream.write_all(format!("{line}\r\n").as_bytes()))
            .and_then(|()| stream.flush())
            .map_err(|err| format!("write failed: {err}"))
    };
    send(&mut stream, &session.login())?;
    let mut reader = LineReader::new(MAX_LINE_BYTES);
    let mut announced = false;
    loop {
        if context.stopping() {
            let _ = send(&mut stream, &["QUIT :host stopping".to_owned()]);
            return Ok(());
        }
        let lines = match reader.read_from(&mut stream) {
            Ok(Some(lines)) => lines,
            Ok(None) => return Err("closed by the server".into()),
            Err(err) if is_timeout(&err) => continue,
            Err(err) => return Err(format!("read failed: {err}")),
        };
        for line in lines {
            let text = match line {
                Line::Text(text) => text,
                Line::TooLong(bytes) => {
                    context.bad_input(format_args!("IRC line of {bytes} bytes skipped"));
                    continue;
                }
                Line::NotUtf8 => {
                    context.bad_input("IRC line is not UTF-8");
                    continue;
                }
            };
            let parsed = match IrcLine::parse(&text) {
                Ok(parsed) => parsed,
                Err(err) => {
                    context.bad_input(&err);
                    continue;
                }
            };
            match session.handle(&parsed, now_ms()) {
                IrcAction::None => {}
                IrcAction::Send(lines) => send(&mut stream, &lines)?,
                IrcAction::Event(event) => context.emit(*event),
                IrcAction::Reconnect(reason) => return Err(reason),
            }
            if session.joined() && !announced {
                announced = true;
                context.connected();
            }
        }
    }
}
