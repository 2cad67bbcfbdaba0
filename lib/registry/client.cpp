// The OCI distribution client on cpprestsdk. One resolution is a small state machine (Attempt)
// driven by task continuations: HEAD, maybe a token fetch and a retry, maybe a GET. Each step
// checks the resolution's time budget; a timer cancels whatever is in flight when it runs out.
//
// Facts it follows (see docs/architecture.md "Image resolution"): the Accept list must name the
// index and list types or a multi-arch tag resolves to a different digest; HEAD does not count
// against Docker Hub's pull limit, GET does; Authorization is never sent to another host.

#include "registry/client.h"

#include <cpprest/http_client.h>
#include <cpprest/producerconsumerstream.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "registry/credentials.h"
#include "registry/timers.h"

namespace podgate::registry {

namespace http = web::http;
using Clock = std::chrono::steady_clock;

const char* to_string(Failure failure) {
  switch (failure) {
    case Failure::None: return "none";
    case Failure::NotFound: return "not_found";
    case Failure::Unauthorized: return "unauthorized";
    case Failure::RateLimited: return "rate_limited";
    case Failure::Timeout: return "timeout";
    case Failure::Unreachable: return "unreachable";
    case Failure::Tls: return "tls";
    case Failure::BadResponse: return "bad_response";
    case Failure::TooLarge: return "too_large";
    case Failure::ServerError: return "server_error";
  }
  return "none";
}

namespace {

constexpr const char* kAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr int kMaxRedirects = 3;
constexpr std::size_t kMaxChildren = 256;  // a real index has a handful; bound what we keep

std::string sha256_digest(const std::string& bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string digest = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    digest += hex[out[i] >> 4];
    digest += hex[out[i] & 0xF];
  }
  return digest;
}

std::string base64(std::string_view text) {
  std::vector<unsigned char> bytes(text.begin(), text.end());
  return utility::conversions::to_base64(bytes);
}

std::string header(const http::http_headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

// A WWW-Authenticate challenge: scheme and its parameters (realm, service, scope, error).
struct Challenge {
  std::string scheme;  // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;
};

// Parses `Bearer realm="...",service="...",scope="..."` (quoted or token values). Only the
// first challenge is read; registries send one.
Challenge parse_challenge(std::string_view text) {
  Challenge c;
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  while (i < text.size() && text[i] != ' ') c.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    std::string key;
    while (i < text.size() && text[i] != '=' && text[i] != ',') key += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
    if (i >= text.size() || text[i] != '=') break;
    ++i;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',') value += text[i++];
    }
    while (!key.empty() && key.back() == ' ') key.pop_back();
    c.params[key] = value;
  }
  return c;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

// How a transport failure (no HTTP answer) is classified.
Failure classify(const std::exception& e, bool timed_out) {
  if (timed_out) return Failure::Timeout;
  std::string what = e.what();
  std::transform(what.begin(), what.end(), what.begin(), [](unsigned char c) { return std::tolower(c); });
  if (const auto* h = dynamic_cast<const http::http_exception*>(&e)) {
    if (h->error_code() == std::errc::timed_out || h->error_code().value() == ETIMEDOUT) return Failure::Timeout;
  }
  if (what.find("certificate") != std::string::npos || what.find("handshake") != std::string::npos ||
      what.find("ssl") != std::string::npos || what.find("tls") != std::string::npos)
    return Failure::Tls;
  if (what.find("timed out") != std::string::npos || what.find("timeout") != std::string::npos) return Failure::Timeout;
  return Failure::Unreachable;
}

struct Token {
  std::string value;
  Clock::time_point expires;
};

// One scheme://host[:port] with its pooled connection(s) and what it taught us about its auth.
struct Origin {
  std::string base;  // "https://registry.example.com:5000"
  std::unique_ptr<http::client::http_client> client;
  const config::RegistryConfig* settings = nullptr;  // null: defaults
  std::mutex mutex;                                  // guards the learned challenge
  Challenge challenge;                               // last 401 challenge (realm/service), if any
};

}  // namespace

bool is_index_media_type(std::string_view media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  std::vector<config::RegistryConfig> registries;
  ClientOptions options;
  metrics::Metrics* metrics;
  log::Logger* logger;
  Keyring keyring;

  std::mutex mutex;  // guards origins and tokens
  std::map<std::string, std::shared_ptr<Origin>> origins;
  std::map<std::string, Token> tokens;

  std::shared_ptr<Origin> origin(const std::string& scheme, const std::string& host,
                                 const config::RegistryConfig* settings) {
    const std::string base = scheme + "://" + host;
    std::lock_guard<std::mutex> lock(mutex);
    auto& slot = origins[base];
    if (!slot) {
      auto o = std::make_shared<Origin>();
      o->base = base;
      o->settings = settings;
      http::client::http_client_config cfg;
      cfg.set_timeout(std::chrono::duration_cast<std::chrono::seconds>(options.timeout) +
                      std::chrono::seconds(1));  // our own budget timer cancels earlier
      cfg.set_validate_certificates(true);
      cfg.set_max_redirects(0);  // redirects are followed here, where Authorization can be dropped
      if (settings && !settings->caFile.empty()) {
        const std::string ca = settings->caFile;
        cfg.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) {
          boost::system::error_code ec;
          ctx.set_default_verify_paths(ec);
          ctx.load_verify_file(ca, ec);  // a missing file was refused at start-up
        });
      }
      o->client = std::make_unique<http::client::http_client>(utility::conversions::to_string_t(base), cfg);
      slot = std::move(o);
    }
    return slot;
  }

  std::optional<std::string> cached_token(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = tokens.find(key);
    if (it == tokens.end()) return std::nullopt;
    if (it->second.expires <= Clock::now()) {
      tokens.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  void store_token(const std::string& key, std::string value, std::chrono::seconds lifetime) {
    // Renew before expiry: a token that expires in flight costs a 401 and a retry.
    const auto margin = std::min<std::chrono::seconds>(std::chrono::seconds(10), lifetime / 2);
    std::lock_guard<std::mutex> lock(mutex);
    if (tokens.size() > 10000) tokens.clear();  // bound: scopes are per repository
    tokens[key] = Token{std::move(value), Clock::now() + lifetime - margin};
  }
};

namespace {

// One resolution in flight.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(std::shared_ptr<Client::Impl> impl, image::Reference ref, Client::Callback done)
      : impl_(std::move(impl)), ref_(std::move(ref)), done_(std::move(done)) {
    started_ = Clock::now();
    deadline_ = started_ + impl_->options.timeout;
    host_ = ref_.registry_host();
    settings_ = config::find_registry(impl_->registries, ref_.domain);
    scheme_ = settings_ && settings_->plainHTTP ? "http" : "https";
    label_ = impl_->metrics ? impl_->metrics->registry_label(ref_.domain) : std::string(ref_.domain);
    credential_ = impl_->keyring.find(ref_.domain, ref_.path);
    scope_ = "repository:" + ref_.path + ":pull";
  }

  void start() {
    auto self = shared_from_this();
    budget_ = Timers::shared().at(deadline_, [self] {
      self->timedOut_ = true;
      self->cancel_.cancel();
    });
    origin_ = impl_->origin(scheme_, host_, settings_);
    // A registry that asked for a bearer token before will ask again: fetch it first and save
    // the 401 round trip.
    Challenge known;
    {
      std::lock_guard<std::mutex> lock(origin_->mutex);
      known = origin_->challenge;
    }
    if (known.scheme == "bearer") return authorize(known, [self] { self->request(http::methods::HEAD, self->manifest_path()); });
    if (known.scheme == "basic" && credential_) authorization_ = basic_header();
    request(http::methods::HEAD, manifest_path());
  }

 private:
  std::string manifest_path(std::string_view reference = {}) const {
    return "/v2/" + ref_.path + "/manifests/" + std::string(reference.empty() ? ref_.manifest_reference() : reference);
  }
  std::string basic_header() const {
    return "Basic " + base64(credential_->username + ":" + credential_->password);
  }

  void finish(Resolution r) {
    if (finished_.exchange(true)) return;
    if (budget_) budget_->cancel();
    r.requests = requests_;
    auto* m = impl_->metrics;
    if (m) {
      if (!r.ok()) m->count_registry_error(label_, to_string(r.failure));
      else m->observe_resolve_duration(label_, std::chrono::duration<double>(Clock::now() - started_).count());
    }
    if (impl_->logger && !r.ok() && r.failure != Failure::NotFound) {
      impl_->logger->line(log::Level::Warn, "image resolution failed")
          .str("image", ref_.canonical())
          .str("registry", host_)
          .str("kind", to_string(r.failure))
          .str("error", r.error);
    }
    auto done = std::move(done_);
    done(std::move(r));
  }

  void fail(Failure failure, std::string why) {
    Resolution r;
    r.failure = failure;
    r.error = std::move(why);
    finish(std::move(r));
  }

  void fail_transport(const std::exception& e) {
    const Failure f = classify(e, timedOut_);
    std::string why = f == Failure::Timeout
                          ? "registry " + host_ + " did not answer within " +
                                std::to_string(impl_->options.timeout.count()) + "ms"
                          : "cannot reach registry " + host_ + ": " + e.what();
    fail(f, std::move(why));
  }

  bool out_of_time() {
    if (Clock::now() < deadline_ && !timedOut_) return false;
    fail(Failure::Timeout, "registry " + host_ + " did not answer within " + std::to_string(impl_->options.timeout.count()) + "ms");
    return true;
  }

  void count(const std::string& code) {
    ++requests_;
    if (impl_->metrics) impl_->metrics->count_registry_request(label_, code);
  }

  // Sends a request to the registry (or, after a redirect, to `absolute_url`).
  void request(const http::method& method, const std::string& path, std::string absolute_url = {}, int redirects = 0) {
    if (out_of_time()) return;
    http::http_request req(method);
    req.headers().add("Accept", kAccept);
    req.headers().add("User-Agent", impl_->options.userAgent);
    std::shared_ptr<Origin> target = origin_;
    std::string uri = path;
    if (!absolute_url.empty()) {
      // A redirect: its own origin (connection pool), and Authorization only for the same host.
      web::uri u(absolute_url);
      const std::string host = u.host() + (u.port() > 0 ? ":" + std::to_string(u.port()) : "");
      if (u.scheme() != "https" && !(u.scheme() == "http" && scheme_ == "http"))
        return fail(Failure::BadResponse, "registry " + host_ + " redirected to a non-https URL");
      target = impl_->origin(u.scheme(), host, config::find_registry(impl_->registries, host));
      uri = u.resource().to_string();
      if (target != origin_) redirectedAway_ = true;
    }
    if (!authorization_.empty() && !redirectedAway_) req.headers().add("Authorization", authorization_);
    req.set_request_uri(uri);
    auto self = shared_from_this();
    target->client->request(req, cancel_.get_token())
        .then([self, method, path, redirects](pplx::task<http::http_response> t) {
          http::http_response response;
          try {
            response = t.get();
          } catch (const std::exception& e) {
            self->count("error");
            return self->fail_transport(e);
          }
          self->count(std::to_string(response.status_code()));
          self->on_response(method, path, std::move(response), redirects);
        });
  }

  void on_response(const http::method& method, const std::string& path, http::http_response response, int redirects) {
    const auto status = response.status_code();
    if (status == 200) {
      if (method == http::methods::HEAD) return on_head(response);
      return read_body(response, impl_->options.maxManifestBytes, [self = shared_from_this(), response](std::string body) {
        self->on_manifest(response, std::move(body));
      });
    }
    if (status == 401 && !triedAuth_) {
      triedAuth_ = true;
      const Challenge c = parse_challenge(header(response.headers(), "WWW-Authenticate"));
      if (c.scheme == "bearer" || c.scheme == "basic") {
        std::lock_guard<std::mutex> lock(origin_->mutex);
        origin_->challenge = c;
      }
      auto self = shared_from_this();
      if (c.scheme == "bearer") return authorize(c, [self, method, path] { self->request(method, path); });
      if (c.scheme == "basic" && credential_) {
        authorization_ = basic_header();
        return request(method, path);
      }
    }
    if (status == 401 || status == 403) {
      return fail(Failure::Unauthorized,
                  "registry " + host_ + " refused access to " + ref_.path + " (HTTP " + std::to_string(status) + ")" +
                      (credential_ ? " with the configured credentials" : "; no credentials are configured for it"));
    }
    if (status == 404) {
      return fail(Failure::NotFound, "image " + ref_.canonical() + " does not exist (registry " + host_ +
                                         " answered 404 for " + std::string(ref_.manifest_reference()) + ")");
    }
    if (status == 405 && method == http::methods::HEAD) return request(http::methods::GET, path);
    if (status == 429) {
      Resolution r;
      r.failure = Failure::RateLimited;
      const std::string after = header(response.headers(), "Retry-After");
      long seconds = 60;  // an HTTP-date or garbage: a minute
      if (!after.empty() && std::all_of(after.begin(), after.end(), ::isdigit) && after.size() < 7) seconds = std::stol(after);
      r.retryAfter = std::chrono::seconds(std::clamp<long>(seconds, 1, 3600));
      r.error = "registry " + host_ + " is rate limiting podgate (HTTP 429; retry after " + std::to_string(r.retryAfter.count()) + "s)";
      return finish(std::move(r));
    }
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      const std::string location = header(response.headers(), "Location");
      if (location.empty() || redirects >= kMaxRedirects)
        return fail(Failure::BadResponse, "registry " + host_ + " sent too many redirects or one without a Location");
      std::string absolute = location;
      if (location.front() == '/') absolute = origin_->base + location;
      const http::method next = status == 303 ? http::methods::GET : method;
      return request(next, path, absolute, redirects + 1);
    }
    if (status >= 500)
      return fail(Failure::ServerError, "registry " + host_ + " failed with HTTP " + std::to_string(status));
    fail(Failure::BadResponse, "registry " + host_ + " answered HTTP " + std::to_string(status) + " for " + path);
  }

  void on_head(const http::http_response& response) {
    const std::string digest = header(response.headers(), "Docker-Content-Digest");
    std::string type = header(response.headers(), "Content-Type");
    if (const auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    if (!image::is_valid_digest(digest)) return request(http::methods::GET, manifest_path());
    if (is_index_media_type(type)) {
      // Fetch the index once, by digest, for its children (the scan cache may know either).
      headDigest_ = digest;
      return request(http::methods::GET, manifest_path(digest));
    }
    Resolution r;
    r.digest = digest;
    r.mediaType = type;
    finish(std::move(r));
  }

  void on_manifest(const http::http_response& response, std::string body) {
    const std::string computed = sha256_digest(body);
    const std::string claimed = header(response.headers(), "Docker-Content-Digest");
    if (!claimed.empty() && claimed.starts_with("sha256:") && claimed != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest whose bytes do not match its digest " + claimed);
    if (!headDigest_.empty() && headDigest_ != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent index bytes that do not match digest " + headDigest_);
    if (!ref_.digest.empty() && ref_.digest.starts_with("sha256:") && ref_.digest != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest that does not match " + ref_.digest);
    Resolution r;
    r.digest = computed;
    std::string type = header(response.headers(), "Content-Type");
    if (const auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest that is not a JSON object");
    if (auto it = doc.FindMember("mediaType"); it != doc.MemberEnd() && it->value.IsString()) type = it->value.GetString();
    r.mediaType = type;
    if (auto it = doc.FindMember("manifests"); it != doc.MemberEnd() && it->value.IsArray()) {
      if (r.mediaType.empty()) r.mediaType = "application/vnd.oci.image.index.v1+json";
      for (const auto& m : it->value.GetArray()) {
        if (r.children.size() >= kMaxChildren || !m.IsObject()) break;
        auto d = m.FindMember("digest");
        if (d == m.MemberEnd() || !d->value.IsString() || !image::is_valid_digest(d->value.GetString())) continue;
        std::string platform = "unknown/unknown";
        if (auto p = m.FindMember("platform"); p != m.MemberEnd() && p->value.IsObject()) {
          auto field = [&](const char* name) -> std::string {
            auto f = p->value.FindMember(name);
            return f != p->value.MemberEnd() && f->value.IsString() ? f->value.GetString() : "";
          };
          platform = field("os") + "/" + field("architecture");
          if (const std::string v = field("variant"); !v.empty()) platform += "/" + v;
        }
        r.children.push_back(ChildManifest{std::move(platform), d->value.GetString()});
      }
    }
    finish(std::move(r));
  }

  // Reads a body of at most `limit` bytes; more is TooLarge, and the connection is dropped.
  void read_body(const http::http_response& response, std::size_t limit, std::function<void(std::string)> then) {
    const auto length = response.headers().content_length();
    if (length > limit) {
      cancel_.cancel();
      return fail(Failure::TooLarge, "registry " + host_ + " sent " + std::to_string(length) +
                                         " bytes; the limit is " + std::to_string(limit));
    }
    read_chunk(response.body().streambuf(), std::make_shared<std::string>(), limit, std::move(then));
  }

  // One chunk at a time into `out`, so a body that grows past `limit` is cut off there.
  void read_chunk(Concurrency::streams::streambuf<uint8_t> body, std::shared_ptr<std::string> out, std::size_t limit,
                  std::function<void(std::string)> then) {
    auto self = shared_from_this();
    auto chunk = std::make_shared<std::vector<uint8_t>>(16 * 1024);
    body.getn(chunk->data(), chunk->size()).then([self, body, out, chunk, limit, then](pplx::task<size_t> t) {
      std::size_t n = 0;
      try {
        n = t.get();
      } catch (const std::exception& e) {
        return self->fail_transport(e);
      }
      if (n == 0) return then(std::move(*out));
      out->append(reinterpret_cast<const char*>(chunk->data()), n);
      if (out->size() > limit) {
        self->cancel_.cancel();
        return self->fail(Failure::TooLarge, "registry " + self->host_ + " sent more than " + std::to_string(limit) + " bytes");
      }
      if (self->out_of_time()) return;
      self->read_chunk(body, out, limit, then);
    });
  }

  // Gets a bearer token for this repository (cached until shortly before it expires), sets the
  // Authorization header, then continues with `next`.
  void authorize(const Challenge& c, std::function<void()> next) {
    auto realm_it = c.params.find("realm");
    if (realm_it == c.params.end() || realm_it->second.empty())
      return fail(Failure::BadResponse, "registry " + host_ + " asked for a bearer token without a realm");
    const std::string realm = realm_it->second;
    web::uri realm_uri;
    try {
      realm_uri = web::uri(realm);
    } catch (const std::exception&) {
      return fail(Failure::BadResponse, "registry " + host_ + " named an unusable token realm");
    }
    // A token endpoint over plain http would expose credentials; only a registry configured for
    // plain HTTP may use one.
    if (realm_uri.scheme() != "https" && !(realm_uri.scheme() == "http" && scheme_ == "http"))
      return fail(Failure::BadResponse, "registry " + host_ + " named a token realm that is not https: " + realm);
    const std::string service = c.params.count("service") ? c.params.at("service") : std::string();
    const std::string user = credential_ ? credential_->username : std::string();
    const std::string key = realm + "\x1f" + service + "\x1f" + scope_ + "\x1f" + user;
    if (auto token = impl_->cached_token(key)) {
      authorization_ = "Bearer " + *token;
      return next();
    }
    if (out_of_time()) return;

    const std::string host = realm_uri.host() + (realm_uri.port() > 0 ? ":" + std::to_string(realm_uri.port()) : "");
    // The token service belongs to the registry that named it: without an entry of its own it
    // shares the registry's settings (its CA file, typically).
    const config::RegistryConfig* realm_settings = config::find_registry(impl_->registries, host);
    auto origin = impl_->origin(realm_uri.scheme(), host, realm_settings ? realm_settings : settings_);
    std::string query = "scope=" + url_encode(scope_);
    if (!service.empty()) query = "service=" + url_encode(service) + "&" + query;
    std::string resource = realm_uri.path();
    if (resource.empty()) resource = "/";
    http::http_request req(http::methods::GET);
    if (credential_ && !credential_->identityToken.empty()) {
      // An identity token is an OAuth2 refresh token, exchanged with a POST (distribution's token spec).
      req.set_method(http::methods::POST);
      req.set_body("grant_type=refresh_token&client_id=podgate&" + query +
                       "&refresh_token=" + url_encode(credential_->identityToken),
                   "application/x-www-form-urlencoded");
      req.set_request_uri(resource + (realm_uri.query().empty() ? "" : "?" + realm_uri.query()));
    } else {
      if (credential_) req.headers().add("Authorization", basic_header());
      req.set_request_uri(resource + "?" + (realm_uri.query().empty() ? "" : realm_uri.query() + "&") + query);
    }
    req.headers().add("User-Agent", impl_->options.userAgent);
    auto self = shared_from_this();
    origin->client->request(req, cancel_.get_token()).then([self, key, next](pplx::task<http::http_response> t) {
      http::http_response response;
      try {
        response = t.get();
      } catch (const std::exception& e) {
        self->count("error");
        return self->fail_transport(e);
      }
      self->count(std::to_string(response.status_code()));
      const auto status = response.status_code();
      if (status == 401 || status == 403)
        return self->fail(Failure::Unauthorized,
                          "the token service of registry " + self->host_ + " refused " +
                              (self->credential_ ? "the configured credentials" : "an anonymous token") + " for " +
                              self->ref_.path + " (HTTP " + std::to_string(status) + ")");
      if (status == 429) return self->fail(Failure::RateLimited, "the token service of registry " + self->host_ + " is rate limiting podgate");
      if (status != 200)
        return self->fail(status >= 500 ? Failure::ServerError : Failure::BadResponse,
                          "the token service of registry " + self->host_ + " answered HTTP " + std::to_string(status));
      self->read_body(response, self->impl_->options.maxTokenBytes, [self, key, next](std::string body) {
        rapidjson::Document doc;
        doc.Parse(body.data(), body.size());
        std::string token;
        long expires = 60;  // the spec's default when expires_in is absent
        if (!doc.HasParseError() && doc.IsObject()) {
          for (const char* name : {"access_token", "token"}) {  // access_token wins (the OAuth2 name)
            auto it = doc.FindMember(name);
            if (it != doc.MemberEnd() && it->value.IsString() && it->value.GetStringLength() > 0) {
              token = it->value.GetString();
              break;
            }
          }
          auto e = doc.FindMember("expires_in");
          if (e != doc.MemberEnd() && e->value.IsInt64()) expires = static_cast<long>(std::clamp<int64_t>(e->value.GetInt64(), 1, 86400));
        }
        const bool printable = std::all_of(token.begin(), token.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
        if (token.empty() || !printable)
          return self->fail(Failure::BadResponse, "the token service of registry " + self->host_ + " sent no usable token");
        self->impl_->store_token(key, token, std::chrono::seconds(expires));
        self->authorization_ = "Bearer " + token;
        next();
      });
    });
  }

  std::shared_ptr<Client::Impl> impl_;
  image::Reference ref_;
  Client::Callback done_;
  Clock::time_point started_, deadline_;
  std::string host_, scheme_, label_, scope_;
  const config::RegistryConfig* settings_ = nullptr;
  std::optional<Credential> credential_;
  std::shared_ptr<Origin> origin_;
  std::string authorization_;
  std::string headDigest_;
  bool triedAuth_ = false;
  bool redirectedAway_ = false;
  int requests_ = 0;
  std::atomic<bool> finished_{false};
  std::atomic<bool> timedOut_{false};
  pplx::cancellation_token_source cancel_;
  std::shared_ptr<Timers::Handle> budget_;
};

}  // namespace

Client::Client(std::vector<config::RegistryConfig> registries, ClientOptions options, metrics::Metrics* metrics,
               log::Logger* logger)
    : impl_(std::make_shared<Impl>()) {
  impl_->registries = std::move(registries);
  impl_->options = options;
  impl_->metrics = metrics;
  impl_->logger = logger;
  for (const auto& r : impl_->registries) {
    if (!r.credentialsFile.empty()) impl_->keyring.add_file(r.credentialsFile);
    if (!r.caFile.empty()) {
      std::FILE* f = std::fopen(r.caFile.c_str(), "r");
      if (!f) throw std::runtime_error("registries: " + r.host + ": caFile " + r.caFile + " cannot be read");
      std::fclose(f);
    }
  }
}

Client::~Client() = default;

void Client::resolve(const image::Reference& ref, Callback done) {
  auto attempt = std::make_shared<Attempt>(impl_, ref, std::move(done));
  attempt->start();
}

}  // namespace podgate::registry
