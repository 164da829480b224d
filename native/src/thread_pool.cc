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
  threads_ = hc == 0 ? 1 : static_cast<int>(hc);
  if (const char* env = std::getenv("CHAINRULE_NATIVE_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) threads_ = n;
  }
}

void ThreadPool::setThreads(int n) {
  threads_ = std::max(1, n);
  ensureWorkers(threads_ - 1);
}

void ThreadPool::ensureWorkers(int count) {
  while (static_cast<int>(workers_.size()) < count) {
    int id = static_cast<int>(workers_.size()) + 1;
    // The worker starts from the current generation, so a job posted before it runs is not missed.
    const uint32_t seen = generation_.load(std::memory_order_acquire);
    workers_.emplace_back([this, id, seen] { workerLoop(id, seen); });
    workers_.back().detach();
  }
}

void ThreadPool::workerLoop(int id, uint32_t seen) {
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      CR_PAUSE();
      if (++polls % 256 == 0 && std::chrono::steady_clock::now() - start > kSpin) {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (id < active_) (*job_)(id, active_);
    // Every worker acknowledges every generation, active or not, so none can lag a job behind.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::run(int parts, const std::function<void(int, int)>& fn) {
  int nt = std::max(1, std::min(parts, threads_));
  if (nt == 1) {
    fn(0, 1);
    return;
  }
  // Addons loaded by several JS worker threads share this pool: a second caller runs serially.
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) {
    for (int t = 0; t < nt; ++t) fn(t, nt);
    return;
  }
  ensureWorkers(nt - 1);
  job_ = &fn;
  active_ = nt;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  fn(0, nt);
  int left;
  int polls = 0;
  while ((left = pending_.load(std::memory_order_acquire)) != 0) {
    if (++polls < 4096) CR_PAUSE();
    else pending_.wait(left, std::memory_order_acquire);
  }
}

}  // namespace chainrule
