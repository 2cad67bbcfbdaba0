// The digest cache's own logic: hits, coalescing, TTLs, LRU bound, the waiter's deadline. The
// fetch here is a function the test answers by hand, because these properties are about timing
// and interleaving the test must control; the real registry path is covered end to end in
// tests/integration/image_resolution_test.cpp.

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"
#include "registry/digest_cache.h"

using namespace podgate;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

image::Reference ref(const char* text) { return *image::parse(text).reference; }

// A fetch that records each call and lets the test answer it later.
struct ManualFetch {
  std::mutex mutex;
  std::vector<std::pair<image::Reference, std::function<void(registry::Resolution)>>> calls;

  registry::DigestCache::Fetch function() {
    return [this](const image::Reference& r, std::function<void(registry::Resolution)> done) {
      std::lock_guard<std::mutex> lock(mutex);
      calls.emplace_back(r, std::move(done));
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return calls.size();
  }
  void answer(std::size_t i, registry::Resolution r) {
    std::function<void(registry::Resolution)> done;
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = std::move(calls.at(i).second);
    }
    done(std::move(r));
  }
};

registry::Resolution ok(const char* digest) {
  registry::Resolution r;
  r.digest = digest;
  return r;
}

const char* kDigestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const char* kDigestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

// Collects one callback's result.
struct Slot {
  std::mutex mutex;
  std::condition_variable cv;
  registry::DigestCache::Result result;
  bool set = false;
  registry::DigestCache::Callback callback() {
    return [this](registry::DigestCache::Result r) {
      std::lock_guard<std::mutex> lock(mutex);
      REQUIRE_FALSE(set);  // exactly once
      result = std::move(r);
      set = true;
      cv.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, timeout, [this] { return set; });
  }
};

}  // namespace

TEST_CASE("a miss fetches once, then the entry is a hit until its TTL", "[registry][cache]") {
  ManualFetch fetch;
  metrics::Metrics metrics;
  registry::DigestCache cache(fetch.function(), {200ms, 50ms, 10}, &metrics);
  Slot first;
  cache.resolve(ref("nginx:1"), Clock::now() + 5s, first.callback());
  REQUIRE(fetch.count() == 1);
  CHECK(fetch.calls[0].first.canonical() == "docker.io/library/nginx:1");
  CHECK_FALSE(first.set);
  fetch.answer(0, ok(kDigestA));
  REQUIRE(first.wait(1s));
  CHECK(first.result->digest == kDigestA);

  Slot second;
  cache.resolve(ref("docker.io/library/nginx:1"), Clock::now() + 5s, second.callback());
  CHECK(second.set);  // inline: the same reference, normalised
  CHECK(fetch.count() == 1);
  CHECK(cache.size() == 1);
  const std::string text = metrics.serialize();
  CHECK(text.find("podgate_image_digest_cache_lookups_total{result=\"hit\"} 1") != std::string::npos);
  CHECK(text.find("podgate_image_digest_cache_lookups_total{result=\"miss\"} 1") != std::string::npos);

  std::this_thread::sleep_for(250ms);  // past the TTL: the next request asks again
  Slot third;
  cache.resolve(ref("nginx:1"), Clock::now() + 5s, third.callback());
  CHECK(fetch.count() == 2);
  fetch.answer(1, ok(kDigestB));
  REQUIRE(third.wait(1s));
  CHECK(third.result->digest == kDigestB);
}

TEST_CASE("concurrent misses for one reference share one fetch", "[registry][cache][concurrency]") {
  ManualFetch fetch;
  metrics::Metrics metrics;
  registry::DigestCache cache(fetch.function(), {60s, 5s, 100}, &metrics);
  constexpr int kWaiters = 50;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < kWaiters; ++i) slots.push_back(std::make_unique<Slot>());
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i)
    threads.emplace_back([&, i] { cache.resolve(ref("ghcr.io/o/app:2"), Clock::now() + 5s, slots[i]->callback()); });
  for (auto& t : threads) t.join();
  REQUIRE(fetch.count() == 1);
  CHECK(cache.in_flight() == 1);
  fetch.answer(0, ok(kDigestA));
  for (auto& s : slots) {
    REQUIRE(s->wait(1s));
    CHECK(s->result->digest == kDigestA);
  }
  CHECK(cache.in_flight() == 0);
  const std::string text = metrics.serialize();
  CHECK(text.find("podgate_image_digest_cache_lookups_total{result=\"coalesced\"} 49") != std::string::npos);
}

TEST_CASE("failures are cached for errorTTL only, a 429 for its Retry-After", "[registry][cache]") {
  ManualFetch fetch;
  registry::DigestCache cache(fetch.function(), {60s, 100ms, 100}, nullptr);
  Slot a;
  cache.resolve(ref("a/b:1"), Clock::now() + 5s, a.callback());
  registry::Resolution down;
  down.failure = registry::Failure::Unreachable;
  down.error = "connection refused";
  fetch.answer(0, down);
  REQUIRE(a.wait(1s));
  CHECK(a.result->failure == registry::Failure::Unreachable);
  CHECK(cache.peek(ref("a/b:1")) != nullptr);
  std::this_thread::sleep_for(150ms);
  CHECK(cache.peek(ref("a/b:1")) == nullptr);

  Slot b;
  cache.resolve(ref("a/b:2"), Clock::now() + 5s, b.callback());
  registry::Resolution limited;
  limited.failure = registry::Failure::RateLimited;
  limited.retryAfter = std::chrono::seconds(2);
  fetch.answer(1, limited);
  REQUIRE(b.wait(1s));
  std::this_thread::sleep_for(150ms);  // past errorTTL, within Retry-After
  CHECK(cache.peek(ref("a/b:2")) != nullptr);
}

TEST_CASE("a waiter gets a timeout at its deadline, the late answer is still cached", "[registry][cache][concurrency]") {
  ManualFetch fetch;
  registry::DigestCache cache(fetch.function(), {60s, 5s, 100}, nullptr);
  Slot slow;
  const auto started = Clock::now();
  cache.resolve(ref("slow.example.com/x:1"), started + 100ms, slow.callback());
  REQUIRE(slow.wait(2s));
  CHECK(Clock::now() - started >= 100ms);
  CHECK(slow.result->failure == registry::Failure::Timeout);
  CHECK(slow.result->error.find("slow.example.com") != std::string::npos);
  fetch.answer(0, ok(kDigestA));  // after the waiter gave up: no second callback (Slot checks)
  auto cached = cache.peek(ref("slow.example.com/x:1"));
  REQUIRE(cached);
  CHECK(cached->digest == kDigestA);
}

TEST_CASE("entries are bounded, least recently used first out", "[registry][cache]") {
  ManualFetch fetch;
  registry::DigestCache cache(fetch.function(), {60s, 5s, 2}, nullptr);
  auto fill = [&](const char* text) {
    Slot s;
    cache.resolve(ref(text), Clock::now() + 5s, s.callback());
    fetch.answer(fetch.count() - 1, ok(kDigestA));
    REQUIRE(s.wait(1s));
  };
  fill("r/a:1");
  fill("r/b:1");
  CHECK(cache.peek(ref("r/a:1")));  // touch a: b is now the oldest
  fill("r/c:1");
  CHECK(cache.size() == 2);
  CHECK(cache.peek(ref("r/a:1")));
  CHECK_FALSE(cache.peek(ref("r/b:1")));
  CHECK(cache.peek(ref("r/c:1")));
}

TEST_CASE("a fetch that answers inline is handled", "[registry][cache]") {
  registry::DigestCache cache(
      [](const image::Reference&, std::function<void(registry::Resolution)> done) { done(ok(kDigestB)); },
      {60s, 5s, 10}, nullptr);
  Slot s;
  cache.resolve(ref("r/inline:1"), Clock::now() + 5s, s.callback());
  REQUIRE(s.set);
  CHECK(s.result->digest == kDigestB);
}

// The credential is part of the key: what one pod's pull secret earned is never what a request
// without it gets. The chooser here is Client::credential_for's rule (the pod's keyring first,
// then the configured files), written out so the test needs no client.
TEST_CASE("a resolution made with a pod's credential is not served to a request without it", "[registry][cache]") {
  registry::Keyring configured;  // the configured files: nothing for this registry
  configured.add_json(R"({"auths":{"other.io":{"username":"node","password":"n"}}})", "files");
  registry::Keyring podA;
  podA.add_json(R"({"auths":{"private.io":{"username":"team-a","password":"secret-a"}}})", "secret team/a");
  registry::Keyring podAAgain;  // another request naming the same Secret: an equal credential
  podAAgain.add_json(R"({"auths":{"private.io":{"username":"team-a","password":"secret-a"}}})", "secret team/a");
  registry::Keyring podB;  // same user name, another password: must not share A's entry
  podB.add_json(R"({"auths":{"private.io":{"username":"team-a","password":"guess"}}})", "secret other/b");

  std::mutex mutex;
  std::vector<std::optional<registry::Credential>> sent;
  std::vector<std::function<void(registry::Resolution)>> pending;
  registry::DigestCache cache(
      [&configured](const image::Reference& r, const registry::Keyring* pod) {
        if (pod)
          if (auto c = pod->find(r.domain, r.path)) return c;
        return configured.find(r.domain, r.path);
      },
      [&](const image::Reference&, const std::optional<registry::Credential>& credential,
          std::function<void(registry::Resolution)> done) {
        std::lock_guard<std::mutex> lock(mutex);
        sent.push_back(credential);
        pending.push_back(std::move(done));
      },
      {60s, 5s, 100}, nullptr);
  const auto image = ref("private.io/team/app:1");

  // Pod A resolves with its Secret; the registry answers.
  Slot a;
  cache.resolve(image, &podA, Clock::now() + 5s, a.callback());
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0]);
  CHECK(sent[0]->password == "secret-a");
  pending[0](ok(kDigestA));
  REQUIRE(a.set);
  CHECK(a.result->ok());
  CHECK(cache.peek(image, &podA));

  // A request with no pull secret: not a hit, its own (anonymous) fetch, and its own answer.
  CHECK_FALSE(cache.peek(image));
  Slot anonymous;
  cache.resolve(image, nullptr, Clock::now() + 5s, anonymous.callback());
  REQUIRE(sent.size() == 2);
  CHECK_FALSE(sent[1]);
  registry::Resolution refused;
  refused.failure = registry::Failure::Unauthorized;
  pending[1](refused);
  REQUIRE(anonymous.set);
  CHECK(anonymous.result->failure == registry::Failure::Unauthorized);

  // The same user name with another password: a fetch of its own too.
  Slot b;
  cache.resolve(image, &podB, Clock::now() + 5s, b.callback());
  REQUIRE(sent.size() == 3);
  CHECK(sent[2]->password == "guess");
  pending[2](refused);
  CHECK(b.result->failure == registry::Failure::Unauthorized);

  // Another request naming an equal credential shares A's entry: a hit, no fetch.
  Slot again;
  cache.resolve(image, &podAAgain, Clock::now() + 5s, again.callback());
  REQUIRE(again.set);
  CHECK(again.result->digest == kDigestA);
  CHECK(sent.size() == 3);
  CHECK(cache.size() == 3);
}

TEST_CASE("credential ids name a credential without containing it", "[registry][cache]") {
  registry::Credential c{"user", "p@ss", ""};
  const std::string id = registry::credential_id(c);
  CHECK(id.starts_with("cred:"));
  CHECK(id.find("p@ss") == std::string::npos);
  CHECK(id == registry::credential_id(registry::Credential{"user", "p@ss", ""}));
  CHECK(id != registry::credential_id(registry::Credential{"user", "p@sS", ""}));
  CHECK(registry::credential_id(registry::Credential{"ab", "c", ""}) != registry::credential_id(registry::Credential{"a", "bc", ""}));
  CHECK(registry::credential_id(std::nullopt) == "anonymous");
}
