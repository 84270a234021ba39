// The 64-byte NanoMQ envelope header, a mirror of wire/envelope.ts beside it, written and checked by the
// native threads. Little-endian u32 words:
//   0 magic | 1 flags (low 16) + producer id (high 16) | 2,3 sequence | 4,5 timestamp ns
//   6 payload length | 7 crc32 | 8,9 sent-at ns | 10..15 reserved
#pragma once

#include <cstdint>
#include <ctime>

namespace nanomq {

constexpr uint32_t kHeaderBytes = 64;
constexpr uint32_t kMagic = 0x4e4d5101;
constexpr uint32_t kTimestamped = 1;

// The clock process.hrtime reads (libuv: CLOCK_MONOTONIC), so JS and native stamps compare.
inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline void write_header(uint8_t* at, uint32_t producer, uint64_t seq, uint64_t ts, uint32_t payload, uint32_t flags) {
  uint32_t* w = reinterpret_cast<uint32_t*>(at);
  w[0] = kMagic;
  w[1] = (flags & 0xffff) | (producer << 16);
  w[2] = static_cast<uint32_t>(seq);
  w[3] = static_cast<uint32_t>(seq >> 32);
  w[4] = static_cast<uint32_t>(ts);
  w[5] = static_cast<uint32_t>(ts >> 32);
  w[6] = payload;
  w[7] = 0;
  w[8] = 0;
  w[9] = 0;
}

inline uint64_t header_sequence(const uint8_t* at) {
  const uint32_t* w = reinterpret_cast<const uint32_t*>(at);
  return static_cast<uint64_t>(w[2]) | (static_cast<uint64_t>(w[3]) << 32);
}

inline uint64_t header_timestamp(const uint8_t* at) {
  const uint32_t* w = reinterpret_cast<const uint32_t*>(at);
  return static_cast<uint64_t>(w[4]) | (static_cast<uint64_t>(w[5]) << 32);
}

}  // namespace nanomq
