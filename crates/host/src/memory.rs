//! Gives the memory a finished stream freed back to the system. glibc keeps
//! freed heap memory for reuse rather than returning it, so each session's
//! pipeline (encoder, muxer and queue buffers, tens of MB, allocated by
//! many threads) would leave the host's resident size a step higher; after
//! a stream is finished nothing needs that memory soon.

/// Returns free heap memory to the system (glibc's `malloc_trim`); a no-op
/// elsewhere.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointer and walks glibc's own arenas
    // under their locks; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
