#version 450
// attn_lane.glsl reading the KV cache as uvec4 storage buffers: for devices (or cache sizes) without a usable texel view.
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 1) readonly buffer KC { uvec4 k_cache[]; }; // 8 fp16 per element
layout(std430, binding = 2) readonly buffer VC { uvec4 v_cache[]; };
#define LOAD_K(i) k_cache[i]
#define LOAD_V(i) v_cache[i]
#include "attn_lane.glsl"
