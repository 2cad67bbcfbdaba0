#include "registry/timers.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

namespace podgate::registry {

namespace net = boost::asio;

struct Timers::Impl {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};

  ~Impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
};

namespace {

class TimerHandle final : public Timers::Handle, public std::enable_shared_from_this<TimerHandle> {
 public:
  explicit TimerHandle(net::io_context& io) : timer_(io) {}
  void start(std::chrono::steady_clock::time_point when, std::function<void()> callback) {
    // Arm on the timer thread: steady_timer is not safe to touch from two threads at once.
    net::post(timer_.get_executor(), [self = shared_from_this(), when, cb = std::move(callback)]() mutable {
      if (self->cancelled_) return;
      self->timer_.expires_at(when);
      self->timer_.async_wait([self, cb = std::move(cb)](const boost::system::error_code& ec) {
        if (!ec && !self->cancelled_) cb();
      });
    });
  }
  void cancel() override {
    net::post(timer_.get_executor(), [self = shared_from_this()] {
      self->cancelled_ = true;
      self->timer_.cancel();
    });
  }

 private:
  net::steady_timer timer_;
  bool cancelled_ = false;  // timer thread only
};

}  // namespace

Timers& Timers::shared() {
  static Timers* instance = new Timers();  // intentionally never deleted (see the header)
  return *instance;
}

Timers::Timers() : impl_(std::make_unique<Impl>()) {}
Timers::~Timers() = default;

std::shared_ptr<Timers::Handle> Timers::at(std::chrono::steady_clock::time_point when, std::function<void()> callback) {
  auto handle = std::make_shared<TimerHandle>(impl_->io);
  handle->start(when, std::move(callback));
  return handle;
}

}  // namespace podgate::registry
