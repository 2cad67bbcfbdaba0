// The registry fixture itself (tests/support/test_registry.h): other tests trust its digests,
// request counts and auth modes, so each is checked here with curl, independently of the fixture.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "support/https_client.h"
#include "support/process.h"
#include "support/test_registry.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;

namespace {

const std::string kAcceptAll =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct CurlResult {
  int exit = -1;
  int status = 0;
  std::string digest, wwwAuthenticate, body;
};

std::string header_value(const std::string& headers, const std::string& name) {
  std::string lower = headers;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t pos = lower.find("\n" + name + ":");
  if (pos == std::string::npos) return "";
  pos = headers.find_first_not_of(' ', pos + name.size() + 2);
  return headers.substr(pos, headers.find_first_of("\r\n", pos) - pos);
}

// One request with curl, as a client outside the fixture would make it.
CurlResult curl(const std::string& method, const std::string& url, const std::string& caFile,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", caFile};
  if (method == "HEAD") {
    argv.push_back("-I");
  } else {
    argv.insert(argv.end(), {"-D", "/dev/stderr", "-X", method});
  }
  for (auto& e : extra) argv.push_back(std::move(e));
  argv.push_back(url);
  pt::Process child(argv);
  auto code = child.wait_for(15s);
  REQUIRE(code.has_value());
  CurlResult r;
  r.exit = *code;
  const std::string headers = method == "HEAD" ? child.stdout_text() : child.stderr_text();
  if (method != "HEAD") r.body = child.stdout_text();
  if (headers.rfind("HTTP/", 0) == 0) r.status = std::stoi(headers.substr(headers.find(' ') + 1));
  r.digest = header_value(headers, "docker-content-digest");
  r.wwwAuthenticate = header_value(headers, "www-authenticate");
  return r;
}

CurlResult head_manifest(const pt::TestRegistry& reg, const std::string& repo, const std::string& ref,
                         std::vector<std::string> extra = {}, const std::string& accept = kAcceptAll) {
  extra.insert(extra.end(), {"-H", accept});
  return curl("HEAD", "https://" + reg.host() + "/v2/" + repo + "/manifests/" + ref, reg.ca_file(), extra);
}

std::string token_from(const std::string& json) {
  const std::string key = "\"token\": \"";
  const size_t pos = json.find(key);
  if (pos == std::string::npos) return "";
  return json.substr(pos + key.size(), json.find('"', pos + key.size()) - pos - key.size());
}

bool is_digest(const std::string& s) {
  return s.size() == 71 && s.rfind("sha256:", 0) == 0 &&
         s.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

}  // namespace

TEST_CASE("test registry: push_image digests are what the registry serves, and move on re-push", "[registry-fixture]") {
  pt::TestRegistry reg;
  CHECK(reg.host() == "127.0.0.1:" + std::to_string(reg.port()));
  const std::string first = reg.push_image("team/app", "v1");
  CHECK(is_digest(first));

  auto served = head_manifest(reg, "team/app", "v1");
  CHECK(served.status == 200);
  CHECK(served.digest == first);
  // By "localhost" too (the certificate's other SAN).
  auto byName = curl("HEAD", "https://localhost:" + std::to_string(reg.port()) + "/v2/team/app/manifests/v1", reg.ca_file(),
                     {"-H", kAcceptAll});
  CHECK(byName.digest == first);
  // The bytes hash to the digest.
  auto get = curl("GET", "https://" + reg.host() + "/v2/team/app/manifests/" + first, reg.ca_file(), {"-H", kAcceptAll});
  CHECK(get.status == 200);
  CHECK(get.body.find("application/vnd.oci.image.manifest.v1+json") != std::string::npos);
  // A real image: its layer is a gzip'd tar (skopeo would recompress anything else on push).
  const std::string layerKey = "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"";
  const size_t at = get.body.find(layerKey);
  REQUIRE(at != std::string::npos);
  const std::string layer = get.body.substr(at + layerKey.size(), 71);
  pt::Process tar({"/bin/sh", "-c",
                   "curl -sSf --noproxy '*' --cacert '" + reg.ca_file() + "' https://" + reg.host() + "/v2/team/app/blobs/" +
                       layer + " | tar -tzf -"});
  REQUIRE(tar.wait_for(15s) == 0);
  CHECK(tar.stdout_text() == "podgate-test-nonce\n");

  const std::string second = reg.push_image("team/app", "v1");
  CHECK(is_digest(second));
  CHECK(second != first);
  CHECK(head_manifest(reg, "team/app", "v1").digest == second);
  CHECK(head_manifest(reg, "team/app", first).status == 200);  // the old manifest stays, by digest

  auto missing = head_manifest(reg, "team/app", "nope");
  CHECK(missing.status == 404);
}

TEST_CASE("test registry: push_index pushes an OCI index with two platform children", "[registry-fixture]") {
  pt::TestRegistry reg;
  auto pushed = reg.push_index("team/multi", "v1");
  CHECK(is_digest(pushed.digest));
  REQUIRE(pushed.children.size() == 2);
  CHECK(pushed.children[0].first == "linux/amd64");
  CHECK(pushed.children[1].first == "linux/arm64");
  CHECK(pushed.children[0].second != pushed.children[1].second);

  CHECK(head_manifest(reg, "team/multi", "v1").digest == pushed.digest);
  auto index = curl("GET", "https://" + reg.host() + "/v2/team/multi/manifests/v1", reg.ca_file(), {"-H", kAcceptAll});
  CHECK(index.status == 200);
  for (const auto& [platform, digest] : pushed.children) {
    CHECK(index.body.find(digest) != std::string::npos);
    auto child = head_manifest(reg, "team/multi", digest);
    CHECK(child.status == 200);
    CHECK(child.digest == digest);
  }
  // docker-registry 2.8 does not pick a platform for a client that cannot take an index.
  auto narrow = head_manifest(reg, "team/multi", "v1", {}, "Accept: application/vnd.oci.image.manifest.v1+json");
  CHECK(narrow.status == 404);
}

TEST_CASE("test registry: manifest_requests counts HEAD and GET per reference, without the fixture's own", "[registry-fixture]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/count", "v1");
  // push_image's skopeo push and digest check are not counted.
  CHECK(reg.manifest_requests("team/count", "v1") == 0);

  head_manifest(reg, "team/count", "v1");
  head_manifest(reg, "team/count", "v1");
  curl("GET", "https://" + reg.host() + "/v2/team/count/manifests/v1", reg.ca_file(), {"-H", kAcceptAll});
  head_manifest(reg, "team/count", digest);
  head_manifest(reg, "team/count", "other");  // a 404

  CHECK(reg.manifest_requests("team/count", "v1") == 3);
  CHECK(reg.manifest_requests("team/count", "v1", "HEAD") == 2);
  CHECK(reg.manifest_requests("team/count", "v1", "GET") == 1);
  CHECK(reg.manifest_requests("team/count", digest) == 1);
  CHECK(reg.manifest_requests("team/count", "other", "", 404) == 1);
  CHECK(reg.manifest_requests("team/count", "other", "", 200) == 0);
  CHECK(reg.manifest_requests("team/countx", "v1") == 0);

  // Counted right after the response, repeatedly (the marker request keeps the log in step).
  for (int i = 1; i <= 3; ++i) {
    head_manifest(reg, "team/count", "v2");
    CHECK(reg.manifest_requests("team/count", "v2", "HEAD") == i);
  }
  const auto log = reg.access_log();
  CHECK(std::any_of(log.begin(), log.end(), [](const pt::AccessLogEntry& e) { return e.byFixture; }));
  CHECK(std::any_of(log.begin(), log.end(), [](const pt::AccessLogEntry& e) {
    return !e.byFixture && e.method == "HEAD" && e.path == "/v2/team/count/manifests/v1" && e.status == 200 &&
           e.userAgent.rfind("curl/", 0) == 0;
  }));
}

TEST_CASE("test registry: basic auth refuses without the right credentials", "[registry-fixture]") {
  pt::RegistryOptions options;
  options.basicAuth = true;
  pt::TestRegistry reg(options);
  const std::string digest = reg.push_image("private/app", "v1");

  auto anonymous = head_manifest(reg, "private/app", "v1");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.wwwAuthenticate.rfind("Basic realm=", 0) == 0);
  CHECK(head_manifest(reg, "private/app", "v1", {"-u", "podgate:wrong"}).status == 401);
  auto good = head_manifest(reg, "private/app", "v1", {"-u", "podgate:s3cret"});
  CHECK(good.status == 200);
  CHECK(good.digest == digest);
  CHECK(reg.manifest_requests("private/app", "v1", "HEAD", 401) == 2);
  CHECK(reg.manifest_requests("private/app", "v1", "HEAD", 200) == 1);
}

TEST_CASE("test registry: token auth with anonymous pull, the whole flow over curl", "[registry-fixture]") {
  pt::RegistryOptions options;
  options.tokenAuth = true;
  pt::TestRegistry reg(options);
  const std::string digest = reg.push_image("team/app", "v1");
  CHECK(reg.token_requests() == 0);  // the fixture's own token requests are not counted

  // 1. The challenge names the fixture's issuer.
  auto challenge = head_manifest(reg, "team/app", "v1");
  CHECK(challenge.status == 401);
  CHECK(challenge.wwwAuthenticate == "Bearer realm=\"" + reg.token_realm() + "\",service=\"" + reg.service() +
                                         "\",scope=\"repository:team/app:pull\"");
  // 2. An anonymous pull token.
  auto tokenResponse = curl("GET", reg.token_realm() + "?service=" + reg.service() + "&scope=repository:team/app:pull",
                            reg.ca_file());
  CHECK(tokenResponse.status == 200);
  const std::string token = token_from(tokenResponse.body);
  REQUIRE_FALSE(token.empty());
  CHECK(tokenResponse.body.find("\"access_token\": \"" + token + "\"") != std::string::npos);
  CHECK(tokenResponse.body.find("\"expires_in\": 60") != std::string::npos);
  // 3. The manifest with it.
  auto withToken = head_manifest(reg, "team/app", "v1", {"-H", "Authorization: Bearer " + token});
  CHECK(withToken.status == 200);
  CHECK(withToken.digest == digest);
  // A token for one repository does not open another.
  reg.push_image("team/other", "v1");
  CHECK(head_manifest(reg, "team/other", "v1", {"-H", "Authorization: Bearer " + token}).status == 401);
  // A forged token (signature of another message) is refused.
  std::string forged = token;
  forged[forged.rfind('.') + 5] = forged[forged.rfind('.') + 5] == 'A' ? 'B' : 'A';
  CHECK(head_manifest(reg, "team/app", "v1", {"-H", "Authorization: Bearer " + forged}).status == 401);

  CHECK(reg.token_requests() == 1);
  std::vector<pt::TokenRequestEntry> ours;
  for (auto& e : reg.token_log()) {
    if (!e.byFixture) ours.push_back(e);
  }
  REQUIRE(ours.size() == 1);
  CHECK(ours[0].status == 200);
  CHECK(ours[0].user.empty());
  CHECK(ours[0].userAgent.rfind("curl/", 0) == 0);
  CHECK(ours[0].scopes == "repository:team/app:pull");
  CHECK(ours[0].granted == "repository:team/app:pull");
  CHECK(reg.manifest_requests("team/app", "v1", "HEAD", 401) == 2);
  CHECK(reg.manifest_requests("team/app", "v1", "HEAD", 200) == 1);

  // Push needs credentials; wrong ones are refused for anything.
  CHECK(curl("GET", reg.token_realm() + "?service=" + reg.service() + "&scope=repository:team/app:pull,push",
             reg.ca_file()).status == 401);
  CHECK(curl("GET", reg.token_realm() + "?service=" + reg.service() + "&scope=repository:team/app:pull", reg.ca_file(),
             {"-u", "podgate:wrong"}).status == 401);
  CHECK(reg.token_requests() == 3);
}

TEST_CASE("test registry: token auth without anonymous pull needs Basic credentials at the issuer", "[registry-fixture]") {
  pt::RegistryOptions options;
  options.tokenAuth = true;
  options.anonymousPull = false;
  pt::TestRegistry reg(options);
  const std::string digest = reg.push_image("private/app", "v1");

  const std::string url = reg.token_realm() + "?service=" + reg.service() + "&scope=repository:private/app:pull";
  auto refused = curl("GET", url, reg.ca_file());
  CHECK(refused.status == 401);
  CHECK(refused.wwwAuthenticate.rfind("Basic ", 0) == 0);
  auto granted = curl("GET", url, reg.ca_file(), {"-u", "podgate:s3cret"});
  CHECK(granted.status == 200);
  auto withToken = head_manifest(reg, "private/app", "v1", {"-H", "Authorization: Bearer " + token_from(granted.body)});
  CHECK(withToken.status == 200);
  CHECK(withToken.digest == digest);
  CHECK(reg.token_requests() == 2);
  CHECK(reg.token_log().back().user == "podgate");
}

TEST_CASE("test registry: stop refuses connections, restart serves the same images", "[registry-fixture]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/app", "v1");
  const std::string host = reg.host();
  head_manifest(reg, "team/app", "v1");
  reg.stop();
  CHECK_FALSE(reg.running());
  CHECK(reg.host() == host);
  auto down = head_manifest(reg, "team/app", "v1");
  CHECK(down.exit == 7);  // curl: could not connect
  CHECK(reg.manifest_requests("team/app", "v1") == 1);  // the log outlives the process

  reg.restart();
  CHECK(reg.running());
  CHECK(head_manifest(reg, "team/app", "v1").digest == digest);
  CHECK(reg.manifest_requests("team/app", "v1") == 2);  // counted across both runs
}

TEST_CASE("test registry: SilentServer accepts and never answers", "[registry-fixture]") {
  pt::SilentServer silent;
  CHECK(silent.port() > 0);
  CHECK(silent.accepted() == 0);
  pt::RawConnection raw("127.0.0.1", silent.port());
  CHECK(silent.wait_accepted(1, 5s));
  CHECK_FALSE(raw.wait_for_close(100ms));  // still open, nothing sent

  pt::ClientOptions options;
  options.port = silent.port();
  options.timeout = 300ms;
  pt::HttpsClient client(options);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS(client.connect());  // the TLS handshake never gets an answer
  CHECK(std::chrono::steady_clock::now() - start >= 250ms);
  CHECK(silent.wait_accepted(2, 5s));
  CHECK(silent.accepted() == 2);
}
