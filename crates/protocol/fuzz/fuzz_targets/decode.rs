//! Feeds arbitrary bytes to the frame decoder of both directions.
//! It must return `Ok(None)`, a frame, or an error — never panic — and any
//! frame it accepts must re-encode and decode back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livestream_protocol::{GameMessage, HostMessage, WireMessage, decode_frame, encode_frame};

fn check<M: WireMessage + PartialEq>(data: &[u8]) {
    if let Ok(Some(frame)) = decode_frame::<M>(data) {
        let payload = &data[frame.payload.clone()];
        let again = encode_frame(&frame.message, payload).expect("a decoded frame re-encodes");
        let back = decode_frame::<M>(&again)
            .expect("a re-encoded frame decodes")
            .expect("a re-encoded frame is complete");
        assert_eq!(back.message, frame.message);
        assert_eq!(&again[back.payload], payload);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<GameMessage>(data);
    check::<HostMessage>(data);
});
