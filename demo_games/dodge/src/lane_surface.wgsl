// The lane's surface in demo-dodge: a flat colour with dashed dividers that
// scroll towards the camera. Far cheaper than the PBR shader on software
// renderers (lavapipe).
#import bevy_pbr::forward_io::VertexOutput

// `LaneUniform` in scene.rs.
struct Lane {
    color: vec4<f32>,
    stripe: vec4<f32>,
    // World units the dashes have moved towards the camera.
    scroll: f32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> lane: Lane;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    // Dividers between three lanes, at x = ±1, dashed every 4 units.
    let on_divider = abs(abs(in.world_position.x) - 1.0) < 0.05;
    let on_dash = fract((in.world_position.z - lane.scroll) / 4.0) < 0.5;
    return select(lane.color, lane.stripe, on_divider && on_dash);
}
