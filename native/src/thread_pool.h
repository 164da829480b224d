// A persistent pool: worker threads are started once and reused by every parallel call, so a
// call pays a wake-up (or nothing, while workers are still spinning from the previous call)
// instead of thread creation. The calling thread always takes part as thread 0.
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

  /** Threads a parallel call uses, the caller included (1 = run inline). */
  int threads() const { return threads_; }
  void setThreads(int n);
  /** Starts the workers now, so the first parallel call does not pay for thread creation. */
  void warmUp() { ensureWorkers(threads_ - 1); }

  /** Runs fn(t, nt) for t in [0, nt) with nt = min(parts, threads()); returns when all are done. */
  void run(int parts, const std::function<void(int, int)>& fn);

 private:
  ThreadPool();
  void ensureWorkers(int count);
  void workerLoop(int id, uint32_t seen);

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::mutex busy_;  // one parallel job at a time; a concurrent caller runs its job inline
  int active_ = 0;  // workers taking part in the current job
  const std::function<void(int, int)>* job_ = nullptr;
};

}  // namespace chainrule
