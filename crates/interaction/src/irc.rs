//! IRC as a chat source, Twitch-compatible: parsing lines (IRCv3 tags
//! included) and turning them into audience events. Pure: the client thread in
//! [`crate::source`] feeds lines in and writes the answers out.

use std::collections::HashMap;

use livestream_protocol::{AudienceEvent, AudienceEventKind, AudienceUser};

use crate::sanitize::{MAX_CHAT_CHARS, clean_text, clean_user_name};

/// Longest line accepted: 8191 bytes of IRCv3 tags plus a 512-byte message.
pub const MAX_LINE_BYTES: usize = 8191 + 512;

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IrcError {
    /// The line has no command.
    #[error("IRC line without a command")]
    NoCommand,
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("IRC line of {0} bytes is over the limit")]
    TooLong(usize),
}

/// One parsed IRC line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrcLine {
    /// IRCv3 tags, unescaped.
    pub tags: HashMap<String, String>,
    /// The sender's nick (the part of the prefix before `!`), if any.
    pub nick: Option<String>,
    /// The command or numeric, upper-case as sent.
    pub command: String,
    /// Parameters, the trailing one included.
    pub params: Vec<String>,
}

impl IrcLine {
    /// Parses one line (without its CR LF).
    pub fn parse(line: &str) -> Result<Self, IrcError> {
        if line.len() > MAX_LINE_BYTES {
            return Err(IrcError::TooLong(line.len()));
        }
        let mut rest = line.trim_end_matches(['\r', '\n']);
        let mut tags = HashMap::new();
        if let Some(tagged) = rest.strip_prefix('@') {
            let (raw, after) = tagged.split_once(' ').unwrap_or((tagged, ""));
            for tag in raw.split(';').filter(|t| !t.is_empty()) {
                let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
                tags.insert(key.to_owned(), unescape_tag(value));
            }
            rest = after.trim_start_matches(' ');
        }
        let mut nick = None;
        if let Some(prefixed) = rest.strip_prefix(':') {
            let (prefix, after) = prefixed.split_once(' ').unwrap_or((prefixed, ""));
            nick = Some(prefix.split(['!', '@']).next().unwrap_or(prefix).to_owned());
            rest = after.trim_start_matches(' ');
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return Err(IrcError::NoCommand);
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing.to_owned());
                break;
            }
            let (param, after) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push(param.to_owned());
            rest = after;
        }
        Ok(Self {
            tags,
            nick,
            command: command.to_owned(),
            params,
        })
    }

    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// IRCv3 tag value escapes: `\:` `;`, `\s` space, `\\` `\`, `\r`, `\n`.
fn unescape_tag(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// What the client should do after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrcAction {
    /// Nothing.
    None,
    /// Write these lines to the server.
    Send(Vec<String>),
    /// Something the audience did.
    Event(Box<AudienceEvent>),
    /// The server asks us to reconnect (Twitch `RECONNECT`) or closes (`ERROR`).
    Reconnect(String),
}

/// The protocol side of one IRC connection to one channel.
#[derive(Debug)]
pub struct IrcSession {
    channel: String,
    nick: String,
    /// Distinguishes generated ids of this connection from any other.
    connection: String,
    next_local_id: u64,
    joined: bool,
    /// Nicks the server refused as in use, this connection.
    nick_attempts: u32,
}

/// Nicks tried after the first is refused as in use, before giving up.
pub const MAX_NICK_ATTEMPTS: u32 = 5;

impl IrcSession {
    /// A session that will join `channel` (with its `#`) as `nick`; `connection`
    /// makes generated event ids unique (ids from the server's `id` tag are used as is).
    pub fn new(channel: &str, nick: &str, connection: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            nick: nick.to_owned(),
            connection: connection.to_owned(),
            next_local_id: 0,
            joined: false,
            nick_attempts: 0,
        }
    }

    /// Lines to send right after connecting: capabilities (ending the
    /// negotiation at once, so IRCv3 servers do not hold registration), then
    /// registration.
    pub fn login(&self) -> Vec<String> {
        vec![
            "CAP REQ :twitch.tv/tags twitch.tv/commands".to_owned(),
            "CAP END".to_owned(),
            format!("NICK {}", self.nick),
            format!("USER {} 0 * :bevy_livestream host", self.nick),
        ]
    }

    /// Whether the channel has been joined.
    pub fn joined(&self) -> bool {
        self.joined
    }

    /// Handles one line; `now_ms` stamps events whose source sent no time.
    pub fn handle(&mut self, line: &IrcLine, now_ms: i64) -> IrcAction {
        let in_channel = line
            .params
            .first()
            .is_some_and(|p| p.eq_ignore_ascii_case(&self.channel));
        match line.command.as_str() {
            "PING" => IrcAction::Send(vec![format!(
                "PONG :{}",
                line.params.last().map_or("", String::as_str)
            )]),
            // Welcome: registered, join the channel.
            "001" => IrcAction::Send(vec![format!("JOIN {}", self.channel)]),
            // Nick refused (too long for this server): a short one.
            "432" => {
                self.nick = "lsviewer".to_owned();
                IrcAction::Send(vec![format!("NICK {}", self.nick)])
            }
            // Nick in use: try another, a few times; a server refusing
            // every nick is given up on (the source reconnects with back-off).
            "433" => {
                self.nick_attempts += 1;
                if self.nick_attempts > MAX_NICK_ATTEMPTS {
                    return IrcAction::Reconnect(format!(
                        "the server refused {MAX_NICK_ATTEMPTS} nicks in a row"
                    ));
                }
                self.nick.push('_');
                IrcAction::Send(vec![format!("NICK {}", self.nick)])
            }
            "JOIN" if in_channel && line.nick.as_deref() == Some(self.nick.as_str()) => {
                self.joined = true;
                IrcAction::None
            }
            "RECONNECT" => IrcAction::Reconnect("server asked to reconnect".into()),
            "ERROR" => IrcAction::Reconnect(format!(
                "server closed: {}",
                line.params.last().map_or("", String::as_str)
            )),
            "PRIVMSG" if in_channel => self.privmsg(line, now_ms),
            "CLEARMSG" if in_channel => match line.tag("target-msg-id") {
                Some(target) => self.event(
                    line,
                    now_ms,
                    AudienceEventKind::DeleteMessage {
                        target_id: format!("irc:{target}"),
                    },
                ),
                None => IrcAction::None,
            },
            "CLEARCHAT" if in_channel => {
                let user_id = line
                    .tag("target-user-id")
                    .map(str::to_owned)
                    .or_else(|| line.params.get(1).map(|nick| user_key(nick)));
                match user_id {
                    Some(user_id) => {
                        self.event(line, now_ms, AudienceEventKind::ClearUser { user_id })
                    }
                    None => self.event(
                        line,
                        now_ms,
                        AudienceEventKind::Notice {
                            text: "Chat was cleared".into(),
                        },
                    ),
                }
            }
            "USERNOTICE" if in_channel => self.usernotice(line, now_ms),
            "NOTICE" if in_channel => {
                let text = clean_text(
                    line.params.last().map_or("", String::as_str),
                    MAX_CHAT_CHARS,
                );
                self.event(line, now_ms, AudienceEventKind::Notice { text })
            }
            _ => IrcAction::None,
        }
    }

    fn privmsg(&mut self, line: &IrcLine, now_ms: i64) -> IrcAction {
        let raw = line.params.get(1).map_or("", String::as_str);
        if let Some(bits) = line
            .tag("bits")
            .and_then(|b| b.parse::<u64>().ok())
            .filter(|b| *b > 0)
        {
            return self.event(
                line,
                now_ms,
                AudienceEventKind::Gift {
                    gift_id: "bits".into(),
                    name: "Bits".into(),
                    count: 1,
                    value: bits,
                },
            );
        }
        // CTCP ACTION ("/me waves") reads as "* waves"; other CTCP is not chat.
        let text = match raw.strip_prefix('\u{1}') {
            Some(ctcp) => match ctcp.trim_end_matches('\u{1}').strip_prefix("ACTION ") {
                Some(action) => format!("* {action}"),
                None => return IrcAction::None,
            },
            None => raw.to_owned(),
        };
        let text = clean_text(&text, MAX_CHAT_CHARS);
        if text.is_empty() {
            return IrcAction::None;
        }
        self.event(line, now_ms, AudienceEventKind::Chat { text })
    }

    fn usernotice(&mut self, line: &IrcLine, now_ms: i64) -> IrcAction {
        let number = |key: &str| line.tag(key).and_then(|v| v.parse::<u32>().ok());
        let kind = match line.tag("msg-id").unwrap_or("") {
            "sub" | "resub" => AudienceEventKind::Subscribe {
                months: number("msg-param-cumulative-months"),
            },
            "subgift" | "submysterygift" | "anonsubgift" => AudienceEventKind::Gift {
                gift_id: "sub".into(),
                name: "Gifted subscription".into(),
                count: number("msg-param-mass-gift-count").unwrap_or(1).max(1),
                value: 1,
            },
            "follow" => AudienceEventKind::Follow,
            _ => {
                let text = line
                    .tag("system-msg")
                    .or(line.params.get(1).map(String::as_str))
                    .unwrap_or("");
                AudienceEventKind::Notice {
                    text: clean_text(text, MAX_CHAT_CHARS),
                }
            }
        };
        self.event(line, now_ms, kind)
    }

    fn event(&mut self, line: &IrcLine, now_ms: i64, kind: AudienceEventKind) -> IrcAction {
        let id = match line.tag("id") {
            Some(id) => format!("irc:{id}"),
            None => {
                self.next_local_id += 1;
                format!("irc:{}:{}", self.connection, self.next_local_id)
            }
        };
        let nick = line
            .tag("login")
            .or(line.nick.as_deref())
            .unwrap_or("server");
        let user = AudienceUser {
            id: line
                .tag("user-id")
                .map_or_else(|| user_key(nick), str::to_owned),
            display_name: clean_user_name(line.tag("display-name").unwrap_or(nick)),
            color: line.tag("color").and_then(parse_color),
            badges: line
                .tag("badges")
                .map(|b| {
                    b.split(',')
                        .filter_map(|badge| badge.split('/').next())
                        .filter(|name| !name.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        let event = AudienceEvent {
            id,
            source: "irc".into(),
            user,
            timestamp_ms: line
                .tag("tmi-sent-ts")
                .and_then(|t| t.parse().ok())
                .unwrap_or(now_ms),
            kind,
        };
        IrcAction::Event(Box::new(event))
    }
}

/// The user id given to a nick when the server sends no `user-id` tag.
fn user_key(nick: &str) -> String {
    format!("irc:{}", nick.to_lowercase())
}

/// `#RRGGBB` to RGB.
fn parse_color(value: &str) -> Option<[u8; 3]> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> IrcSession {
        IrcSession::new("#game", "livestream", "c1")
    }

    fn handle(line: &str) -> IrcAction {
        session().handle(&IrcLine::parse(line).unwrap(), 42)
    }

    fn event(line: &str) -> AudienceEvent {
        match handle(line) {
            IrcAction::Event(event) => *event,
            other => panic!("no event from {line:?}: {other:?}"),
        }
    }

    #[test]
    fn a_server_refusing_every_nick_is_given_up_on() {
        let mut session = session();
        let in_use =
            IrcLine::parse(":irc.example 433 * livestream :Nickname is already in use").unwrap();
        for _ in 0..MAX_NICK_ATTEMPTS {
            assert!(matches!(session.handle(&in_use, 0), IrcAction::Send(_)));
        }
        assert!(matches!(
            session.handle(&in_use, 0),
            IrcAction::Reconnect(_)
        ));
        assert!(session.nick.len() <= "livestream".len() + MAX_NICK_ATTEMPTS as usize);
    }

    #[test]
    fn parses_tags_prefix_and_trailing() {
        let line = IrcLine::parse(
            r"@badge-info=;color=#1E90FF;display-name=Ann\sB;id=abc :ann!ann@ann.tmi PRIVMSG #game :hello :) there",
        )
        .unwrap();
        assert_eq!(line.tags["display-name"], "Ann B");
        assert_eq!(line.nick.as_deref(), Some("ann"));
        assert_eq!(line.command, "PRIVMSG");
        assert_eq!(line.params, ["#game", "hello :) there"]);
        assert_eq!(IrcLine::parse(""), Err(IrcError::NoCommand));
        assert!(matches!(
            IrcLine::parse(&"x".repeat(100_000)),
            Err(IrcError::TooLong(_))
        ));
    }

    #[test]
    fn twitch_chat_keeps_its_id_time_colour_and_badges() {
        let chat = event(
            "@badges=moderator/1,subscriber/12;color=#FF0000;display-name=Ann;id=m-1;tmi-sent-ts=1700000000123;user-id=77 :ann!ann@x PRIVMSG #game :gg\u{7} wp",
        );
        assert_eq!(chat.id, "irc:m-1");
        assert_eq!(chat.timestamp_ms, 1_700_000_000_123);
        assert_eq!(chat.user.id, "77");
        assert_eq!(chat.user.display_name, "Ann");
        assert_eq!(chat.user.color, Some([255, 0, 0]));
        assert_eq!(chat.user.badges, ["moderator", "subscriber"]);
        assert_eq!(
            chat.kind,
            AudienceEventKind::Chat {
                text: "gg wp".into()
            }
        );
    }

    #[test]
    fn plain_irc_gets_generated_ids_and_now() {
        let mut session = session();
        let line = IrcLine::parse(":bob!b@h PRIVMSG #game :\u{1}ACTION waves\u{1}").unwrap();
        let IrcAction::Event(first) = session.handle(&line, 42) else {
            panic!()
        };
        let IrcAction::Event(second) = session.handle(&line, 43) else {
            panic!()
        };
        assert_eq!(first.id, "irc:c1:1");
        assert_eq!(second.id, "irc:c1:2");
        assert_eq!(first.timestamp_ms, 42);
        assert_eq!(first.user.id, "irc:bob");
        assert_eq!(
            first.kind,
            AudienceEventKind::Chat {
                text: "* waves".into()
            }
        );
        // Other channels and private messages are not the audience.
        assert_eq!(handle(":bob!b@h PRIVMSG #other :hi"), IrcAction::None);
        assert_eq!(handle(":bob!b@h PRIVMSG livestream :hi"), IrcAction::None);
    }

    #[test]
    fn bits_moderation_and_notices() {
        let cheer = event("@bits=100;id=c :ann!a@h PRIVMSG #game :cheer100");
        assert_eq!(
            cheer.kind,
            AudienceEventKind::Gift {
                gift_id: "bits".into(),
                name: "Bits".into(),
                count: 1,
                value: 100
            }
        );
        let delete = event("@login=ann;target-msg-id=m-1 :tmi.twitch.tv CLEARMSG #game :gg");
        assert_eq!(
            delete.kind,
            AudienceEventKind::DeleteMessage {
                target_id: "irc:m-1".into()
            }
        );
        let clear = event("@target-user-id=77 :tmi.twitch.tv CLEARCHAT #game :ann");
        assert_eq!(
            clear.kind,
            AudienceEventKind::ClearUser {
                user_id: "77".into()
            }
        );
        let sub = event(
            "@msg-id=resub;msg-param-cumulative-months=6;id=s :tmi.twitch.tv USERNOTICE #game :great",
        );
        assert_eq!(sub.kind, AudienceEventKind::Subscribe { months: Some(6) });
        let raid = event(r"@msg-id=raid;system-msg=5\sraiders :tmi.twitch.tv USERNOTICE #game");
        assert_eq!(
            raid.kind,
            AudienceEventKind::Notice {
                text: "5 raiders".into()
            }
        );
    }

    #[test]
    fn keeps_the_connection_alive() {
        assert_eq!(
            handle("PING :tmi.twitch.tv"),
            IrcAction::Send(vec!["PONG :tmi.twitch.tv".into()])
        );
        assert_eq!(
            handle(":srv 001 livestream :Welcome"),
            IrcAction::Send(vec!["JOIN #game".into()])
        );
        assert!(matches!(
            handle(":tmi.twitch.tv RECONNECT"),
            IrcAction::Reconnect(_)
        ));
        let mut session = session();
        assert_eq!(
            session.handle(&IrcLine::parse(":srv 433 * livestream :in use").unwrap(), 0),
            IrcAction::Send(vec!["NICK livestream_".into()])
        );
        session.handle(&IrcLine::parse(":livestream_!u@h JOIN #game").unwrap(), 0);
        assert!(session.joined());
    }
}
