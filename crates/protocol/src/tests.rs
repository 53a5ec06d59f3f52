//! Round-trip property tests for every message and rejection tests for bad bytes.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use crate::*;

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap()
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,20}"
}

fn pixel_format() -> impl Strategy<Value = PixelFormat> {
    prop_oneof![Just(PixelFormat::I420), Just(PixelFormat::Rgba8)]
}

fn video_header() -> impl Strategy<Value = VideoFrameHeader> {
    (
        pixel_format(),
        1u32..=32,
        1u32..=24,
        0u32..8,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(format, w, h, pad, timestamp_ns, frame_number)| {
            let mut header = VideoFrameHeader::packed(format, w * 2, h * 2);
            header.strides[0] += pad;
            header.timestamp_ns = timestamp_ns;
            header.frame_number = frame_number;
            header
        })
}

fn audio_header() -> impl Strategy<Value = AudioChunkHeader> {
    (
        prop_oneof![Just(44_100u32), Just(48_000)],
        1u16..=2,
        1u32..=512,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(sample_rate, channels, frames, timestamp_ns, sequence)| AudioChunkHeader {
                sample_rate,
                channels,
                frames,
                timestamp_ns,
                sequence,
            },
        )
}

fn audience_event() -> impl Strategy<Value = AudienceEvent> {
    let kind = prop_oneof![
        text(200).prop_map(|text| AudienceEventKind::Chat { text }),
        (name(), name(), any::<u32>(), any::<u64>()).prop_map(|(gift_id, name, count, value)| {
            AudienceEventKind::Gift {
                gift_id,
                name,
                count,
                value,
            }
        }),
        any::<u32>().prop_map(|count| AudienceEventKind::Like { count }),
        Just(AudienceEventKind::Follow),
        option::of(any::<u32>()).prop_map(|months| AudienceEventKind::Subscribe { months }),
        name().prop_map(|target_id| AudienceEventKind::DeleteMessage { target_id }),
        name().prop_map(|user_id| AudienceEventKind::ClearUser { user_id }),
        text(100).prop_map(|text| AudienceEventKind::Notice { text }),
    ];
    (
        name(),
        name(),
        name(),
        text(30),
        option::of(any::<[u8; 3]>()),
        vec(name(), 0..3),
        any::<i64>(),
        kind,
    )
        .prop_map(
            |(id, source, user_id, display_name, color, badges, timestamp_ms, kind)| {
                AudienceEvent {
                    id,
                    source,
                    user: AudienceUser {
                        id: user_id,
                        display_name,
                        color,
                        badges,
                    },
                    timestamp_ms,
                    kind,
                }
            },
        )
}

fn game_message() -> impl Strategy<Value = GameMessage> {
    let hello = (
        name(),
        any::<u32>(),
        vec(pixel_format(), 1..3),
        any::<bool>(),
    )
        .prop_map(|(game_name, pid, video_formats, audio)| {
            GameMessage::Hello(Hello::new(
                game_name,
                pid,
                Capabilities {
                    video_formats,
                    audio: audio.then_some(AudioFormat {
                        sample_rate: 48_000,
                        channels: 2,
                    }),
                },
            ))
        });
    let visibility = prop_oneof![Just(Visibility::Shown), Just(Visibility::Hidden)];
    let reason = prop_oneof![
        Just(DisplayReason::Startup),
        Just(DisplayReason::Focus),
        Just(DisplayReason::Visibility),
        Just(DisplayReason::Occlusion),
        Just(DisplayReason::Minimize),
        Just(DisplayReason::HostCommand),
    ];
    prop_oneof![
        hello,
        (visibility, reason, any::<u64>()).prop_map(|(visibility, reason, timestamp_ns)| {
            GameMessage::Display(DisplayReport {
                visibility,
                reason,
                timestamp_ns,
            })
        }),
        video_header().prop_map(GameMessage::VideoFrame),
        audio_header().prop_map(GameMessage::AudioChunk),
        prop_oneof![Just(MicChoice::On), Just(MicChoice::Off)]
            .prop_map(|mic| GameMessage::GoLive { mic }),
        Just(GameMessage::StopStream),
        (
            "[a-z0-9:/._]{0,40}",
            "[A-Za-z0-9_]{0,40}",
            0u8..4,
            any::<bool>()
        )
            .prop_map(
                |(server, key, kind, remember)| GameMessage::ChooseDestination {
                    destination: match kind {
                        0 => StreamDestination::Twitch { key },
                        1 => StreamDestination::YouTube { key },
                        2 => StreamDestination::Custom { server, key },
                        _ => StreamDestination::RecordOnly,
                    },
                    remember,
                }
            ),
        any::<u64>().prop_map(|nonce| GameMessage::Pong { nonce }),
        text(50).prop_map(|reason| GameMessage::Goodbye { reason }),
    ]
}

fn host_message() -> impl Strategy<Value = HostMessage> {
    let phase = prop_oneof![
        Just(StreamPhase::Idle),
        Just(StreamPhase::Starting),
        Just(StreamPhase::Live),
        (any::<u32>(), any::<u64>()).prop_map(|(attempt, retry_in_ms)| {
            StreamPhase::Reconnecting {
                attempt,
                retry_in_ms,
            }
        }),
        text(80).prop_map(|message| StreamPhase::Error { message }),
    ];
    let stats = (
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        option::of(name()),
        vec((text(40), any::<bool>(), option::of(text(40))), 0..3),
    )
        .prop_map(
            |(uptime_ms, frames, bitrate_kbps, shown_game, outputs)| StreamStats {
                uptime_ms,
                frames_pushed: frames,
                frames_repeated: frames / 2,
                frames_superseded: frames / 3,
                bitrate_kbps,
                shown_game,
                outputs: outputs
                    .into_iter()
                    .map(|(url, connected, problem)| OutputStatus {
                        url,
                        connected,
                        problem: problem.map(|message| OutputProblem::Other { message }),
                    })
                    .collect(),
            },
        );
    let refusal = prop_oneof![
        (any::<u16>(), any::<u16>())
            .prop_map(|(host, game)| RefusalReason::VersionMismatch { host, game }),
        text(40).prop_map(RefusalReason::InvalidHello),
        any::<u32>().prop_map(RefusalReason::TooManyGames),
        Just(RefusalReason::ShuttingDown),
    ];
    prop_oneof![
        (any::<u64>(), name()).prop_map(|(game_id, host_version)| {
            HostMessage::Handshake(HandshakeReply::Accepted {
                game_id,
                host_version,
            })
        }),
        refusal.prop_map(|r| HostMessage::Handshake(HandshakeReply::Refused(r))),
        (phase, any::<bool>(), stats).prop_map(|(phase, mic, stats)| {
            HostMessage::StreamState(StreamState {
                phase,
                mic: if mic { MicChoice::On } else { MicChoice::Off },
                stats,
                has_destination: mic,
                mic_error: None,
                config_error: None,
            })
        }),
        (any::<bool>(), any::<bool>(), 1u32..60)
            .prop_map(|(video, audio, fps)| HostMessage::Media(MediaRequest { video, audio, fps })),
        audience_event().prop_map(HostMessage::Audience),
        (vec(audience_event(), 0..5), any::<bool>())
            .prop_map(|(events, more)| HostMessage::Backlog { events, more }),
        prop_oneof![Just(Visibility::Shown), Just(Visibility::Hidden)]
            .prop_map(HostMessage::SetVisibility),
        any::<u64>().prop_map(|nonce| HostMessage::Ping { nonce }),
    ]
}

fn payload_for(message: &impl WireMessage) -> Vec<u8> {
    match message.validate().unwrap() {
        PayloadKind::None => Vec::new(),
        PayloadKind::Exact(len) => (0..len).map(|i| (i * 7 % 251) as u8).collect(),
    }
}

fn round_trip<M: WireMessage + PartialEq>(message: M) {
    let payload = payload_for(&message);
    let bytes = encode_frame(&message, &payload).unwrap();
    let decoded = decode_frame::<M>(&bytes).unwrap().unwrap();
    assert_eq!(decoded.message, message);
    assert_eq!(&bytes[decoded.payload.clone()], &payload[..]);
    assert_eq!(decoded.consumed, bytes.len());
    // Every strict prefix of a frame is "need more bytes", never an error.
    for cut in [
        0,
        1,
        PREFIX_LEN - 1,
        PREFIX_LEN,
        decoded.payload.start,
        bytes.len() - 1,
    ] {
        if cut < bytes.len() {
            assert!(decode_frame::<M>(&bytes[..cut]).unwrap().is_none());
        }
    }
}

proptest! {
    #[test]
    fn every_game_message_round_trips(message in game_message()) {
        round_trip(message);
    }

    #[test]
    fn every_host_message_round_trips(message in host_message()) {
        round_trip(message);
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_frame::<GameMessage>(&bytes);
        let _ = decode_frame::<HostMessage>(&bytes);
    }

    #[test]
    fn random_headers_after_a_valid_prefix_never_panic(
        header in vec(any::<u8>(), 0..256),
        payload_len in 0u32..100_000,
    ) {
        let prefix = FramePrefix { header_len: header.len() as u32, payload_len };
        let mut bytes = prefix.to_bytes().to_vec();
        bytes.extend_from_slice(&header);
        let _ = decode_frame::<GameMessage>(&bytes);
        let _ = decode_frame::<HostMessage>(&bytes);
    }
}

fn hello_frame() -> Vec<u8> {
    let hello = GameMessage::Hello(Hello::new(
        "snake",
        42,
        Capabilities {
            video_formats: vec![PixelFormat::I420],
            audio: None,
        },
    ));
    encode_frame(&hello, &[]).unwrap()
}

#[test]
fn bad_magic_is_rejected() {
    let mut bytes = hello_frame();
    bytes[0] = b'X';
    assert!(matches!(
        decode_frame::<GameMessage>(&bytes),
        Err(DecodeError::BadMagic(_))
    ));
}

#[test]
fn other_version_is_a_clear_error() {
    let mut bytes = hello_frame();
    bytes[4..6].copy_from_slice(&7u16.to_le_bytes());
    let err = decode_frame::<GameMessage>(&bytes).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::UnsupportedVersion { theirs: 7, .. }
    ));
    assert_eq!(
        err.to_string(),
        format!("peer speaks protocol v7, this build speaks v{PROTOCOL_VERSION}")
    );
}

#[test]
fn oversize_lengths_are_rejected_before_reading() {
    let mut bytes = FramePrefix {
        header_len: 0,
        payload_len: 0,
    }
    .to_bytes();
    bytes[8..12].copy_from_slice(&(MAX_HEADER_LEN + 1).to_le_bytes());
    assert!(matches!(
        decode_frame::<GameMessage>(&bytes),
        Err(DecodeError::HeaderTooLarge(_))
    ));
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_frame::<GameMessage>(&bytes),
        Err(DecodeError::PayloadTooLarge(_))
    ));
}

#[test]
fn payload_must_match_the_frame_geometry() {
    let header = VideoFrameHeader::packed(PixelFormat::I420, 320, 180);
    let message = GameMessage::VideoFrame(header);
    let mut bytes = encode_frame(&message, &vec![0; 320 * 180 * 3 / 2]).unwrap();
    // Declare one byte more than 320x180 I420 needs.
    let declared = (320 * 180 * 3 / 2 + 1) as u32;
    bytes[12..16].copy_from_slice(&declared.to_le_bytes());
    assert!(matches!(
        decode_frame::<GameMessage>(&bytes),
        Err(DecodeError::PayloadMismatch { .. })
    ));
    // And the sender cannot encode a mismatched frame either.
    assert!(encode_frame(&message, &[0; 10]).is_err());
}

#[test]
fn control_messages_carry_no_payload() {
    let mut bytes = encode_frame(&GameMessage::StopStream, &[]).unwrap();
    bytes[12..16].copy_from_slice(&5u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 5]);
    assert!(decode_frame::<GameMessage>(&bytes).is_err());
}

#[test]
fn trailing_header_bytes_are_rejected() {
    let mut bytes = encode_frame(&GameMessage::StopStream, &[]).unwrap();
    bytes.push(0);
    let header_len = (bytes.len() - PREFIX_LEN) as u32;
    bytes[8..12].copy_from_slice(&header_len.to_le_bytes());
    assert!(matches!(
        decode_frame::<GameMessage>(&bytes),
        Err(DecodeError::TrailingBytes(1))
    ));
}

#[test]
fn overlong_chat_is_rejected() {
    let event = AudienceEvent {
        id: "1".into(),
        source: "room".into(),
        user: AudienceUser {
            id: "u".into(),
            display_name: "U".into(),
            color: None,
            badges: vec![],
        },
        timestamp_ms: 0,
        kind: AudienceEventKind::Chat {
            text: "x".repeat(MAX_TEXT_BYTES + 1),
        },
    };
    assert!(encode_frame(&HostMessage::Audience(event), &[]).is_err());
}

#[test]
fn hello_refusals() {
    let caps = Capabilities {
        video_formats: vec![PixelFormat::Rgba8],
        audio: None,
    };
    let mut hello = Hello::new("dodge", 1, caps);
    assert_eq!(hello.refusal(), None);
    hello.protocol_version = 9;
    assert_eq!(
        hello.refusal(),
        Some(RefusalReason::VersionMismatch {
            host: PROTOCOL_VERSION,
            game: 9
        })
    );
    hello.protocol_version = PROTOCOL_VERSION;
    hello.game_name = " \n".into();
    assert!(matches!(
        hello.refusal(),
        Some(RefusalReason::InvalidHello(_))
    ));
}

#[test]
fn only_video_is_droppable() {
    let video = GameMessage::VideoFrame(VideoFrameHeader::packed(PixelFormat::I420, 2, 2));
    assert!(video.is_droppable());
    assert!(!GameMessage::StopStream.is_droppable());
    assert!(!HostMessage::Ping { nonce: 1 }.is_droppable());
}
