#version 450
// attn_lane.glsl reading the KV cache through RGBA32UI texel buffers (lavapipe's fast load, DESIGN §3.1).
#extension GL_GOOGLE_include_directive : require
layout(binding = 1) uniform usamplerBuffer KT; // k_cache, 8 fp16 per texel
layout(binding = 2) uniform usamplerBuffer VT; // v_cache
#define LOAD_K(i) texelFetch(KT, int(i))
#define LOAD_V(i) texelFetch(VT, int(i))
#include "attn_lane.glsl"
