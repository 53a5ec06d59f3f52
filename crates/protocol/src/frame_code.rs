//! The frame code: a frame number drawn into the picture, so that whoever
//! decodes a stream (ours, or a screen recording) can tell which frame of
//! the game each output frame shows, and measure latency from it.
//!
//! The code is 32 bits: 24 counter bits then an 8-bit check. It is drawn as
//! [`CODE_BITS`] equal black/white blocks across the bottom eighth of the
//! picture, bit 0 on the left, a bright block for a 1: big enough to survive
//! H.264 at streaming bitrates. `livestream-testsrc` draws and reads it; the
//! demo games draw it with `--frame-code`.

/// Bits in the code, and blocks across the picture.
pub const CODE_BITS: u32 = 32;

/// The 32-bit code for a frame number: 24 counter bits then an 8-bit check.
pub fn code_for(frame_number: u64) -> u32 {
    let counter = (frame_number & 0xff_ffff) as u32;
    let [a, b, c, _] = counter.to_le_bytes();
    counter | (u32::from(a ^ b ^ c ^ 0x5a) << 24)
}

/// The frame number a code stands for, or `None` when the check fails.
pub fn frame_for(code: u32) -> Option<u32> {
    let counter = code & 0xff_ffff;
    (code_for(u64::from(counter)) == code).then_some(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupted_code_is_rejected() {
        let code = code_for(1234);
        assert_eq!(frame_for(code), Some(1234));
        assert_eq!(frame_for(code ^ 1), None);
    }
}
