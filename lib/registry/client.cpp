// The OCI distribution client. One resolution is a small state machine (Attempt) driven by the
// transport's callbacks: HEAD, maybe a token fetch and a retry, maybe a GET. Every request of a
// resolution shares one deadline (resolve.timeout), which the transport enforces on each
// operation, so nothing outlives it.
//
// Facts it follows (see docs/architecture.md "Image resolution"): the Accept list must name the
// index and list types or a multi-arch tag resolves to a different digest; HEAD does not count
// against Docker Hub's pull limit, GET does; Authorization is never sent to another host.

#include "registry/client.h"
#include "util/text.h"

#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "registry/credentials.h"
#include "registry/wire.h"
#include "http/transport.h"

namespace podgate::registry {

using Clock = std::chrono::steady_clock;
using http::HttpRequest;
using http::HttpResponse;
using http::Transport;
using http::TransportError;
using http::TransportResult;

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

using wire::base64;
using wire::Challenge;
using wire::parse_challenge;
using wire::sha256_digest;
using wire::url_encode;

Failure to_failure(TransportError error) {
  switch (error) {
    case TransportError::None: return Failure::None;
    case TransportError::Timeout: return Failure::Timeout;
    case TransportError::Unreachable: return Failure::Unreachable;
    case TransportError::Tls: return Failure::Tls;
    case TransportError::TooLarge: return Failure::TooLarge;
    case TransportError::Protocol: return Failure::BadResponse;
  }
  return Failure::Unreachable;
}

struct Token {
  std::string value;
  Clock::time_point expires;
};

// One scheme://host[:port]: its transport pool and what it taught us about its auth.
struct Origin {
  std::shared_ptr<http::Origin> pool;
  std::string base;  // "https://registry.example.com:5000"
  std::mutex mutex;  // guards challenge and quietUntil
  Challenge challenge;  // last 401 challenge (realm/service), if any
  // After a 429, no request goes to this registry before its Retry-After has passed: every
  // repository on it is refused at once instead of adding to the pressure.
  Clock::time_point quietUntil{};
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

  // `authority` is "host", "host:port" or "[v6]:port", as an image reference or URL writes it.
  std::shared_ptr<Origin> origin(bool tls, const std::string& authority, const config::RegistryConfig* settings) {
    const std::string base = std::string(tls ? "https://" : "http://") + authority;
    std::lock_guard<std::mutex> lock(mutex);
    if (origins.size() > 1024 && !origins.count(base)) origins.clear();  // bound: hosts come from pod specs
    auto& slot = origins[base];
    if (!slot) {
      http::Url url;
      if (!http::parse_url(base, url)) throw std::runtime_error("unusable registry address " + authority);
      if (settings) url.endpoint.caFile = settings->caFile;
      auto o = std::make_shared<Origin>();
      o->base = base;
      o->pool = Transport::shared().origin(url.endpoint);
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
  Attempt(std::shared_ptr<Client::Impl> impl, image::Reference ref, std::optional<Credential> credential,
          Client::Callback done)
      : impl_(std::move(impl)), ref_(std::move(ref)), done_(std::move(done)), credential_(std::move(credential)) {
    init();
  }
  // A fetch of one object of the repository instead of a resolution.
  Attempt(std::shared_ptr<Client::Impl> impl, image::Reference ref, FetchRequest what, std::optional<Credential> credential,
          Client::FetchCallback done)
      : impl_(std::move(impl)), ref_(std::move(ref)), credential_(std::move(credential)), fetch_(std::move(what)),
        fetchDone_(std::move(done)) {
    init();
  }

 private:
  void init() {
    started_ = Clock::now();
    deadline_ = started_ + impl_->options.timeout;
    host_ = ref_.registry_host();
    settings_ = config::find_registry(impl_->registries, ref_.domain);
    tls_ = !(settings_ && settings_->plainHTTP);
    label_ = impl_->metrics ? impl_->metrics->registry_label(ref_.domain) : std::string(ref_.domain);
    credentialId_ = credential_id(credential_);
    fromFiles_ = credential_ && credential_ == impl_->keyring.find(ref_.domain, ref_.path);
    scope_ = "repository:" + ref_.path + ":pull";
  }

 public:
  void start() {
    try {
      origin_ = impl_->origin(tls_, host_, settings_);
    } catch (const std::exception& e) {
      return fail(Failure::Unreachable, "cannot reach registry " + host_ + ": " + e.what());
    }
    // A registry that asked for a bearer token before will ask again: fetch it first and save
    // the 401 round trip.
    Challenge known;
    Clock::time_point quiet;
    {
      std::lock_guard<std::mutex> lock(origin_->mutex);
      known = origin_->challenge;
      quiet = origin_->quietUntil;
    }
    if (const auto now = Clock::now(); now < quiet) {
      Resolution r;
      r.failure = Failure::RateLimited;
      r.retryAfter = std::chrono::ceil<std::chrono::seconds>(quiet - now);
      r.error = "registry " + host_ + " is rate limiting podgate (HTTP 429; not asked again for another " +
                std::to_string(r.retryAfter.count()) + "s)";
      return finish(std::move(r));
    }
    auto self = shared_from_this();
    const std::string method = fetch_ ? "GET" : "HEAD";
    const std::string path = fetch_ ? "/v2/" + ref_.path + "/" + fetch_->path : manifest_path();
    if (known.scheme == "bearer") return authorize(known, [self, method, path] { self->request(method, path); });
    if (known.scheme == "basic" && credential_) authorization_ = basic_header();
    request(method, path);
  }

 private:
  std::string manifest_path(std::string_view reference = {}) const {
    return "/v2/" + ref_.path + "/manifests/" + std::string(reference.empty() ? ref_.manifest_reference() : reference);
  }
  std::string basic_header() const { return "Basic " + base64(credential_->username + ":" + credential_->password); }

  void finish(Resolution r) {
    if (finished_) return;
    if (fetch_) {
      Fetched f;
      f.failure = r.failure;
      f.error = std::move(r.error);
      f.retryAfter = r.retryAfter;
      return finish_fetch(std::move(f));
    }
    finished_ = true;
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

  void finish_fetch(Fetched f) {
    finished_ = true;
    f.requests = requests_;
    if (impl_->metrics && !f.ok() && f.failure != Failure::NotFound)
      impl_->metrics->count_registry_error(label_, to_string(f.failure));
    auto done = std::move(fetchDone_);
    done(std::move(f));
  }

  // A fetched object: its bytes must be those its digest names, when one is expected.
  void on_fetched(HttpResponse response) {
    if (!fetch_->expectDigest.empty() && sha256_digest(response.body) != fetch_->expectDigest)
      return fail(Failure::BadResponse, "registry " + host_ + " sent bytes that do not match " + fetch_->expectDigest +
                                            " for " + ref_.path + "/" + fetch_->path);
    Fetched f;
    f.mediaType = media_type(response);
    f.body = std::move(response.body);
    finish_fetch(std::move(f));
  }

  void fail(Failure failure, std::string why) {
    Resolution r;
    r.failure = failure;
    r.error = std::move(why);
    finish(std::move(r));
  }

  void fail_transport(const TransportResult& t, const std::string& who) {
    const Failure f = to_failure(t.error);
    if (f == Failure::Timeout)
      return fail(f, who + " did not answer within " + std::to_string(impl_->options.timeout.count()) + "ms");
    if (f == Failure::TooLarge) return fail(f, who + " sent an answer over the size limit (" + t.message + ")");
    // It was reached, but what came back is not HTTP: say so, or the user hunts a network problem.
    if (f == Failure::BadResponse) return fail(f, who + " sent an answer that is not valid HTTP: " + t.message);
    fail(f, "cannot reach " + who + ": " + t.message);
  }

  void count(const std::string& code) {
    ++requests_;
    if (impl_->metrics) impl_->metrics->count_registry_request(label_, code);
  }

  using Handler = std::function<void(HttpResponse)>;
  // Sends through the transport; counts the answer; a transport failure ends the resolution.
  void send(const std::shared_ptr<Origin>& origin, HttpRequest req, std::size_t max_body, const std::string& who,
            Handler then) {
    req.headers.emplace_back("User-Agent", impl_->options.userAgent);
    Transport::Limits limits;
    limits.maxBodyBytes = max_body;
    auto self = shared_from_this();
    Transport::shared().send(origin->pool, std::move(req), limits, deadline_,
                             [self, who, then = std::move(then)](TransportResult t) {
                               if (t.error != TransportError::None) {
                                 self->count("error");
                                 return self->fail_transport(t, who);
                               }
                               self->count(std::to_string(t.response.status));
                               // The resolution must end whatever happens: the digest cache
                               // waits on it for every image that shares this reference.
                               try {
                                 then(std::move(t.response));
                               } catch (const std::exception& e) {
                                 self->fail(Failure::BadResponse, who + " sent an answer podgate could not handle: " + e.what());
                               }
                             });
  }

  // A manifest request to the registry (or, after a redirect, to `absolute_url`).
  void request(const std::string& method, const std::string& path, const std::string& absolute_url = {},
               int redirects = 0) {
    HttpRequest req;
    req.method = method;
    const std::string accept = fetch_ ? fetch_->accept : kAccept;
    if (!accept.empty()) req.headers.emplace_back("Accept", accept);
    std::shared_ptr<Origin> target = origin_;
    req.target = path;
    if (!absolute_url.empty()) {
      // A redirect: its own origin (connection pool), and Authorization only for the same host.
      http::Url url;
      if (!http::parse_url(absolute_url, url))
        return fail(Failure::BadResponse, "registry " + host_ + " redirected to an unusable URL");
      if (tls_ && !url.endpoint.tls)
        return fail(Failure::BadResponse, "registry " + host_ + " redirected from https to plain http");
      try {
        target = impl_->origin(url.endpoint.tls, url.authority, config::find_registry(impl_->registries, url.authority));
      } catch (const std::exception& e) {
        return fail(Failure::BadResponse, "registry " + host_ + " redirected to " + url.authority + ": " + e.what());
      }
      req.target = url.target;
      if (target != origin_) redirectedAway_ = true;
      currentBase_ = target->base;
    } else {
      currentBase_ = origin_->base;
    }
    if (!authorization_.empty() && !redirectedAway_) req.headers.emplace_back("Authorization", authorization_);
    auto self = shared_from_this();
    send(target, std::move(req), fetch_ ? fetch_->maxBytes : impl_->options.maxManifestBytes, "registry " + host_,
         [self, method, path, redirects](HttpResponse response) {
           self->on_response(method, path, std::move(response), redirects);
         });
  }

  void on_response(const std::string& method, const std::string& path, HttpResponse response, int redirects) {
    const int status = response.status;
    if (status == 200) {
      if (fetch_) return on_fetched(std::move(response));
      if (method == "HEAD") return on_head(response);
      return on_manifest(response);
    }
    if (status == 401 && redirectedAway_) {
      // Credentials and tokens belong to the registry they were configured for; another host
      // that asks for them gets none.
      return fail(Failure::Unauthorized, "registry " + host_ + " redirected to a host that asks for credentials; "
                                         "podgate does not send credentials across hosts");
    }
    if (status == 401 && !triedAuth_) {
      triedAuth_ = true;
      const Challenge c = parse_challenge(response.header("WWW-Authenticate"));
      // Remembered (to authenticate up front next time) only when it is usable, so one bad
      // answer cannot break every later resolution at this registry.
      if ((c.scheme == "bearer" && usable_realm(c)) || c.scheme == "basic") {
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
                      (credential_ ? (fromFiles_ ? " with the configured credentials" : " with the pod's pull secret credentials")
                                   : "; no credentials are configured for it"));
    }
    if (status == 404 && fetch_)
      return fail(Failure::NotFound, "registry " + host_ + " has no " + ref_.path + "/" + fetch_->path + " (HTTP 404)");
    if (status == 404) {
      return fail(Failure::NotFound, "image " + ref_.canonical() + " does not exist (registry " + host_ +
                                         " answered 404 for " + std::string(ref_.manifest_reference()) + ")");
    }
    if (status == 405 && method == "HEAD") return request("GET", path);
    if (status == 429) {
      Resolution r;
      r.failure = Failure::RateLimited;
      const std::string after = response.header("Retry-After");
      long seconds = 60;  // an HTTP-date or garbage: a minute
      if (!after.empty() && after.size() < 7 && std::all_of(after.begin(), after.end(), ::isdigit)) seconds = std::stol(after);
      r.retryAfter = std::chrono::seconds(std::clamp<long>(seconds, 1, 3600));
      r.error = "registry " + host_ + " is rate limiting podgate (HTTP 429; retry after " +
                std::to_string(r.retryAfter.count()) + "s)";
      {
        std::lock_guard<std::mutex> lock(origin_->mutex);
        origin_->quietUntil = std::max(origin_->quietUntil, Clock::now() + r.retryAfter);
      }
      return finish(std::move(r));
    }
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      std::string location = response.header("Location");
      if (location.empty() || redirects >= kMaxRedirects)
        return fail(Failure::BadResponse, "registry " + host_ + " sent too many redirects or one without a Location");
      // Relative to the host that sent it (after a redirect, not the registry we started at).
      if (location.front() == '/') location = currentBase_ + location;
      return request(status == 303 ? std::string("GET") : method, path, location, redirects + 1);
    }
    if (status >= 500)
      return fail(Failure::ServerError, "registry " + host_ + " failed with HTTP " + std::to_string(status));
    fail(Failure::BadResponse, "registry " + host_ + " answered HTTP " + std::to_string(status) + " for " + path);
  }

  static std::string media_type(const HttpResponse& response) {
    std::string type = response.header("Content-Type");
    if (const auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    return type;
  }

  void on_head(const HttpResponse& response) {
    const std::string digest = response.header("Docker-Content-Digest");
    const std::string type = media_type(response);
    if (!image::is_valid_digest(digest)) return request("GET", manifest_path());
    if (!ref_.digest.empty() && digest.starts_with(ref_.digest.substr(0, ref_.digest.find(':') + 1)) && digest != ref_.digest)
      return fail(Failure::BadResponse, "registry " + host_ + " answered " + digest + " for " + ref_.digest);
    if (is_index_media_type(type)) {
      // Fetch the index once, by digest, for its children (the scan cache may know either).
      headDigest_ = digest;
      return request("GET", manifest_path(digest));
    }
    Resolution r;
    r.digest = digest;
    r.mediaType = type;
    finish(std::move(r));
  }

  void on_manifest(const HttpResponse& response) {
    const std::string& body = response.body;
    const std::string computed = sha256_digest(body);
    const std::string claimed = response.header("Docker-Content-Digest");
    if (!claimed.empty() && claimed.starts_with("sha256:") && claimed != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest whose bytes do not match its digest " + claimed);
    if (!headDigest_.empty() && headDigest_ != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent index bytes that do not match digest " + headDigest_);
    if (!ref_.digest.empty() && ref_.digest.starts_with("sha256:") && ref_.digest != computed)
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest that does not match " + ref_.digest);
    Resolution r;
    r.digest = computed;
    std::string type = media_type(response);
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return fail(Failure::BadResponse, "registry " + host_ + " sent a manifest that is not a JSON object");
    // Read through a const view: clang warns (C++20) on comparing RapidJSON's non-const member iterators.
    const rapidjson::Value& root = doc;
    if (auto it = root.FindMember("mediaType"); it != root.MemberEnd() && it->value.IsString()) type = it->value.GetString();
    r.mediaType = type;
    if (auto it = root.FindMember("manifests"); it != root.MemberEnd() && it->value.IsArray()) {
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

  // A realm podgate will ask for a token: a URL, https unless the registry itself is plain HTTP.
  bool usable_realm(const Challenge& c) const {
    auto it = c.params.find("realm");
    http::Url realm;
    return it != c.params.end() && http::parse_url(it->second, realm) && (realm.endpoint.tls || !tls_);
  }

  // Gets a bearer token for this repository (cached until shortly before it expires), sets the
  // Authorization header, then continues with `next`.
  void authorize(const Challenge& c, std::function<void()> next) {
    auto realm_it = c.params.find("realm");
    http::Url realm;
    if (realm_it == c.params.end() || !http::parse_url(realm_it->second, realm))
      return fail(Failure::BadResponse, "registry " + host_ + " asked for a bearer token without a usable realm");
    // A token endpoint over plain http would expose credentials; only a registry configured for
    // plain HTTP may use one.
    if (!realm.endpoint.tls && tls_)
      return fail(Failure::BadResponse, "registry " + host_ + " named a token realm that is not https: " + realm_it->second);
    const std::string service = c.params.count("service") ? c.params.at("service") : std::string();
    // Keyed by the whole credential, not its user name: two pods' pull secrets may share a user
    // name with different passwords, and one must never reuse the token the other earned.
    const std::string key = realm_it->second + "\x1f" + service + "\x1f" + scope_ + "\x1f" + credentialId_;
    if (auto token = impl_->cached_token(key)) {
      authorization_ = "Bearer " + *token;
      return next();
    }

    // The token service belongs to the registry that named it: without an entry of its own it
    // shares the registry's settings (its CA file, typically).
    const config::RegistryConfig* realm_settings = config::find_registry(impl_->registries, realm.authority);
    std::shared_ptr<Origin> origin;
    try {
      origin = impl_->origin(realm.endpoint.tls, realm.authority, realm_settings ? realm_settings : settings_);
    } catch (const std::exception& e) {
      return fail(Failure::BadResponse, "registry " + host_ + " named an unusable token realm: " + e.what());
    }
    std::string query = "scope=" + url_encode(scope_);
    if (!service.empty()) query = "service=" + url_encode(service) + "&" + query;
    HttpRequest req;
    if (credential_ && !credential_->identityToken.empty()) {
      // An identity token is an OAuth2 refresh token, exchanged with a POST (distribution's token spec).
      req.method = "POST";
      req.target = realm.target;
      req.body = "grant_type=refresh_token&client_id=podgate&" + query + "&refresh_token=" + url_encode(credential_->identityToken);
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    } else {
      req.method = "GET";
      req.target = realm.target + (realm.target.find('?') == std::string::npos ? "?" : "&") + query;
      if (credential_) req.headers.emplace_back("Authorization", basic_header());
    }
    const std::string who = "the token service of registry " + host_;
    auto self = shared_from_this();
    send(origin, std::move(req), impl_->options.maxTokenBytes, who, [self, key, who, next](HttpResponse response) {
      const int status = response.status;
      if (status == 401 || status == 403)
        return self->fail(Failure::Unauthorized, who + " refused " +
                                                     (self->credential_ ? (self->fromFiles_ ? "the configured credentials"
                                                                                            : "the pod's pull secret credentials")
                                                                        : "an anonymous token") +
                                                     " for " + self->ref_.path + " (HTTP " + std::to_string(status) + ")");
      if (status == 429) return self->fail(Failure::RateLimited, who + " is rate limiting podgate");
      if (status != 200)
        return self->fail(status >= 500 ? Failure::ServerError : Failure::BadResponse,
                          who + " answered HTTP " + std::to_string(status));
      rapidjson::Document doc;
      doc.Parse(response.body.data(), response.body.size());
      std::string token;
      long expires = 60;  // the spec's default when expires_in is absent
      if (!doc.HasParseError() && doc.IsObject()) {
        const rapidjson::Value& root = doc;  // const iterators, as above
        for (const char* name : {"access_token", "token"}) {  // access_token wins (the OAuth2 name)
          auto it = root.FindMember(name);
          if (it != root.MemberEnd() && it->value.IsString() && it->value.GetStringLength() > 0) {
            token = it->value.GetString();
            break;
          }
        }
        auto e = root.FindMember("expires_in");
        if (e != root.MemberEnd() && e->value.IsInt64())
          expires = static_cast<long>(std::clamp<int64_t>(e->value.GetInt64(), 1, 86400));
      }
      const bool printable = std::all_of(token.begin(), token.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
      if (token.empty() || !printable) return self->fail(Failure::BadResponse, who + " sent no usable token");
      self->impl_->store_token(key, token, std::chrono::seconds(expires));
      self->authorization_ = "Bearer " + token;
      next();
    });
  }

  std::shared_ptr<Client::Impl> impl_;
  image::Reference ref_;
  Client::Callback done_;
  std::optional<Credential> credential_;
  std::optional<FetchRequest> fetch_;  // set: a fetch (fetchDone_), not a resolution (done_)
  Client::FetchCallback fetchDone_;
  std::string credentialId_;  // credential_id(credential_): what keys this credential's bearer tokens
  bool fromFiles_ = false;    // credential_ is the configured files' (for messages only)
  Clock::time_point started_, deadline_;
  std::string host_, label_, scope_;
  bool tls_ = true;
  const config::RegistryConfig* settings_ = nullptr;
  std::shared_ptr<Origin> origin_;
  std::string authorization_;
  std::string currentBase_;  // scheme://authority of the host the last request went to
  std::string headDigest_;
  bool triedAuth_ = false;
  bool redirectedAway_ = false;
  bool finished_ = false;  // steps run one after another, never concurrently
  int requests_ = 0;
};

}  // namespace

ClientOptions client_options(const config::ResolveSettings& settings) {
  ClientOptions options;
  options.timeout = settings.timeout;
  options.maxManifestBytes = settings.maxManifestBytes;
  return options;
}

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
      // Load it now, so a bad file stops podgate at start rather than failing every resolution.
      try {
        http::check_ca_file(r.caFile);
      } catch (const std::exception& e) {
        throw std::runtime_error("registries: " + r.host + ": caFile: " + e.what());
      }
    }
  }
}

Client::~Client() = default;

void Client::resolve(const image::Reference& ref, Callback done) {
  resolve(ref, credential_for(ref), std::move(done));
}

void Client::resolve(const image::Reference& ref, std::optional<Credential> credential, Callback done) {
  auto attempt = std::make_shared<Attempt>(impl_, ref, std::move(credential), std::move(done));
  attempt->start();
}

void Client::fetch(const image::Reference& repository, FetchRequest what, std::optional<Credential> credential,
                   FetchCallback done) {
  auto attempt = std::make_shared<Attempt>(impl_, repository, std::move(what), std::move(credential), std::move(done));
  attempt->start();
}

std::optional<Credential> Client::credential_for(const image::Reference& ref, const Keyring* pod) const {
  if (pod) {
    if (auto found = pod->find(ref.domain, ref.path)) return found;
  }
  return impl_->keyring.find(ref.domain, ref.path);
}

}  // namespace podgate::registry
