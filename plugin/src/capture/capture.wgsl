// Converts a camera's view target to the frame sent to the host:
// scaled to the capture size, then packed as I420 (BT.601 limited range,
// 1.5 bytes per pixel) or as RGBA8 (sRGB), into a storage buffer that is
// copied to a mappable staging buffer.

struct Params {
    // Source rectangle in texels of the view texture (the camera's viewport).
    src_origin: vec2<f32>,
    src_size: vec2<f32>,
    // Size of the view texture in texels.
    texture_size: vec2<f32>,
    // Output size in pixels.
    dst_size: vec2<u32>,
    // Bytes per luma row (I420) or per row (RGBA).
    stride: u32,
    // How values are stored in the view texture: 0 sRGB-encoded, 1 linear, 2 Oklab.
    color_space: u32,
    _pad: vec2<u32>,
}

@group(0) @binding(0) var view_texture: texture_2d<f32>;
@group(0) @binding(1) var view_sampler: sampler;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn linear_to_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(max(c, vec3(0.0)), vec3(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3(0.0031308));
}

fn oklab_to_linear(c: vec3<f32>) -> vec3<f32> {
    let l_ = c.x + 0.3963377774 * c.y + 0.2158037573 * c.z;
    let m_ = c.x - 0.1055613458 * c.y - 0.0638541728 * c.z;
    let s_ = c.x - 0.0894841775 * c.y - 1.2914855480 * c.z;
    let l = l_ * l_ * l_;
    let m = m_ * m_ * m_;
    let s = s_ * s_ * s_;
    return vec3(
        4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
        -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
        -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s,
    );
}

// sRGB-encoded colour of output pixel (x, y), each channel 0..255.
fn pixel(x: u32, y: u32) -> vec3<f32> {
    let scale = params.src_size / vec2<f32>(params.dst_size);
    let at = params.src_origin + (vec2<f32>(f32(x), f32(y)) + 0.5) * scale;
    var c = textureSampleLevel(view_texture, view_sampler, at / params.texture_size, 0.0).rgb;
    if params.color_space == 1u {
        c = linear_to_srgb(c);
    } else if params.color_space == 2u {
        c = linear_to_srgb(oklab_to_linear(c));
    }
    return clamp(c, vec3(0.0), vec3(1.0)) * 255.0;
}

fn luma(c: vec3<f32>) -> u32 {
    return u32(clamp((66.0 * c.r + 129.0 * c.g + 25.0 * c.b + 128.0) / 256.0 + 16.0, 0.0, 255.0));
}

fn chroma(c: vec3<f32>) -> vec2<u32> {
    let u = (-38.0 * c.r - 74.0 * c.g + 112.0 * c.b + 128.0) / 256.0 + 128.0;
    let v = (112.0 * c.r - 94.0 * c.g - 18.0 * c.b + 128.0) / 256.0 + 128.0;
    return vec2<u32>(clamp(vec2(u, v), vec2(0.0), vec2(255.0)));
}

// One invocation writes an 8×2 pixel block: two luma words per row and one
// word each of U and V, so no two invocations share a word.
@compute @workgroup_size(8, 8, 1)
fn i420(@builtin(global_invocation_id) id: vec3<u32>) {
    let w = params.dst_size.x;
    let h = params.dst_size.y;
    let x0 = id.x * 8u;
    let y0 = id.y * 2u;
    if x0 >= params.stride || y0 >= h {
        return;
    }
    var colours: array<vec3<f32>, 16>;
    for (var i = 0u; i < 16u; i++) {
        let x = min(x0 + (i % 8u), w - 1u);
        colours[i] = pixel(x, y0 + i / 8u);
    }
    for (var row = 0u; row < 2u; row++) {
        for (var half = 0u; half < 2u; half++) {
            var word = 0u;
            for (var b = 0u; b < 4u; b++) {
                word |= luma(colours[row * 8u + half * 4u + b]) << (8u * b);
            }
            out[((y0 + row) * params.stride + x0) / 4u + half] = word;
        }
    }
    var u_word = 0u;
    var v_word = 0u;
    for (var b = 0u; b < 4u; b++) {
        let c = (colours[2u * b] + colours[2u * b + 1u] + colours[8u + 2u * b] + colours[9u + 2u * b]) * 0.25;
        let uv = chroma(c);
        u_word |= uv.x << (8u * b);
        v_word |= uv.y << (8u * b);
    }
    let chroma_stride = params.stride / 2u;
    let u_plane = params.stride * h;
    let v_plane = u_plane + chroma_stride * (h / 2u);
    let offset = id.y * chroma_stride + x0 / 2u;
    out[(u_plane + offset) / 4u] = u_word;
    out[(v_plane + offset) / 4u] = v_word;
}

// One invocation per pixel, packed R, G, B, A in memory order.
@compute @workgroup_size(8, 8, 1)
fn rgba(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.dst_size.x || id.y >= params.dst_size.y {
        return;
    }
    let c = pixel(id.x, id.y) / 255.0;
    out[id.y * params.dst_size.x + id.x] = pack4x8unorm(vec4(c, 1.0));
}
