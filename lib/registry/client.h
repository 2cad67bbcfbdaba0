#pragma once
// The registry client: resolves an image reference to its manifest digest over the OCI
// distribution API, with the bearer-token and Basic flows, per-registry TLS settings and bounded
// answers. Asynchronous (Boost.Beast underneath, lib/registry/http_transport.h): a slow registry
// holds no caller's thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "image/reference.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "registry/credentials.h"
#include "registry/resolution.h"

namespace podgate::registry {

bool is_index_media_type(std::string_view media_type);

struct ClientOptions {
  std::chrono::milliseconds timeout{3000};  // one resolution, every request in it together
  std::size_t maxManifestBytes = 4 * 1024 * 1024;
  std::size_t maxTokenBytes = 64 * 1024;
  std::string userAgent = "podgate";
};

// The options a config's rules.images.resolve asks for (timeout, manifest size bound); the rest
// keep their defaults. One mapping for the admission path and `podgate resolve`, so the command
// resolves as admission does.
ClientOptions client_options(const config::ResolveSettings& settings);

// One object of a repository to GET (a signature manifest, a referrers index, a blob), with the
// same auth, redirect and rate-limit handling as a resolution.
struct FetchRequest {
  std::string path;            // below /v2/<repository>/: "manifests/sha256-<hex>.sig", "referrers/sha256:...", "blobs/sha256:..."
  std::string accept;          // the Accept header ("" for none: blobs)
  std::size_t maxBytes = 1024 * 1024;
  std::string expectDigest;    // "sha256:..." the bytes must hash to ("" when the path names no digest)
};

struct Fetched {
  Failure failure = Failure::None;  // NotFound: the registry answered 404 (an answer, not an outage)
  std::string error;                // one sentence for people, with the registry's host
  std::string body;
  std::string mediaType;            // Content-Type without parameters
  std::chrono::seconds retryAfter{0};
  int requests = 0;
  bool ok() const { return failure == Failure::None; }
};

class Client {
 public:
  // Reads every registries[].credentialsFile now; throws std::runtime_error naming the file when
  // one is unusable (podgate refuses to start rather than run without the credentials it was given).
  Client(std::vector<config::RegistryConfig> registries, ClientOptions options, metrics::Metrics* metrics,
         log::Logger* logger);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  using Callback = std::function<void(Resolution)>;
  // Resolves `ref` (its digest if it has one, else its tag). `done` is called exactly once, on a
  // client thread, never inline. Steps: HEAD /v2/<path>/manifests/<ref> with the full Accept
  // list; the Docker-Content-Digest header, or a GET and SHA-256 of the bytes when it is absent or
  // HEAD is refused; a GET of an index to list its children; a 401 answered by the challenge's
  // bearer-token or Basic flow, once.
  void resolve(const image::Reference& ref, Callback done);
  // The same, sending exactly `credential` (nullopt: anonymous) instead of choosing one from the
  // configured files. The credential is used only at the registry the image names and its token
  // service; never after a redirect to another host.
  void resolve(const image::Reference& ref, std::optional<Credential> credential, Callback done);

  using FetchCallback = std::function<void(Fetched)>;
  // GETs `what` from `repository`'s registry (its domain and path; tag and digest ignored), sending
  // `credential` as resolve() does. `done` is called exactly once, on a client thread. A body over
  // what.maxBytes is TooLarge; one that does not hash to what.expectDigest is BadResponse.
  void fetch(const image::Reference& repository, FetchRequest what, std::optional<Credential> credential,
             FetchCallback done);

  // The credential a resolution of `ref` sends: the best match in `pod` (a pod's imagePullSecrets,
  // may be null) first, else the best match in the configured credential files, else none. The
  // kubelet tries a pod's credentials before the node's in the same way.
  std::optional<Credential> credential_for(const image::Reference& ref, const Keyring* pod = nullptr) const;

  struct Impl;  // internal (client.cpp); public only so its helpers can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::registry
