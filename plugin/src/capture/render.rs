//! Render-world half of capture: after the game's own passes (scene,
//! post-processing, `bevy_ui` HUD) and before the egui overlay, a compute pass
//! reads the streamable camera's view target, scales and converts it, and
//! copies the result into one of a few mappable staging buffers (or, where
//! the CPU converts, the view is copied into one as it is). Buffers are
//! read back and sent by the readback thread once the GPU is done (see
//! [`super::readback`]); when all are still in flight the frame is skipped
//! (counted), so capture never waits on the GPU.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bevy::asset::load_embedded_asset;
use bevy::camera::CompositingSpace;
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_resource::binding_types::{
    sampler, storage_buffer_sized, texture_2d, uniform_buffer_sized,
};
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, Buffer,
    BufferDescriptor, BufferId, BufferUsages, CachedComputePipelineId, ComputePassDescriptor,
    ComputePipeline, ComputePipelineDescriptor, Extent3d, Origin3d, PipelineCache, Sampler,
    SamplerBindingType, SamplerDescriptor, ShaderStages, TexelCopyBufferInfo,
    TexelCopyBufferLayout, TexelCopyTextureInfo, TextureAspect, TextureSampleType, TextureViewId,
};
use bevy::render::renderer::{
    RenderAdapterInfo, RenderContext, RenderDevice, RenderQueue, ViewQuery,
};
use bevy::render::view::ViewTarget;
use livestream_ipc::PayloadPool;
use livestream_protocol::{PixelFormat, VideoFrameHeader};

use super::CaptureCounters;
use super::convert::{RgbaCopy, TexelOrder};
use super::geometry::CaptureGeometry;
use super::readback::{Readback, ReadbackJob, Staged};
use crate::Conversion;
use crate::route::RouteReceiver;

/// Staging buffers per capture size: one being written, one being mapped, one spare.
const STAGING_BUFFERS: usize = 3;
/// Size of the shader's `Params` uniform in bytes.
const PARAMS_SIZE: u64 = 48;

/// Put on the render entity of the camera to capture this frame.
#[derive(Component, Debug, Clone, Copy)]
pub(crate) struct CaptureView {
    /// When the frame was rendered (`CLOCK_MONOTONIC` ns).
    pub timestamp_ns: u64,
    /// The game's capture counter.
    pub frame_number: u64,
    /// Format to send.
    pub format: PixelFormat,
    /// Largest output size.
    pub max_size: (u32, u32),
    /// Where the picture becomes I420.
    pub conversion: Conversion,
}

/// The two conversion pipelines and what they bind.
#[derive(Resource)]
pub(crate) struct CapturePipelines {
    layout: BindGroupLayoutDescriptor,
    sampler: Sampler,
    i420: CachedComputePipelineId,
    rgba: CachedComputePipelineId,
}

/// Creates the pipelines once the render device exists.
pub(crate) fn init_capture_pipelines(
    mut commands: Commands,
    device: Res<RenderDevice>,
    asset_server: Res<AssetServer>,
    pipeline_cache: Res<PipelineCache>,
) {
    let layout = BindGroupLayoutDescriptor::new(
        "livestream_capture_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                texture_2d(TextureSampleType::Float { filterable: true }),
                sampler(SamplerBindingType::Filtering),
                uniform_buffer_sized(false, core::num::NonZeroU64::new(PARAMS_SIZE)),
                storage_buffer_sized(false, None),
            ),
        ),
    );
    let sampler = device.create_sampler(&SamplerDescriptor {
        label: Some("livestream_capture_sampler"),
        mag_filter: bevy::render::render_resource::FilterMode::Linear,
        min_filter: bevy::render::render_resource::FilterMode::Linear,
        ..default()
    });
    let shader = load_embedded_asset!(asset_server.as_ref(), "capture.wgsl");
    let pipeline = |entry: &'static str| {
        pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
            label: Some(format!("livestream_capture_{entry}").into()),
            layout: vec![layout.clone()],
            shader: shader.clone(),
            entry_point: Some(entry.into()),
            ..default()
        })
    };
    let (i420, rgba) = (pipeline("i420"), pipeline("rgba"));
    commands.insert_resource(CapturePipelines {
        layout,
        sampler,
        i420,
        rgba,
    });
}

#[derive(Debug)]
enum SlotState {
    Free,
    /// Commands recorded; read back after this frame is submitted.
    Written(VideoFrameHeader, Staged),
    /// With the readback thread until it frees the slot.
    Reading,
}

#[derive(Debug)]
struct StagingSlot {
    buffer: Option<Buffer>,
    state: SlotState,
}

/// GPU buffers of capture and the way out to the host.
#[derive(Resource)]
pub(crate) struct CaptureBuffers {
    params: Option<Buffer>,
    output: Option<Buffer>,
    bind_group: Option<((TextureViewId, BufferId), BindGroup)>,
    slots: Vec<StagingSlot>,
    /// Where the readback thread will send frames, until it is started
    /// (with the first capture: it needs the render device).
    route: Option<RouteReceiver>,
    readback: Option<Readback>,
    counters: Arc<CaptureCounters>,
    /// Whether the last capture was converted on the CPU (logged when it changes).
    on_cpu: Option<bool>,
}

impl CaptureBuffers {
    /// Buffers that send through `route` and count into `counters`.
    pub fn new(route: RouteReceiver, counters: Arc<CaptureCounters>) -> Self {
        Self {
            params: None,
            output: None,
            bind_group: None,
            slots: (0..STAGING_BUFFERS)
                .map(|_| StagingSlot {
                    buffer: None,
                    state: SlotState::Free,
                })
                .collect(),
            route: Some(route),
            readback: None,
            counters,
            on_cpu: None,
        }
    }
}

fn buffer(device: &RenderDevice, label: &'static str, size: u64, usage: BufferUsages) -> Buffer {
    device.create_buffer(&BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    })
}

/// The buffer in `slot`, replaced by a new one when it is missing or not `size` bytes.
fn sized_buffer<'a>(
    slot: &'a mut Option<Buffer>,
    device: &RenderDevice,
    label: &'static str,
    size: u64,
    usage: BufferUsages,
) -> &'a Buffer {
    if slot.as_ref().is_none_or(|b| b.size() != size) {
        *slot = Some(buffer(device, label, size, usage));
    }
    slot.as_ref().expect("filled above")
}

/// How the view texture stores colour, as the shader's `color_space` code.
fn color_space_code(space: Option<CompositingSpace>) -> u32 {
    match space {
        Some(CompositingSpace::Srgb) => 0,
        Some(CompositingSpace::Linear) | None => 1,
        Some(CompositingSpace::Oklab) => 2,
    }
}

/// The shader's `Params` uniform: the source rectangle `[origin, size]` and
/// size of the view texture, in texels, then the output geometry and colour
/// space code.
fn shader_params(
    [origin, size, texture_size]: [UVec2; 3],
    geometry: &CaptureGeometry,
    color_space: u32,
) -> [u8; PARAMS_SIZE as usize] {
    let floats = [origin, size, texture_size].map(|v| [v.x as f32, v.y as f32]);
    let words = [
        geometry.width,
        geometry.height,
        geometry.strides[0],
        color_space,
        0,
        0,
    ];
    let mut bytes = [0u8; PARAMS_SIZE as usize];
    let values = floats
        .as_flattened()
        .iter()
        .map(|f| f.to_le_bytes())
        .chain(words.iter().map(|w| w.to_le_bytes()));
    for (chunk, value) in bytes.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&value);
    }
    bytes
}

/// How this capture leaves the GPU: converted by the shader, or copied as
/// RGBA for the readback thread to convert (see [`Conversion`]).
fn staging_for(
    order: &CaptureView,
    geometry: &CaptureGeometry,
    view_size: UVec2,
    target: &ViewTarget,
    adapter: Option<&RenderAdapterInfo>,
) -> Staged {
    let wanted = match order.conversion {
        Conversion::Gpu => false,
        Conversion::Cpu => true,
        Conversion::Auto => {
            adapter.is_some_and(|info| info.device_type == wgpu_types::DeviceType::Cpu)
        }
    };
    let unscaled = UVec2::new(geometry.width, geometry.height) == view_size;
    let srgb_composited = target.compositing_space == Some(CompositingSpace::Srgb);
    match TexelOrder::of_srgb_bytes(target.main_texture_format(), srgb_composited) {
        Some(texels) if wanted && unscaled && order.format == PixelFormat::I420 => {
            Staged::Rgba(RgbaCopy::new(geometry.width, texels))
        }
        _ => Staged::Frame,
    }
}

/// What writes a capture into its staging buffer.
enum Writer<'a> {
    /// A copy of the view's texels, converted by the readback thread.
    Copy(RgbaCopy),
    /// The conversion shader.
    Shader(&'a CapturePipelines, &'a ComputePipeline),
}

/// Records the capture of the current view into a free staging buffer.
pub(crate) fn capture_view(
    view: ViewQuery<(&ViewTarget, &ExtractedCamera, &CaptureView)>,
    pipelines: Option<Res<CapturePipelines>>,
    pipeline_cache: Res<PipelineCache>,
    adapter: Option<Res<RenderAdapterInfo>>,
    mut buffers: ResMut<CaptureBuffers>,
    queue: Res<RenderQueue>,
    mut ctx: RenderContext,
) {
    let (target, camera, order) = view.into_inner();
    let texture = target.main_texture();
    let texture_size = UVec2::new(texture.width(), texture.height());
    let (origin, size) = match &camera.viewport {
        Some(viewport) => (viewport.physical_position, viewport.physical_size),
        None => (UVec2::ZERO, texture_size),
    };
    let Some(geometry) = CaptureGeometry::fit((size.x, size.y), order.max_size, order.format)
    else {
        return;
    };
    let staged = staging_for(order, &geometry, size, target, adapter.as_deref());
    let on_cpu = matches!(staged, Staged::Rgba(_));
    if buffers.on_cpu.replace(on_cpu) != Some(on_cpu) {
        let site = if on_cpu { "the CPU" } else { "the GPU" };
        info!(
            "captured frames are converted to {:?} on {site}",
            order.format
        );
    }
    let writer = match staged {
        Staged::Rgba(copy) => Writer::Copy(copy),
        Staged::Frame => {
            let Some(pipelines) = pipelines.as_deref() else {
                return;
            };
            let pipeline_id = match order.format {
                PixelFormat::I420 => pipelines.i420,
                PixelFormat::Rgba8 => pipelines.rgba,
            };
            let Some(pipeline) = pipeline_cache.get_compute_pipeline(pipeline_id) else {
                // Still compiling: the first frames of a stream may be skipped.
                buffers.counters.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            };
            Writer::Shader(pipelines, pipeline)
        }
    };
    let CaptureBuffers {
        readback, slots, ..
    } = &mut *buffers;
    for slot in readback.iter().flat_map(Readback::freed) {
        slots[slot].state = SlotState::Free;
    }
    let Some(slot_index) = buffers
        .slots
        .iter()
        .position(|slot| matches!(slot.state, SlotState::Free))
    else {
        // Every staging buffer is still on its way back from the GPU.
        buffers.counters.skipped.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let device = ctx.render_device().clone();
    let buffers = &mut *buffers;
    let staging_len = match staged {
        Staged::Frame => geometry.len(),
        Staged::Rgba(copy) => copy.len(geometry.height),
    };
    let slot = &mut buffers.slots[slot_index];
    let staging = sized_buffer(
        &mut slot.buffer,
        &device,
        "livestream_capture_staging",
        staging_len,
        BufferUsages::MAP_READ | BufferUsages::COPY_DST,
    );
    match writer {
        Writer::Copy(copy) => {
            ctx.command_encoder().copy_texture_to_buffer(
                TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: Origin3d {
                        x: origin.x,
                        y: origin.y,
                        z: 0,
                    },
                    aspect: TextureAspect::All,
                },
                TexelCopyBufferInfo {
                    buffer: staging,
                    layout: TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(copy.row_bytes),
                        rows_per_image: None,
                    },
                },
                Extent3d {
                    width: geometry.width,
                    height: geometry.height,
                    depth_or_array_layers: 1,
                },
            );
        }
        Writer::Shader(pipelines, pipeline) => {
            let params = buffers.params.get_or_insert_with(|| {
                buffer(
                    &device,
                    "livestream_capture_params",
                    PARAMS_SIZE,
                    BufferUsages::UNIFORM | BufferUsages::COPY_DST,
                )
            });
            let output = sized_buffer(
                &mut buffers.output,
                &device,
                "livestream_capture_output",
                geometry.len(),
                BufferUsages::STORAGE | BufferUsages::COPY_SRC,
            );
            let bytes = shader_params(
                [origin, size, texture_size],
                &geometry,
                color_space_code(target.compositing_space),
            );
            queue.write_buffer(params, 0, &bytes);

            // The view's current main texture is the same one frame after frame, so
            // the bind group is rebuilt only when it or the output buffer changes.
            let key = (target.main_texture_view().id(), output.id());
            let bind_group = match &buffers.bind_group {
                Some((cached, bind_group)) if *cached == key => bind_group.clone(),
                _ => {
                    let bind_group = device.create_bind_group(
                        "livestream_capture_bind_group",
                        &pipeline_cache.get_bind_group_layout(&pipelines.layout),
                        &BindGroupEntries::sequential((
                            target.main_texture_view(),
                            &pipelines.sampler,
                            params.as_entire_binding(),
                            output.as_entire_binding(),
                        )),
                    );
                    buffers.bind_group = Some((key, bind_group.clone()));
                    bind_group
                }
            };
            let (groups_x, groups_y) = geometry.workgroups();
            let encoder = ctx.command_encoder();
            {
                let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
                    label: Some("livestream_capture"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(groups_x, groups_y, 1);
            }
            encoder.copy_buffer_to_buffer(output, 0, staging, 0, geometry.len());
        }
    }
    slot.state = SlotState::Written(
        geometry.header(order.timestamp_ns, order.frame_number),
        staged,
    );
    buffers.counters.captured.fetch_add(1, Ordering::Relaxed);
}

/// After the frame's commands are submitted: hands what was written to the
/// readback thread (started here the first time). Never waits.
pub(crate) fn send_captures(mut buffers: ResMut<CaptureBuffers>, device: Res<RenderDevice>) {
    let buffers = &mut *buffers;
    if buffers.readback.is_none()
        && let Some(route) = buffers.route.take()
    {
        let pool = PayloadPool::new(STAGING_BUFFERS + 2);
        buffers.readback = Readback::spawn(device.clone(), route, buffers.counters.clone(), pool);
    }
    for (index, slot) in buffers.slots.iter_mut().enumerate() {
        let SlotState::Written(header, staged) = slot.state else {
            continue;
        };
        let buffer = slot.buffer.clone().expect("written slots have a buffer");
        let Some(readback) = &buffers.readback else {
            // No thread to read it back: the frame is lost, the slot reused.
            buffers.counters.dropped.fetch_add(1, Ordering::Relaxed);
            slot.state = SlotState::Free;
            continue;
        };
        readback.start(ReadbackJob {
            slot: index,
            buffer,
            header,
            staged,
        });
        slot.state = SlotState::Reading;
    }
}
