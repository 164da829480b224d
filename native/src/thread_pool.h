// A persistent pool: worker threads are started once and reused by every parallel call. A call
// is split into chunks that threads claim one at a time from a shared counter; the calling
// thread always takes part, and returns once every chunk is done. It never waits for a worker
// that has not woken up (on a loaded machine a sleeping worker simply gets no chunk), only for
// chunks a worker has already claimed. Chunks must not depend on which thread runs them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chainrule {

class ThreadPool {
 public:
  static ThreadPool& instance();

  /** Threads a parallel call may use, the caller included (1 = run inline). */
  int threads() const { return threads_; }
  void setThreads(int n);
  /** Starts the workers now, so the first parallel call does not pay for thread creation. */
  void warmUp() { ensureWorkers(threads_ - 1); }

  /** Runs fn(c, chunks) for every c in [0, chunks), on the caller and any idle workers. */
  void run(int chunks, const std::function<void(int, int)>& fn);

 private:
  ThreadPool();
  void ensureWorkers(int count);
  void workerLoop(uint32_t seen);
  void claimChunks();

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};  // bumped to wake workers for a new job
  std::atomic<uint32_t> jobGen_{0};      // the generation the current job belongs to
  std::atomic<bool> open_{false};        // the current job still accepts workers
  std::atomic<int> inside_{0};           // workers between checking in and checking out
  std::atomic<int> next_{0};             // next unclaimed chunk
  std::atomic<int> chunks_{0};
  std::atomic<const std::function<void(int, int)>*> job_{nullptr};
  std::mutex busy_;  // one parallel job at a time; a concurrent caller runs its job inline
};

}  // namespace chainrule
