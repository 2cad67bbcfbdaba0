// PullSecretCache: which Secrets a request leads to, how they are read, decoded, matched, cached
// and bounded, and that their contents never reach a log line. The apiserver here is a fake
// fetcher (a map from request path to answer) so each test controls exactly what the cluster
// says and counts every read; the real apiserver is used by the end-to-end test.

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "admission/admission.h"
#include "metrics/metrics.h"
#include "policy/pull_secrets.h"
#include "policy/review.h"
#include "support/log_capture.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
namespace t = podgate::testing;

namespace {

std::string base64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// {"<key>":{"auth":base64(user:pass)}, ...}
std::string auths(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = "{";
  for (std::size_t i = 0; i < entries.size(); ++i)
    out += (i ? "," : "") + std::string("\"") + entries[i].first + "\":{\"auth\":\"" + base64(entries[i].second) + "\"}";
  return out + "}";
}

std::string secret(const std::string& type, const std::string& key, const std::string& decoded) {
  return R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"type":")" + type + R"(","data":{")" + key +
         R"(":")" + base64(decoded) + R"("}})";
}
std::string dockerconfigjson(const std::vector<std::pair<std::string, std::string>>& entries) {
  return secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", "{\"auths\":" + auths(entries) + "}");
}
std::string dockercfg(const std::vector<std::pair<std::string, std::string>>& entries) {
  return secret("kubernetes.io/dockercfg", ".dockercfg", auths(entries));
}
std::string service_account(const std::vector<std::string>& pullSecrets) {
  std::string list;
  for (std::size_t i = 0; i < pullSecrets.size(); ++i) list += (i ? "," : "") + std::string("{\"name\":\"") + pullSecrets[i] + "\"}";
  return R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa"},"imagePullSecrets":[)" + list + "]}";
}

std::string secret_path(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/secrets/" + name;
}
std::string account_path(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/serviceaccounts/" + name;
}

// The fake apiserver: answers by path (404 for anything unknown) and counts the reads.
struct FakeApi {
  std::mutex mutex;
  std::map<std::string, kube::Response> answers;
  std::map<std::string, int> reads;
  std::vector<std::string> resources;

  void set(const std::string& path, int status, std::string body) {
    std::lock_guard<std::mutex> lock(mutex);
    answers[path] = kube::Response{status, std::move(body), "", ""};
  }
  int count(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex);
    return reads[path];
  }
  int total() {
    std::lock_guard<std::mutex> lock(mutex);
    int n = 0;
    for (const auto& [path, c] : reads) n += c;
    return n;
  }
  policy::KubeGet function() {
    return [this](std::string_view resource, std::string_view target) {
      std::lock_guard<std::mutex> lock(mutex);
      resources.emplace_back(resource);
      ++reads[std::string(target)];
      auto it = answers.find(std::string(target));
      if (it != answers.end()) return it->second;
      return kube::Response{404, R"({"kind":"Status","reason":"NotFound","message":"not found","code":404})", "", ""};
    };
  }
};

std::optional<registry::Credential> find(const std::shared_ptr<const registry::Keyring>& keyring, const char* host,
                                         const char* path) {
  if (!keyring) return std::nullopt;
  return keyring->find(host, path);
}

std::string user_of(const std::shared_ptr<const registry::Keyring>& keyring, const char* host, const char* path) {
  auto c = find(keyring, host, path);
  return c ? c->username : std::string("<none>");
}

admission::DecodeResult decode(const t::WorkloadKind& kind, const std::string& spec, const std::string& ns = "team") {
  auto decoded = admission::decode(t::create_review(kind, spec, ns));
  REQUIRE(decoded);
  return decoded;
}

}  // namespace

TEST_CASE("pull_secret_refs: a Pod's own list as given, and a template's list, else its service account's") {
  const std::string withList = t::pod_spec({t::list("containers", {t::container("app", "reg.io/a:1")}),
                                            R"("serviceAccountName":"builder")",
                                            R"("imagePullSecrets":[{"name":"one"},{"name":"two"},{"name":"one"},{}])"});
  const std::string withoutList = t::pod_spec({t::list("containers", {t::container("app", "reg.io/a:1")}),
                                               R"("serviceAccountName":"builder")"});
  const std::string bare = t::pod_spec({t::list("containers", {t::container("app", "reg.io/a:1")})});

  SECTION("a Pod: its list (already merged with its service account's on CREATE), never a service account read") {
    auto refs = policy::pull_secret_refs(decode(t::pod_kind(), withList).review->request());
    CHECK(refs.namespace_ == "team");
    CHECK(refs.secrets == std::vector<std::string>{"one", "two"});
    CHECK(refs.serviceAccount.empty());
    auto none = policy::pull_secret_refs(decode(t::pod_kind(), withoutList).review->request());
    CHECK(none.secrets.empty());
    CHECK(none.serviceAccount.empty());
    CHECK(none.empty());
  }
  SECTION("every template kind: its own list wins; an empty one means the service account's") {
    for (const auto& k : t::workload_kinds()) {
      if (k.kind == "Pod") continue;
      INFO(k.kind << " " << k.version);
      auto own = policy::pull_secret_refs(decode(k, withList).review->request());
      CHECK(own.secrets == std::vector<std::string>{"one", "two"});
      CHECK(own.serviceAccount.empty());
      auto viaAccount = policy::pull_secret_refs(decode(k, withoutList).review->request());
      CHECK(viaAccount.secrets.empty());
      CHECK(viaAccount.serviceAccount == "builder");
      CHECK(policy::pull_secret_refs(decode(k, bare).review->request()).serviceAccount == "default");
    }
  }
  SECTION("a wrongly typed imagePullSecrets is refused by the decoder, as every judged field is") {
    auto bad = admission::decode(t::create_review(
        t::pod_kind(), t::pod_spec({t::list("containers", {t::container("app", "x:1")}), R"("imagePullSecrets":"one")"})));
    CHECK_FALSE(bad);
  }
}

TEST_CASE("keyring: a Pod's Secrets are read in its namespace and matched to the registry they name") {
  FakeApi api;
  api.set(secret_path("team", "one"), 200, dockerconfigjson({{"reg.io", "alice:pw1"}}));
  api.set(secret_path("team", "two"), 200, dockerconfigjson({{"reg.io", "bob:pw2"}, {"other.io", "bob:pw3"}}));
  metrics::Metrics metrics;
  policy::PullSecretCache cache(api.function(), {}, &metrics, nullptr);

  auto keyring = cache.keyring("team", {"one", "two"}, "");
  REQUIRE(keyring);
  CHECK(user_of(keyring, "reg.io", "x/app") == "alice");  // the first Secret wins among equal keys
  CHECK(find(keyring, "reg.io", "x/app")->password == "pw1");
  CHECK(user_of(keyring, "other.io", "x/app") == "bob");
  CHECK(user_of(keyring, "third.io", "x/app") == "<none>");
  CHECK(api.count(secret_path("team", "one")) == 1);
  CHECK(api.count(account_path("team", "default")) == 0);
  CHECK(api.resources == std::vector<std::string>{"secrets", "secrets"});

  // Cached: no second read, and cached() answers from memory.
  CHECK(user_of(cache.keyring("team", {"one", "two"}, ""), "reg.io", "x") == "alice");
  CHECK(api.total() == 2);
  policy::PullSecretRefs refs{"team", {"two"}, ""};
  auto fromMemory = cache.cached(refs);
  REQUIRE(fromMemory);
  CHECK(user_of(*fromMemory, "reg.io", "x") == "bob");
  CHECK_FALSE(cache.cached(policy::PullSecretRefs{"elsewhere", {"two"}, ""}));  // another namespace: not read yet
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="found"} 2)"));
}

TEST_CASE("keyring: an empty list reads the service account's pull secrets, and a given list never does") {
  FakeApi api;
  api.set(account_path("team", "builder"), 200, service_account({"sa-secret"}));
  api.set(secret_path("team", "sa-secret"), 200, dockerconfigjson({{"reg.io", "robot:pw"}}));
  api.set(secret_path("team", "own"), 200, dockerconfigjson({{"reg.io", "own:pw"}}));
  policy::PullSecretCache cache(api.function(), {}, nullptr, nullptr);

  CHECK(user_of(cache.keyring("team", {}, "builder"), "reg.io", "a") == "robot");
  CHECK(api.count(account_path("team", "builder")) == 1);
  CHECK(user_of(cache.keyring("team", {"own"}, "builder"), "reg.io", "a") == "own");
  CHECK(api.count(account_path("team", "builder")) == 1);
  // A Pod passes no service account: nothing to read.
  CHECK_FALSE(cache.keyring("team", {}, ""));
  CHECK(api.total() == 3);
  // The service account's answer is cached too.
  CHECK(cache.cached(policy::PullSecretRefs{"team", {}, "builder"}).has_value());
  // A missing service account: no credentials, a negative entry.
  CHECK_FALSE(cache.keyring("team", {}, "ghost"));
  CHECK_FALSE(cache.keyring("team", {}, "ghost"));
  CHECK(api.count(account_path("team", "ghost")) == 1);
}

TEST_CASE("keyring: a missing Secret is left out, counted, cached as missing, and the others still count") {
  FakeApi api;
  api.set(secret_path("team", "present"), 200, dockerconfigjson({{"reg.io", "alice:pw"}}));
  metrics::Metrics metrics;
  policy::PullSecretCache cache(api.function(), {}, &metrics, nullptr);
  CHECK(user_of(cache.keyring("team", {"missing", "present"}, ""), "reg.io", "a") == "alice");
  CHECK_FALSE(cache.keyring("team", {"missing"}, ""));
  CHECK(api.count(secret_path("team", "missing")) == 1);  // the 404 is remembered for the TTL
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="not_found"} 1)"));
}

TEST_CASE("keyring: only docker config Secrets of the matching type and key count") {
  FakeApi api;
  api.set(secret_path("team", "opaque"), 200, secret("Opaque", ".dockerconfigjson", "{\"auths\":" + auths({{"reg.io", "a:b"}}) + "}"));
  api.set(secret_path("team", "mismatch"), 200,
          secret("kubernetes.io/dockerconfigjson", ".dockercfg", auths({{"reg.io", "a:b"}})));
  api.set(secret_path("team", "tls"), 200, secret("kubernetes.io/tls", "tls.crt", "cert"));
  api.set(secret_path("team", "legacy"), 200, dockercfg({{"https://index.docker.io/v1/", "hub:pw"}}));
  metrics::Metrics metrics;
  policy::PullSecretCache cache(api.function(), {}, &metrics, nullptr);

  CHECK_FALSE(cache.keyring("team", {"opaque", "mismatch", "tls"}, ""));
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="wrong_type"} 3)"));
  // A legacy .dockercfg Secret: the bare map; its Docker Hub key serves docker.io images.
  auto legacy = cache.keyring("team", {"legacy"}, "");
  CHECK(user_of(legacy, "docker.io", "library/nginx") == "hub");
  CHECK(user_of(legacy, "ghcr.io", "library/nginx") == "<none>");
}

TEST_CASE("keyring: wildcard, port and path keys match with the keyring's rules") {
  FakeApi api;
  api.set(secret_path("team", "keys"), 200,
          dockerconfigjson({{"*.example.com", "wild:pw"},
                            {"reg.example.com:5000", "port:pw"},
                            {"https://quay.io/team", "path:pw"},
                            {"quay.io", "host:pw"}}));
  policy::PullSecretCache cache(api.function(), {}, nullptr, nullptr);
  auto k = cache.keyring("team", {"keys"}, "");
  REQUIRE(k);
  // A glob label matches exactly one label.
  CHECK(user_of(k, "a.example.com", "x") == "wild");
  CHECK(user_of(k, "example.com", "x") == "<none>");
  CHECK(user_of(k, "a.b.example.com", "x") == "<none>");
  // Ports must be equal.
  CHECK(user_of(k, "reg.example.com:5000", "x") == "port");
  CHECK(user_of(k, "reg.example.com", "x") == "wild");
  CHECK(user_of(k, "reg.example.com:5001", "x") == "<none>");
  // A path key is a prefix at a '/' boundary (lib/registry/credentials.cpp path_matches), and the
  // most specific key wins.
  CHECK(user_of(k, "quay.io", "team/app") == "path");
  CHECK(user_of(k, "quay.io", "team") == "path");
  CHECK(user_of(k, "quay.io", "teamx/app") == "host");
  CHECK(user_of(k, "quay.io", "other/app") == "host");
}

TEST_CASE("keyring: answers expire after the TTL and are read again") {
  FakeApi api;
  api.set(secret_path("team", "s"), 200, dockerconfigjson({{"reg.io", "v1:pw"}}));
  policy::PullSecretOptions options;
  options.ttl = 100ms;
  policy::PullSecretCache cache(api.function(), options, nullptr, nullptr);
  CHECK(user_of(cache.keyring("team", {"s"}, ""), "reg.io", "a") == "v1");
  api.set(secret_path("team", "s"), 200, dockerconfigjson({{"reg.io", "v2:pw"}}));  // rotated
  CHECK(user_of(cache.keyring("team", {"s"}, ""), "reg.io", "a") == "v1");
  CHECK(api.count(secret_path("team", "s")) == 1);
  std::this_thread::sleep_for(150ms);
  CHECK_FALSE(cache.cached(policy::PullSecretRefs{"team", {"s"}, ""}));
  CHECK(user_of(cache.keyring("team", {"s"}, ""), "reg.io", "a") == "v2");
  CHECK(api.count(secret_path("team", "s")) == 2);
}

TEST_CASE("keyring: a 403 (no RBAC) is counted, logged once and not read again within the TTL") {
  FakeApi api;
  api.set(secret_path("team", "s"), 403,
          R"({"kind":"Status","reason":"Forbidden","message":"secrets \"s\" is forbidden: User \"system:serviceaccount:podgate:podgate\" cannot get resource \"secrets\"","code":403})");
  metrics::Metrics metrics;
  test::LogCapture capture;
  log::Logger logger(capture.writer(), log::Level::Debug);
  policy::PullSecretCache cache(api.function(), {}, &metrics, &logger);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(cache.keyring("team", {"s"}, ""));
  CHECK(api.count(secret_path("team", "s")) == 1);
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="forbidden"} 1)"));
  const std::string logs = capture.drain();
  CHECK(std::count(logs.begin(), logs.end(), '\n') == 1);
  CHECK_THAT(logs, Contains(R"("namespace":"team")"));
  CHECK_THAT(logs, Contains(R"("result":"forbidden")"));
}

TEST_CASE("keyring: other failures are counted as errors, and names that are not object names are never read") {
  FakeApi api;
  api.set(secret_path("team", "down"), 0, "");
  api.set(secret_path("team", "garbage"), 200, "not json");
  api.set(secret_path("team", "badjson"), 200, secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", "{nope"));
  metrics::Metrics metrics;
  policy::PullSecretCache cache(api.function(), {}, &metrics, nullptr);
  CHECK_FALSE(cache.keyring("team", {"down", "garbage", "badjson"}, ""));
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="error"} 3)"));

  const int before = api.total();
  CHECK_FALSE(cache.keyring("team", {"../../../api/v1/namespaces/kube-system/secrets/x", "UPPER", "a/b", ""}, ""));
  CHECK_FALSE(cache.keyring("kube-system/../other", {"s"}, ""));
  CHECK_FALSE(cache.keyring("team", {}, "../admin"));
  CHECK(api.total() == before);

  // A fetcher that throws is an error like any other.
  policy::PullSecretCache throwing([](std::string_view, std::string_view) -> kube::Response { throw std::runtime_error("boom"); },
                                   {}, &metrics, nullptr);
  CHECK_FALSE(throwing.keyring("team", {"s"}, ""));
  CHECK_THAT(metrics.serialize(), Contains(R"(podgate_pull_secret_reads_total{result="error"} 4)"));
}

TEST_CASE("keyring: the cache is bounded in bytes, and a Secret over the budget is used but not kept") {
  FakeApi api;
  const std::string filler(3000, 'x');
  for (const char* name : {"a", "b", "c", "d"})
    api.set(secret_path("team", name), 200,
            secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                   "{\"auths\":" + auths({{"reg.io", std::string(name) + ":pw"}}) + ",\"pad\":\"" + filler + "\"}"));
  api.set(secret_path("team", "huge"), 200,
          secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                 "{\"auths\":" + auths({{"reg.io", "huge:pw"}}) + ",\"pad\":\"" + std::string(20000, 'y') + "\"}"));
  policy::PullSecretOptions options;
  options.maxBytes = 8000;
  policy::PullSecretCache cache(api.function(), options, nullptr, nullptr);
  for (const char* name : {"a", "b", "c", "d"}) CHECK(user_of(cache.keyring("team", {name}, ""), "reg.io", "x") == name);
  CHECK(cache.bytes() <= options.maxBytes);
  CHECK(cache.size() == 2);  // the two most recent
  CHECK(cache.cached(policy::PullSecretRefs{"team", {"d"}, ""}).has_value());
  CHECK_FALSE(cache.cached(policy::PullSecretRefs{"team", {"a"}, ""}).has_value());

  CHECK(user_of(cache.keyring("team", {"huge"}, ""), "reg.io", "x") == "huge");
  CHECK(user_of(cache.keyring("team", {"huge"}, ""), "reg.io", "x") == "huge");
  CHECK(api.count(secret_path("team", "huge")) == 2);
  CHECK(cache.bytes() <= options.maxBytes);

  SECTION("and in entries") {
    policy::PullSecretOptions few;
    few.maxEntries = 3;
    policy::PullSecretCache small(api.function(), few, nullptr, nullptr);
    for (int i = 0; i < 10; ++i) small.keyring("team", {"missing-" + std::to_string(i)}, "");
    CHECK(small.size() == 3);
  }
}

TEST_CASE("keyring: no read starts after the deadline") {
  FakeApi api;
  api.set(secret_path("team", "s"), 200, dockerconfigjson({{"reg.io", "a:pw"}}));
  policy::PullSecretCache cache(api.function(), {}, nullptr, nullptr);
  CHECK_FALSE(cache.keyring(policy::PullSecretRefs{"team", {"s"}, ""}, std::chrono::steady_clock::now() - 1ms));
  CHECK(api.total() == 0);
}

TEST_CASE("keyring: no Secret's contents reach the log, whatever goes wrong") {
  const std::string password = "hunter2-TOP-SECRET-pw";
  const std::string user = "deploy-robot";
  FakeApi api;
  // A broken "auth" value, invalid JSON around a password, a wrong type carrying a password, a
  // Status message, and a good Secret: only the failures log, and none of them the data.
  api.set(secret_path("team", "badauth"), 200,
          secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                 R"({"auths":{"reg.io":{"auth":"!!)" + password + R"(!!"}}})"));
  api.set(secret_path("team", "badjson"), 200,
          secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                 R"({"auths":{"reg.io":{"username":")" + user + R"(","password":")" + password + R"("}})"));
  api.set(secret_path("team", "opaque"), 200, secret("Opaque", "password", password));
  api.set(secret_path("team", "notbase64"), 200,
          R"({"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"*)" + password + R"(*"}})");
  api.set(secret_path("team", "good"), 200, dockerconfigjson({{"reg.io", user + ":" + password}}));
  test::LogCapture capture;
  log::Logger logger(capture.writer(), log::Level::Debug);
  policy::PullSecretCache cache(api.function(), {}, nullptr, &logger);
  auto keyring = cache.keyring("team", {"badauth", "badjson", "opaque", "notbase64", "good"}, "");
  REQUIRE(keyring);
  CHECK(find(keyring, "reg.io", "a")->password == password);
  const std::string logs = capture.drain();
  CHECK(std::count(logs.begin(), logs.end(), '\n') == 4);
  CHECK_THAT(logs, Contains("badauth") && Contains("badjson") && Contains("opaque") && Contains("notbase64"));
  CHECK(logs.find(password) == std::string::npos);
  CHECK(logs.find(base64(user + ":" + password)) == std::string::npos);
  CHECK(logs.find(base64(password)) == std::string::npos);
  CHECK(logs.find(user) == std::string::npos);
}

// The Reviewer's plumbing: the pod's Secret is read off the caller's thread, its credential reaches
// the registry fetch, and a pod without it is judged on its own (anonymous) resolution.
TEST_CASE("Reviewer: a pod's pull secret is read off-thread and resolves its image, and a pod without it does not") {
  FakeApi api;
  api.set(secret_path("team", "regcred"), 200, dockerconfigjson({{"private.io", "team:right"}}));
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> readOnCaller{false};
  auto fake = api.function();
  auto pullSecrets = std::make_shared<policy::PullSecretCache>(
      [&, fake](std::string_view resource, std::string_view target) {
        if (std::this_thread::get_id() == caller) readOnCaller = true;
        return fake(resource, target);
      },
      policy::PullSecretOptions{}, nullptr, nullptr);

  std::atomic<int> fetches{0};
  auto images = std::make_shared<registry::DigestCache>(
      [](const image::Reference& r, const registry::Keyring* pod) -> std::optional<registry::Credential> {
        return pod ? pod->find(r.domain, r.path) : std::nullopt;
      },
      [&fetches](const image::Reference&, const std::optional<registry::Credential>& credential,
                 std::function<void(registry::Resolution)> done) {
        ++fetches;
        registry::Resolution r;
        if (credential && credential->password == "right") {
          r.digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        } else {
          r.failure = registry::Failure::Unauthorized;
          r.error = "registry private.io refused access";
        }
        done(std::move(r));
      },
      registry::CacheOptions{}, nullptr);

  config::Config cfg;
  cfg.rules.images.action = config::Action::Deny;
  cfg.rules.images.resolve.pullSecrets = true;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(cfg), nullptr, nullptr, images, nullptr, pullSecrets);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const std::string app = t::list("containers", {t::container("app", "private.io/team/app:1")});

  auto with = reviewer.review(t::create_review(t::pod_kind(), t::pod_spec({app, R"("imagePullSecrets":[{"name":"regcred"}])"}), "team"),
                              policy::Route::Validate, deadline);
  CHECK(with.decision == policy::Decision::Allowed);
  CHECK(api.count(secret_path("team", "regcred")) == 1);
  CHECK_FALSE(readOnCaller);

  auto without = reviewer.review(t::create_review(t::pod_kind(), t::pod_spec({app}), "team"), policy::Route::Validate, deadline);
  CHECK(without.decision == policy::Decision::Denied);
  CHECK(fetches == 2);

  // The same Secret named in another namespace is that namespace's Secret (absent there): denied.
  auto elsewhere = reviewer.review(
      t::create_review(t::pod_kind(), t::pod_spec({app, R"("imagePullSecrets":[{"name":"regcred"}])"}), "other"),
      policy::Route::Validate, deadline);
  CHECK(elsewhere.decision == policy::Decision::Denied);
  CHECK(api.count(secret_path("other", "regcred")) == 1);

  // Second review of the first pod: the Secret and the digest come from memory.
  auto again = reviewer.review(t::create_review(t::pod_kind(), t::pod_spec({app, R"("imagePullSecrets":[{"name":"regcred"}])"}), "team"),
                               policy::Route::Validate, deadline);
  CHECK(again.decision == policy::Decision::Allowed);
  CHECK(api.count(secret_path("team", "regcred")) == 1);
  CHECK(fetches == 2);

  SECTION("with rules.images.resolve.pullSecrets off, no Secret is read") {
    config::Config off = cfg;
    off.rules.images.resolve.pullSecrets = false;
    reviewer.replace(std::make_shared<const policy::Evaluator>(off));
    const int before = api.total();
    auto r = reviewer.review(t::create_review(t::pod_kind(), t::pod_spec({app, R"("imagePullSecrets":[{"name":"new"}])"}), "team"),
                             policy::Route::Validate, deadline);
    CHECK(r.decision == policy::Decision::Denied);
    CHECK(api.total() == before);
  }
}

// Hidden (run with "[.bench]"; bench/RESULTS.md): the cache at its entry bound, 10,000 Secrets of a
// realistic size (one registry each, a 40-character password), for what it holds and costs.
TEST_CASE("bench: the pull-secret cache at 10,000 Secrets", "[.bench]") {
  FakeApi api;
  constexpr int kSecrets = 10000;
  for (int i = 0; i < kSecrets; ++i)
    api.set(secret_path("team-" + std::to_string(i % 100), "regcred-" + std::to_string(i)), 200,
            dockerconfigjson({{"registry-" + std::to_string(i % 50) + ".example.com",
                               "robot$team-" + std::to_string(i) + ":" + std::string(40, 'p')}}));
  policy::PullSecretCache cache(api.function(), {}, nullptr, nullptr);
  const auto rss = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  const long before = rss();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSecrets; ++i) {
    policy::PullSecretRefs refs;
    refs.namespace_ = "team-" + std::to_string(i % 100);
    refs.secrets = {"regcred-" + std::to_string(i)};
    REQUIRE(cache.keyring(refs)->size() == 1);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("10,000 Secrets: " << cache.size() << " held, " << cache.bytes() << " bytes by the cache's estimate (bound "
                          << policy::PullSecretOptions{}.maxBytes << "), RSS grew " << (rss() - before) << " KiB, "
                          << static_cast<int>(kSecrets / seconds) << " reads/s through the fake fetcher");
  CHECK(cache.size() == static_cast<std::size_t>(kSecrets));
  CHECK(cache.bytes() <= policy::PullSecretOptions{}.maxBytes);
}
