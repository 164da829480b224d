#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CR_PAUSE() _mm_pause()
#else
#define CR_PAUSE() std::this_thread::yield()
#endif

namespace chainrule {

namespace {
// How long a worker keeps polling for the next job before it sleeps on the futex. Long enough
// to cover the gap between the kernels of one training step, short enough not to burn a core.
constexpr auto kSpin = std::chrono::microseconds(200);
}  // namespace

ThreadPool& ThreadPool::instance() {
  // Never destroyed: the detached workers may outlive static destruction at process exit.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

ThreadPool::ThreadPool() {
  unsigned hc = std::thread::hardware_concurrency();
  // CHAINRULE_NATIVE_THREADS is read in TypeScript (src/backend/env.ts), which calls setThreads.
  threads_ = hc == 0 ? 1 : static_cast<int>(hc);
}

void ThreadPool::setThreads(int n) {
  threads_ = std::max(1, n);
  ensureWorkers(threads_ - 1);
}

void ThreadPool::ensureWorkers(int count) {
  while (static_cast<int>(workers_.size()) < count) {
    const uint32_t seen = generation_.load();
    workers_.emplace_back([this, seen] { workerLoop(seen); });
    workers_.back().detach();
  }
}

void ThreadPool::claimChunks() {
  const auto* fn = job_.load();
  const int n = chunks_.load();
  for (int c; (c = next_.fetch_add(1)) < n;) (*fn)(c, n);
}

// The hand-shake, all sequentially consistent: a worker checks in (inside_++) before it reads
// open_, and the caller closes the job (open_ = false) before it reads inside_. So either the
// worker sees the job closed and touches nothing, or the caller sees it inside and waits for it.
// jobGen_ keeps a worker that woke late for an old job out of a newer one.
void ThreadPool::workerLoop(uint32_t seen) {
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    int polls = 0;
    while (generation_.load() == seen) {
      CR_PAUSE();
      if (++polls % 256 == 0 && std::chrono::steady_clock::now() - start > kSpin) generation_.wait(seen);
    }
    seen = generation_.load();
    inside_.fetch_add(1);
    if (open_.load() && jobGen_.load() == seen) claimChunks();
    inside_.fetch_sub(1);
  }
}

void ThreadPool::run(int chunks, const std::function<void(int, int)>& fn) {
  if (chunks <= 0) return;
  if (chunks == 1 || threads_ <= 1) {
    for (int c = 0; c < chunks; ++c) fn(c, chunks);
    return;
  }
  // Addons loaded by several JS worker threads share this pool: a second caller runs serially.
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) {
    for (int c = 0; c < chunks; ++c) fn(c, chunks);
    return;
  }
  ensureWorkers(threads_ - 1);
  job_.store(&fn);
  chunks_.store(chunks);
  next_.store(0);
  const uint32_t gen = generation_.load() + 1;
  jobGen_.store(gen);
  open_.store(true);
  generation_.store(gen);
  generation_.notify_all();
  claimChunks();
  open_.store(false);
  while (inside_.load() != 0) CR_PAUSE();  // only workers holding a claimed chunk (or just leaving)
}

}  // namespace chainrule
