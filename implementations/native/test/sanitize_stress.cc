// ThreadSanitizer stress of the native SPSC ring (npm run test:native-sanitize): one producer
// and one consumer thread move messages of varying sizes through a ring laid out exactly as a
// SharedArrayBuffer would be, in both publication modes (JS peer: seq_cst; native-only: release),
// checking order and contents. TSan reports any data race between the two threads.
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "../../../wire/envelope.hpp"
#include "../src/spsc_ring.hpp"

using namespace nanomq;

static int run(Peer peer, uint64_t count) {
  const uint32_t capacity = 1u << 16;
  std::vector<int32_t> memory((kDataOffset + capacity) / 4, 0);
  memory[kMetaCapacity] = static_cast<int32_t>(capacity);
  int32_t* words = memory.data();
  uint64_t errors = 0;

  std::thread producer([&] {
    SpscProducer q(words, peer);
    int32_t offsets[32];
    uint64_t seq = 0;
    while (seq < count) {
      const uint32_t payload = static_cast<uint32_t>((seq * 2654435761u) % 700);
      const uint32_t want = static_cast<uint32_t>(1 + seq % 32);
      const uint32_t n = q.claim(want, kHeaderBytes + payload, offsets);
      for (uint32_t i = 0; i < n; i++) {
        uint8_t* at = q.bytes + offsets[i];
        write_header(at, 0, seq + i, 0, payload, 0);
        for (uint32_t b = 0; b < payload; b++) at[kHeaderBytes + b] = static_cast<uint8_t>(seq + i + b);
      }
      q.publish();
      seq += n;
    }
  });
  std::thread consumer([&] {
    SpscConsumer q(words, peer);
    uint64_t expected = 0;
    while (expected < count) {
      q.drain(64, [&](uint32_t offset, uint32_t length) {
        const uint8_t* at = q.bytes + offset;
        const uint64_t seq = header_sequence(at);
        const uint32_t payload = reinterpret_cast<const uint32_t*>(at)[6];
        if (seq != expected || length != kHeaderBytes + payload) errors++;
        for (uint32_t b = 0; b < payload; b++)
          if (at[kHeaderBytes + b] != static_cast<uint8_t>(seq + b)) {
            errors++;
            break;
          }
        expected++;
      });
    }
  });
  producer.join();
  consumer.join();
  std::printf("%s: %llu messages, %llu errors\n", peer == Peer::kJavaScript ? "seq_cst (JS peer)" : "release (native only)",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  return run(Peer::kJavaScript, count) | run(Peer::kNativeOnly, count);
}
