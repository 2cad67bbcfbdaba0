#include "server/scan_api.h"
#include "util/text.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "image/reference.h"
#include "scan/present.h"
#include "scan/report.h"
#include "server/server.h"

namespace podgate::server {

namespace {

constexpr std::size_t kMaxTokenBytes = 4096;

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

HttpResponse error(int status, std::string_view message) {
  std::string body = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') body += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) body += c;
  }
  body += "\"}";
  return json(status, std::move(body));
}

// Whether a group other than the process's own may read the file. A Kubernetes Secret volume
// mounted 0440 with fsGroup (as the chart does) is readable by the pod's own supplementary group
// only, which is no wider than the process itself.
bool foreign_group(gid_t gid) {
  if (gid == getegid()) return false;
  gid_t groups[256];
  const int n = getgroups(256, groups);
  for (int i = 0; i < n; ++i)
    if (groups[i] == gid) return false;
  return true;
}

void warn_if_readable_by_others(const std::string& path, log::Logger& logger) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  const bool others = (st.st_mode & S_IROTH) != 0;
  const bool group = (st.st_mode & S_IRGRP) != 0 && foreign_group(st.st_gid);
  if (!others && !group) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  logger.line(log::Level::Warn, "scan API token file is readable by group or others")
      .str("file", path)
      .str("mode", mode)
      .str("fix", "chmod 600 (or 0440 with the pod's fsGroup): whoever reads the token can mark images clean");
}

// GET /v1/scans/wanted's query: `limit` from 1 to kWantedMaxLimit (other parameters are ignored).
// Sets `limit` and gives "", or gives what is wrong.
std::string parse_wanted_limit(std::string_view query, std::size_t& limit) {
  bool seen = false;
  while (!query.empty()) {
    const std::string_view param = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), param.size() + 1));
    const auto eq = param.find('=');
    if (param.substr(0, eq) != "limit") continue;
    if (seen) return "limit is given twice";
    seen = true;
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    std::size_t n = 0;
    const bool digits = !value.empty() && value.size() <= 5 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
      for (char c : value) n = n * 10 + static_cast<std::size_t>(c - '0');
    if (!digits || n < 1 || n > ScanApi::kWantedMaxLimit)
      return "limit must be a whole number from 1 to " + std::to_string(ScanApi::kWantedMaxLimit) + " (got " +
             util::quoted(value, 32) + ")";
    limit = n;
  }
  return {};
}

}  // namespace

std::string load_api_token(const std::string& path, log::Logger* logger) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("scans.apiTokenFile " + path + ": cannot be read");
  std::string token(kMaxTokenBytes + 1, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<std::size_t>(in.gcount()));
  if (token.size() > kMaxTokenBytes) throw std::runtime_error("scans.apiTokenFile " + path + ": longer than 4 KiB");
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.empty()) throw std::runtime_error("scans.apiTokenFile " + path + ": is empty");
  for (char c : token)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      throw std::runtime_error("scans.apiTokenFile " + path + ": the token has whitespace or control characters");
  // Anyone who guesses the token can mark a backdoored image clean: 32 characters are 128 bits
  // even as hex digits, out of reach of guessing.
  if (token.size() < kMinTokenBytes)
    throw std::runtime_error("scans.apiTokenFile " + path + ": the token is " + std::to_string(token.size()) +
                             " bytes; at least " + std::to_string(kMinTokenBytes) +
                             " are required (make one with: openssl rand -hex 32)");
  if (logger) warn_if_readable_by_others(path, *logger);
  return token;
}

ScanApi::ScanApi(std::shared_ptr<scan::Store> store, std::string token, std::size_t maxReportBytes,
                 metrics::Metrics* metrics, log::Logger* logger)
    : store_(std::move(store)), token_(std::move(token)), maxReportBytes_(maxReportBytes), metrics_(metrics),
      logger_(logger), worker_(std::make_unique<boost::asio::thread_pool>(1)) {}

ScanApi::~ScanApi() {
  wait_idle();
  worker_->join();
}

void ScanApi::handle_async(std::string method, std::string target, std::string_view authorization,
                           std::string body, std::function<void(HttpResponse)> done) const {
  // The token check is cheap and touches no database: a refusal is answered here, and the API's
  // thread only ever serves authorized requests.
  if (auto refused = refuse_unauthorized(authorization)) return done(std::move(*refused));
  {
    std::lock_guard<std::mutex> lock(idleMutex_);
    ++inHand_;
  }
  boost::asio::post(*worker_, [this, method = std::move(method), target = std::move(target), body = std::move(body),
                               done = std::move(done)]() mutable {
    HttpResponse response;
    try {
      response = serve(method, target, std::move(body));
    } catch (const std::exception& e) {  // as the router answers any other handler's failure
      response = HttpResponse{};
      response.status = 500;
      response.contentType = "text/plain; charset=utf-8";
      response.body = dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory\n" : "internal error\n";
    }
    done(std::move(response));
    std::lock_guard<std::mutex> lock(idleMutex_);
    if (--inHand_ == 0) idle_.notify_all();
  });
}

void ScanApi::wait_idle() const {
  std::unique_lock<std::mutex> lock(idleMutex_);
  idle_.wait(lock, [this] { return inHand_ == 0; });
}

bool ScanApi::handles(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/v1/scans" || path.starts_with("/v1/scans/");
}

bool ScanApi::authorized(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (!util::ascii_istarts_with(authorization, kBearer)) return false;
  // Hashes of equal length, compared in constant time: neither the token nor its length leaks.
  const auto given = sha256(authorization.substr(kBearer.size()));
  const auto expected = sha256(token_);
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

std::optional<HttpResponse> ScanApi::refuse_unauthorized(std::string_view authorization) const {
  if (authorized(authorization)) return std::nullopt;
  note_auth_failure(authorization.empty() ? "missing" : "invalid");
  HttpResponse r = error(401, "a bearer token is required (scans.apiTokenFile)");
  r.wwwAuthenticate = "Bearer realm=\"podgate\"";
  return r;
}

// Counted always; logged at most once per 10 s, so a guessing client cannot flood the log.
void ScanApi::note_auth_failure(const char* reason) const {
  if (metrics_) metrics_->count_scan_api_auth_failure(reason);
  if (!logger_) return;
  constexpr auto kInterval = std::chrono::seconds(10);
  const auto now = std::chrono::steady_clock::now();
  long long not_logged = 0;
  {
    std::lock_guard<std::mutex> lock(authLogMutex_);
    if (lastAuthLog_ != std::chrono::steady_clock::time_point{} && now - lastAuthLog_ < kInterval) {
      ++authFailuresNotLogged_;
      return;
    }
    lastAuthLog_ = now;
    not_logged = std::exchange(authFailuresNotLogged_, 0);
  }
  logger_->line(log::Level::Warn, "scan API request refused: bad or missing bearer token")
      .str("reason", reason)
      .integer("notLoggedSinceLastLine", not_logged);
}

HttpResponse ScanApi::handle(std::string_view method, std::string_view target, std::string_view authorization,
                             std::string body) const {
  if (auto refused = refuse_unauthorized(authorization)) return std::move(*refused);
  return serve(method, target, std::move(body));
}

HttpResponse ScanApi::serve(std::string_view method, std::string_view target, std::string body) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/v1/scans") {
    if (method != "POST") {
      HttpResponse r = error(405, "POST a scan report here");
      r.allow = "POST";
      return r;
    }
    return import(std::move(body));
  }
  if (path == "/v1/scans/wanted") {
    if (method != "GET" && method != "HEAD") {
      HttpResponse r = error(405, "GET the digests that want a scan here");
      r.allow = "GET, HEAD";
      return r;
    }
    const auto query = target.find('?');
    return wanted(query == std::string_view::npos ? std::string_view() : target.substr(query + 1));
  }
  if (method != "GET" && method != "HEAD") {
    HttpResponse r = error(405, "GET a digest's scans here");
    r.allow = "GET, HEAD";
    return r;
  }
  return show(path.substr(std::string_view("/v1/scans/").size()));
}

HttpResponse ScanApi::import(std::string body) const {
  if (body.size() > maxReportBytes_) return error(413, "report larger than scans.maxReportBytes");
  scan::ParsedReport report = scan::parse_report(body, "POST /v1/scans");
  const char* format = scan::to_string(report.format);
  if (!report) {
    if (metrics_) metrics_->count_scan_import(format, "rejected");
    if (logger_) logger_->line(log::Level::Warn, "scan report rejected").str("format", format).str("error", report.error);
    return error(422, report.error);
  }
  std::vector<scan::PutOutcome> outcomes;
  try {
    outcomes = store_->put(report.records);
  } catch (const scan::RecordRefused& e) {
    if (metrics_) metrics_->count_scan_import(format, "rejected");
    return error(422, e.what());
  } catch (const std::exception& e) {
    if (metrics_) metrics_->count_scan_import(format, "error");
    if (logger_) logger_->line(log::Level::Error, "scan import failed").str("format", format).str("error", e.what());
    std::string message = std::string("the scan cache could not store the report: ") + e.what();
    // SQLITE_FULL's text; say what to do about it, since the importer is who sees this.
    if (message.find("database or disk is full") != std::string::npos)
      message += " (the file system holding scans.database has no space left: free space or grow the volume, "
                 "then send the report again; reviews go on with the scans already stored)";
    return error(503, message);
  }
  const bool any = std::any_of(outcomes.begin(), outcomes.end(), [](const scan::PutOutcome& o) { return o.stored; });
  if (metrics_) {
    metrics_->count_scan_import(format, any ? "stored" : "unchanged");
    refresh_store_gauges();
  }
  if (logger_) {
    auto line = logger_->line(log::Level::Info, "scan report imported");
    line.str("format", format).integer("records", static_cast<long long>(report.records.size()));
    if (!report.records.empty()) line.str("digest", report.records.front().digest).str("scanner", report.records.front().scanner);
  }
  return json(any ? 201 : 200, scan::import_json(format, "POST /v1/scans", report.records, outcomes));
}

// stats() scans the whole table (about 12 ms at 100,000 scans): at most once every 5 s, so a
// burst of imports is not slowed down by its own bookkeeping.
void ScanApi::refresh_store_gauges() const {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = lastGaugeRefresh_.load();
  if (last != 0 && now - last < std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(5)).count())
    return;
  if (!lastGaugeRefresh_.compare_exchange_strong(last, now)) return;  // another import is refreshing
  try {
    const auto stats = store_->stats();
    metrics_->set_scan_store(static_cast<double>(stats.records), static_cast<double>(stats.oldestScan),
                             static_cast<double>(stats.newestScan));
  } catch (const std::exception&) {
    // A gauge that cannot be refreshed must not fail an import that was stored.
  }
}

HttpResponse ScanApi::show(std::string_view digest) const {
  if (!image::is_valid_digest(digest)) return error(400, "expected /v1/scans/sha256:<64 hex>");
  std::vector<scan::ScanRecord> records;
  try {
    records = store_->get(digest);
  } catch (const std::exception& e) {
    return error(503, std::string("the scan cache could not be read: ") + e.what());
  }
  if (records.empty()) return error(404, "podgate has no scan of " + std::string(digest));
  return json(200, scan::records_json(digest, records));
}

void ScanApi::set_wanted_source(WantedSource source) {
  auto shared = source ? std::make_shared<const WantedSource>(std::move(source)) : nullptr;
  std::lock_guard<std::mutex> lock(wantedMutex_);
  wanted_ = std::move(shared);
}

HttpResponse ScanApi::wanted(std::string_view query) const {
  std::shared_ptr<const WantedSource> source;
  {
    std::lock_guard<std::mutex> lock(wantedMutex_);
    source = wanted_;
  }
  // What runs is known to the continuous audit's Pod cache, and what was admitted to its ledger.
  if (!source)
    return error(404, "GET /v1/scans/wanted needs the continuous audit, which is off: set audit.enabled: true in "
                      "podgate's config (it list-watches Pods, so podgate needs the Kubernetes API and RBAC to list "
                      "and watch pods)");
  std::size_t limit = kWantedDefaultLimit;
  if (const std::string problem = parse_wanted_limit(query, limit); !problem.empty()) return error(400, problem);
  try {
    return json(200, (*source)(limit));
  } catch (const std::exception& e) {
    return error(503, std::string("the wanted scans could not be listed: ") + e.what());
  }
}

}  // namespace podgate::server
