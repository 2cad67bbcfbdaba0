// GET /v1/scans/wanted on the scan API: the token as for every scan route, 404 saying what to turn
// on while no source is set (the audit off), the limit parsed strictly, the source's body as is.

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "server/scan_api.h"
#include "server/server.h"

namespace {

const std::string kToken(40, 't');
const std::string kAuth = "Bearer " + kToken;

podgate::server::HttpResponse get(const podgate::server::ScanApi& api, const std::string& target,
                                  const std::string& auth = kAuth, const std::string& method = "GET") {
  return api.handle(method, target, auth, "");
}

}  // namespace

TEST_CASE("GET /v1/scans/wanted: the bearer token first, then 404 naming audit.enabled while no source is set",
          "[scan][wanted]") {
  podgate::server::ScanApi api(nullptr, kToken, 1 << 20, nullptr, nullptr);
  CHECK(podgate::server::ScanApi::handles("/v1/scans/wanted?limit=3"));
  CHECK(get(api, "/v1/scans/wanted", "").status == 401);
  CHECK(get(api, "/v1/scans/wanted", "Bearer wrong").status == 401);
  const auto off = get(api, "/v1/scans/wanted");
  CHECK(off.status == 404);
  CHECK(off.contentType == "application/json");
  CHECK(off.body.find("continuous audit") != std::string::npos);
  CHECK(off.body.find("audit.enabled: true") != std::string::npos);
}

TEST_CASE("GET /v1/scans/wanted: the source's body, with the limit asked (default 500, at most 10000)",
          "[scan][wanted]") {
  podgate::server::ScanApi api(nullptr, kToken, 1 << 20, nullptr, nullptr);
  std::vector<std::size_t> asked;
  api.set_wanted_source([&asked](std::size_t limit) {
    asked.push_back(limit);
    return std::string(R"({"apiVersion":"podgate.io/v1alpha1","kind":"WantedScans","items":[]})");
  });

  const auto answer = get(api, "/v1/scans/wanted");
  CHECK(answer.status == 200);
  CHECK(answer.contentType == "application/json");
  CHECK(answer.body == "{\"apiVersion\":\"podgate.io/v1alpha1\",\"kind\":\"WantedScans\",\"items\":[]}\n");
  CHECK(get(api, "/v1/scans/wanted?limit=1").status == 200);
  CHECK(get(api, "/v1/scans/wanted?limit=10000").status == 200);
  CHECK(get(api, "/v1/scans/wanted?other=x&limit=25&more").status == 200);  // other parameters are ignored
  CHECK(get(api, "/v1/scans/wanted?limit=7", kAuth, "HEAD").status == 200);
  CHECK(get(api, "/v1/scans/wanted?limit=7", "").status == 401);  // refused before the source is asked
  CHECK(asked == std::vector<std::size_t>{500, 1, 10000, 25, 7});

  const auto post = get(api, "/v1/scans/wanted", kAuth, "POST");
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");
}

TEST_CASE("GET /v1/scans/wanted: a bad limit is a 400 that says the range", "[scan][wanted]") {
  podgate::server::ScanApi api(nullptr, kToken, 1 << 20, nullptr, nullptr);
  bool asked = false;
  api.set_wanted_source([&asked](std::size_t) {
    asked = true;
    return std::string("{}");
  });
  for (const std::string query : {"limit=0", "limit=10001", "limit=", "limit", "limit=-1", "limit=+5", "limit=5x",
                                  "limit=1e3", "limit=99999999999999999999", "limit=%35", "limit=5&limit=6"}) {
    CAPTURE(query);
    const auto answer = get(api, "/v1/scans/wanted?" + query);
    CHECK(answer.status == 400);
    CHECK(answer.contentType == "application/json");
    if (query == "limit=5&limit=6")
      CHECK(answer.body == "{\"error\":\"limit is given twice\"}\n");
    else
      CHECK(answer.body.find("limit must be a whole number from 1 to 10000 (got ") != std::string::npos);
  }
  CHECK(get(api, "/v1/scans/wanted?limit=abc").body ==
        "{\"error\":\"limit must be a whole number from 1 to 10000 (got \\\"abc\\\")\"}\n");
  CHECK_FALSE(asked);
}

TEST_CASE("GET /v1/scans/wanted: a source that fails is a 503 with its reason, and unset again is 404", "[scan][wanted]") {
  podgate::server::ScanApi api(nullptr, kToken, 1 << 20, nullptr, nullptr);
  api.set_wanted_source([](std::size_t) -> std::string { throw std::runtime_error("database is locked"); });
  const auto failed = get(api, "/v1/scans/wanted");
  CHECK(failed.status == 503);
  CHECK(failed.body == "{\"error\":\"the wanted scans could not be listed: database is locked\"}\n");
  api.set_wanted_source(nullptr);
  CHECK(get(api, "/v1/scans/wanted").status == 404);
  // "wanted" is not a digest: the digest route still refuses other names.
  CHECK(get(api, "/v1/scans/wanted-not").status == 400);
}
