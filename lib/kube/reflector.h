#pragma once
// A reflector, client-go's contract: list a collection page by page, then watch it from the list's
// resourceVersion (with bookmarks), hand every object and event to a sink, relist on 410 Gone,
// and reconnect with client-go's backoff. One thread per reflector; the sink is called by one
// thread at a time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kube/client.h"

namespace podgate::kube {

struct ReflectorOptions {
  std::string resource;       // the plural, for metrics and logs: "imagescans"
  std::string path;           // the collection: "/apis/podgate.io/v1alpha1/imagescans"
  std::string labelSelector;  // "" for all
  int pageSize = 500;         // client-go's pager default
  std::size_t maxEventBytes = 8u << 20;  // one watch event; a larger one restarts with a relist
  std::chrono::seconds minWatchTimeout{300}, maxWatchTimeout{600};  // client-go: random in [5, 10] min
  // client-go's reflector backoff: 800 ms doubling to 30 s, jitter 1.0, reset after 2 min of health.
  std::chrono::milliseconds backoffInitial{800}, backoffMax{30000};
  // Watch from here instead of listing first; a 410 relists (counted as a relist). For tests that
  // need a watch from a known, possibly compacted, resourceVersion. "" (the default): list first.
  std::string resumeFrom;
};

// Where a reflector puts what it sees. `key` is "namespace/name" or "name" (cluster-scoped).
class ReflectorSink {
 public:
  virtual ~ReflectorSink() = default;
  // A full list begins; every object follows through upsert(); at list_end() the objects not seen
  // since list_begin() are gone (the sink drops them).
  virtual void list_begin() = 0;
  virtual void list_end() = 0;
  virtual void upsert(std::string_view key, std::string_view objectJson) = 0;  // list item, ADDED, MODIFIED
  virtual void remove(std::string_view key) = 0;                               // DELETED
};

class Reflector {
 public:
  Reflector(Client& client, ReflectorOptions options, ReflectorSink& sink);
  ~Reflector();  // stops
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  void stop();
  // One full list into the sink on the caller's thread, paged, with no watch after it: for
  // one-shot commands (`podgate audit`). Not with start(). "" when it worked, else why not.
  std::string list_once();
  // true once the first full list reached the sink.
  bool synced() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;
  bool watching() const;  // a watch is open now
  std::chrono::system_clock::time_point last_event() const;  // an event, a bookmark or a list
  std::string last_error() const;                             // "" when the last attempt worked
  std::int64_t lists() const;                                 // full lists done (the first included)
  std::int64_t bookmarks() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::kube
