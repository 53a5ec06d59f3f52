#!/usr/bin/env python3
"""Synthesise the demo games' sounds: small 16-bit mono 22,050 Hz WAV files.

Python 3 standard library only. Run from anywhere:

    python3 assets/make_sounds.py

Writes assets/sounds/{music_dodge,music_snake,eat,hit,gift}.wav next to this
script. The output is deterministic (the noise uses a fixed-seed generator),
so running it again gives the same bytes. The sounds are CC0 (see CREDITS.md).
"""

import math
import os
import struct
import wave

RATE = 22050
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sounds")


def note_hz(midi):
    """Frequency of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def osc(shape, phase):
    """One sample of a waveform at `phase` (in cycles)."""
    p = phase % 1.0
    if shape == "sine":
        return math.sin(2.0 * math.pi * p)
    if shape == "square":
        return 1.0 if p < 0.5 else -1.0
    if shape == "pulse":  # 25 % duty: thinner, chiptune-like
        return 1.0 if p < 0.25 else -1.0
    if shape == "saw":
        return 2.0 * p - 1.0
    if shape == "triangle":
        return 4.0 * abs(p - 0.5) - 1.0
    raise ValueError(shape)


def envelope(i, n, attack, release):
    """Linear attack and release (in samples) so every note starts and ends at 0."""
    a = min(1.0, i / attack) if attack else 1.0
    r = min(1.0, (n - 1 - i) / release) if release else 1.0
    return max(0.0, min(a, r))


def add_note(buf, start_s, dur_s, hz, shape, gain, attack=0.005, release=0.04, decay=0.0):
    """Mixes one note into `buf` (a list of floats), wrapping at the end (loops)."""
    n = int(dur_s * RATE)
    start = int(start_s * RATE)
    att, rel = int(attack * RATE), int(release * RATE)
    for i in range(n):
        t = i / RATE
        amp = gain * envelope(i, n, att, rel)
        if decay:
            amp *= math.exp(-t / decay)
        buf[(start + i) % len(buf)] += amp * osc(shape, hz * t)


def sweep(dur_s, f0, f1, shape, gain, attack=0.003, release=0.05):
    """A note whose pitch glides exponentially from f0 to f1."""
    n = int(dur_s * RATE)
    out, phase = [], 0.0
    att, rel = int(attack * RATE), int(release * RATE)
    for i in range(n):
        f = f0 * (f1 / f0) ** (i / n)
        phase += f / RATE
        out.append(gain * envelope(i, n, att, rel) * osc(shape, phase))
    return out


def noise(n, seed=12345):
    """Deterministic white noise in [-1, 1] (xorshift32)."""
    x, out = seed, []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(x / 0x7FFFFFFF - 1.0)
    return out


def write_wav(name, samples, peak):
    """Normalises to `peak` (0..1 of full scale) and writes 16-bit mono PCM."""
    top = max(1e-9, max(abs(s) for s in samples))
    scale = peak / top * 32767.0
    data = b"".join(struct.pack("<h", int(round(s * scale))) for s in samples)
    path = os.path.join(OUT_DIR, name)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)
    print(f"{path}: {len(samples) / RATE:.2f} s, {len(data) + 44} bytes")


def music_dodge():
    """4 s loop at 120 BPM, A minor: driving saw arpeggio over a square bass."""
    beat = 0.5
    buf = [0.0] * int(8 * beat * RATE)
    # Two bars, one chord per half bar: Am, F, C, G (root notes for the bass).
    chords = [(57, [69, 72, 76]), (53, [65, 69, 72]), (48, [67, 72, 76]), (55, [67, 71, 74])]
    for c, (bass, arp) in enumerate(chords):
        bar_start = c * 2 * beat
        for k in range(4):  # bass on every beat-half, octave jump on the off-beats
            midi = bass - 12 if k % 2 == 0 else bass
            add_note(buf, bar_start + k * beat / 2, beat / 2, note_hz(midi), "square", 0.22, release=0.03)
        pattern = [0, 1, 2, 1, 2, 0, 1, 2]  # sixteenths
        for k, idx in enumerate(pattern):
            add_note(buf, bar_start + k * beat / 4, beat / 4, note_hz(arp[idx] + 12), "saw", 0.12,
                     release=0.03, decay=0.15)
    # A soft hi-hat tick on every eighth.
    tick = noise(int(0.03 * RATE))
    for k in range(16):
        start = int(k * beat / 2 * RATE)
        for i, s in enumerate(tick):
            buf[(start + i) % len(buf)] += 0.05 * s * (1.0 - i / len(tick))
    return buf


def music_snake():
    """4 s loop at 120 BPM, C major: bouncy pulse-wave melody over a triangle bass."""
    beat = 0.5
    buf = [0.0] * int(8 * beat * RATE)
    melody = [72, 76, 79, 76, 74, 77, 81, 77, 72, 76, 79, 84, 79, 74, 71, 67]  # eighths
    for k, midi in enumerate(melody):
        add_note(buf, k * beat / 2, beat / 2 * 0.85, note_hz(midi), "pulse", 0.10, release=0.03, decay=0.3)
    bass = [48, 48, 53, 53, 48, 48, 55, 55]  # quarters
    for k, midi in enumerate(bass):
        add_note(buf, k * beat, beat * 0.9, note_hz(midi - 12), "triangle", 0.30, release=0.05)
    return buf


def eat():
    """A short rising blip (0.12 s)."""
    return sweep(0.12, 600.0, 1400.0, "square", 0.5, release=0.03)


def hit():
    """A falling buzz with noise (0.35 s)."""
    n = int(0.35 * RATE)
    tone = sweep(0.35, 300.0, 60.0, "saw", 0.6, release=0.08)
    crunch = noise(n, seed=987)
    return [t + 0.4 * c * math.exp(-i / (0.08 * RATE)) for i, (t, c) in enumerate(zip(tone, crunch))]


def gift():
    """A bright three-note chime (0.4 s)."""
    buf = [0.0] * int(0.4 * RATE)
    for k, midi in enumerate([84, 88, 91]):
        start = k * 0.07
        add_note(buf, start, 0.4 - start, note_hz(midi), "sine", 0.4, attack=0.002, release=0.05, decay=0.12)
        add_note(buf, start, 0.4 - start, note_hz(midi + 12), "sine", 0.12, attack=0.002, release=0.05, decay=0.06)
    return buf


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    # Music is kept at a moderate level: the stream mixes it with a microphone.
    write_wav("music_dodge.wav", music_dodge(), 0.45)
    write_wav("music_snake.wav", music_snake(), 0.45)
    write_wav("eat.wav", eat(), 0.7)
    write_wav("hit.wav", hit(), 0.75)
    write_wav("gift.wav", gift(), 0.7)


if __name__ == "__main__":
    main()
