#pragma once
// One background thread that runs callbacks at deadlines: the admission deadline of a review
// waiting on the registry, and the end of a registry call's time budget. Waiting threads would
// cost one thread per waiting review; this costs one thread in all.

#include <chrono>
#include <functional>
#include <memory>

namespace podgate::registry {

class Timers {
 public:
  // The process-wide instance. Never destroyed: callbacks may hold the last reference to objects
  // whose destructors would otherwise have to join the timer thread from the timer thread.
  static Timers& shared();

  Timers();
  ~Timers();  // pending callbacks never run
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  class Handle {
   public:
    virtual ~Handle() = default;
    virtual void cancel() = 0;  // the callback will not run (unless it is already running)
  };
  // Runs `callback` on the timer thread at `when` (at once if it has passed).
  std::shared_ptr<Handle> at(std::chrono::steady_clock::time_point when, std::function<void()> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::registry
