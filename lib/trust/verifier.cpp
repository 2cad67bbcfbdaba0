#include "trust/verifier.h"

#include <utility>
#include <vector>

#include "registry/coalescing_cache.h"
#include "trust/cosign.h"

namespace podgate::trust {

using Clock = std::chrono::steady_clock;
using registry::Failure;
using registry::Fetched;
using registry::FetchRequest;

const char* to_string(SignatureStatus status) {
  switch (status) {
    case SignatureStatus::Verified: return "verified";
    case SignatureStatus::Unsigned: return "unsigned";
    case SignatureStatus::Invalid: return "invalid";
    case SignatureStatus::Error: return "error";
  }
  return "error";
}

namespace {

constexpr const char* kIndexAccept = "application/vnd.oci.image.index.v1+json";
constexpr const char* kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

// "sha256:<hex>" -> "sha256-<hex>": the tag schema of the referrers fallback and of .sig.
std::string digest_tag(const std::string& digest) {
  std::string tag = digest;
  if (const auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag;
}

// One lookup in flight: a chain of fetches, each started from the previous one's answer.
class Lookup : public std::enable_shared_from_this<Lookup> {
 public:
  using Done = std::function<void(SignatureCheck)>;
  Lookup(std::shared_ptr<registry::Client> client, image::Reference repository, std::string digest,
         std::shared_ptr<const KeySet> keys, std::optional<registry::Credential> credential, std::size_t maxCandidates,
         Done done)
      : client_(std::move(client)), repository_(std::move(repository)), digest_(std::move(digest)), keys_(std::move(keys)),
        credential_(std::move(credential)), maxCandidates_(maxCandidates), done_(std::move(done)) {}

  void start() {
    auto self = shared_from_this();
    get({"referrers/" + digest_, kIndexAccept, kMaxManifestBytes, ""}, [self](Fetched f) {
      // A registry without the referrers API answers 404 (the OCI spec), some 400 or 405 (read as
      // BadResponse): the referrers tag stands in for it, as cosign's client falls back too.
      if (f.failure == Failure::NotFound || f.failure == Failure::BadResponse) return self->referrers_tag();
      if (!f.ok()) return self->fail(f);
      self->bundles_from_index(f.body, "the referrers API");
    });
  }

 private:
  void get(FetchRequest what, std::function<void(Fetched)> then) {
    client_->fetch(repository_, std::move(what), credential_, [self = shared_from_this(), then = std::move(then)](Fetched f) {
      self->requests_ += f.requests;
      then(std::move(f));
    });
  }

  void referrers_tag() {
    auto self = shared_from_this();
    get({"manifests/" + digest_tag(digest_), kIndexAccept, kMaxManifestBytes, ""}, [self](Fetched f) {
      if (f.failure == Failure::NotFound) return self->legacy();
      if (!f.ok()) return self->fail(f);
      self->bundles_from_index(f.body, "the referrers tag " + digest_tag(self->digest_));
    });
  }

  void bundles_from_index(const std::string& body, const std::string& where) {
    std::string error;
    auto found = parse_referrers(body, &error);
    if (!found) {
      reasons_.push_back(where + " is unusable: " + error);
      return legacy();
    }
    bundles_ = std::move(*found);
    if (bundles_.size() > maxCandidates_) bundles_.resize(maxCandidates_);
    next_bundle(0);
  }

  void next_bundle(std::size_t i) {
    if (i >= bundles_.size()) return legacy();
    auto self = shared_from_this();
    const std::string manifest = bundles_[i].digest;
    get({"manifests/" + manifest, kManifestAccept, kMaxManifestBytes, manifest}, [self, i, manifest](Fetched f) {
      if (!f.ok()) return f.failure == Failure::NotFound ? self->skip_bundle(i, "referrer " + manifest + " is gone")
                                                         : self->fail(f);
      std::string error;
      auto layer = parse_bundle_manifest(f.body, self->digest_, &error);
      if (!layer) return self->skip_bundle(i, "referrer " + manifest + ": " + error);
      self->get({"blobs/" + layer->digest, "", kMaxPayloadBytes, layer->digest}, [self, i](Fetched blob) {
        if (!blob.ok()) return blob.failure == Failure::NotFound ? self->skip_bundle(i, "a bundle blob is missing")
                                                                 : self->fail(blob);
        const Verification v = verify_bundle(blob.body, self->digest_, *self->keys_);
        if (v.verified()) return self->verified("bundle", v.keyId);
        self->skip_bundle(i, "bundle " + self->bundles_[i].digest.substr(7, 12) + ": " + v.reason);
      });
    });
  }

  // A candidate the index did not call a bundle (kEmptyMediaType, none) that is not one is
  // another artifact: skipped without a word.
  void skip_bundle(std::size_t i, std::string reason) {
    if (bundles_[i].artifactType == kBundleMediaType) reasons_.push_back(std::move(reason));
    next_bundle(i + 1);
  }

  void legacy() {
    auto self = shared_from_this();
    const std::string tag = digest_tag(digest_) + ".sig";
    get({"manifests/" + tag, kManifestAccept, kMaxManifestBytes, ""}, [self, tag](Fetched f) {
      if (f.failure == Failure::NotFound) return self->none_verified();
      if (!f.ok()) return self->fail(f);
      std::string error;
      auto layers = parse_signature_manifest(f.body, &error);
      if (!layers) {
        self->reasons_.push_back("the " + tag + " manifest is unusable: " + error);
        return self->none_verified();
      }
      self->signatures_ = std::move(*layers);
      if (self->signatures_.size() > self->maxCandidates_) self->signatures_.resize(self->maxCandidates_);
      self->next_signature(0);
    });
  }

  void next_signature(std::size_t i) {
    if (i >= signatures_.size()) return none_verified();
    auto self = shared_from_this();
    const std::string blob = signatures_[i].blob.digest;
    get({"blobs/" + blob, "", kMaxPayloadBytes, blob}, [self, i](Fetched f) {
      if (!f.ok() && f.failure != Failure::NotFound) return self->fail(f);
      if (f.ok()) {
        const Verification v = verify_signature_layer(self->signatures_[i], f.body, self->digest_, *self->keys_);
        if (v.verified()) return self->verified("legacy", v.keyId);
        self->reasons_.push_back(".sig: " + v.reason);
      } else {
        self->reasons_.push_back(".sig: a signature payload is missing");
      }
      self->next_signature(i + 1);
    });
  }

  void verified(const std::string& format, const std::string& keyId) {
    SignatureCheck c;
    c.status = SignatureStatus::Verified;
    c.format = format;
    c.keyId = keyId.substr(0, 12);
    finish(std::move(c));
  }

  void none_verified() {
    SignatureCheck c;
    if (reasons_.empty()) {
      c.status = SignatureStatus::Unsigned;
      c.detail = "no cosign signature for " + digest_ + " in " + repository_.repository() +
                 " (no Sigstore bundle referrer, no " + digest_tag(digest_) + ".sig tag)";
    } else {
      c.status = SignatureStatus::Invalid;
      c.detail = "no signature verifies with the trusted keys (" + keys_->short_ids() + "): ";
      for (std::size_t i = 0; i < reasons_.size() && i < 4; ++i) c.detail += (i ? "; " : "") + reasons_[i];
      if (reasons_.size() > 4) c.detail += "; and " + std::to_string(reasons_.size() - 4) + " more";
    }
    finish(std::move(c));
  }

  void fail(const Fetched& f) {
    SignatureCheck c;
    c.status = SignatureStatus::Error;
    c.failure = f.failure;
    c.detail = "cannot look up signatures: " + f.error;
    finish(std::move(c));
  }

  void finish(SignatureCheck c) {
    c.requests = requests_;
    auto done = std::move(done_);
    done(std::move(c));
  }

  std::shared_ptr<registry::Client> client_;
  image::Reference repository_;
  std::string digest_;
  std::shared_ptr<const KeySet> keys_;
  std::optional<registry::Credential> credential_;
  std::size_t maxCandidates_;
  Done done_;
  std::vector<Descriptor> bundles_;
  std::vector<SignatureLayer> signatures_;
  std::vector<std::string> reasons_;  // why each signature found did not verify
  int requests_ = 0;
};

}  // namespace

struct SignatureVerifier::Impl {
  Impl(std::shared_ptr<registry::Client> c, VerifierOptions o, metrics::Metrics* m)
      : client(std::move(c)), options(o), metrics(m),
        cache(o.maxEntries, [o](const SignatureCheck& check) {
          return check.status == SignatureStatus::Error ? o.errorTTL : o.ttl;
        }) {}
  std::shared_ptr<registry::Client> client;
  VerifierOptions options;
  metrics::Metrics* metrics;
  registry::CoalescingCache<SignatureCheck> cache;
};

SignatureVerifier::SignatureVerifier(std::shared_ptr<registry::Client> client, VerifierOptions options,
                                     metrics::Metrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(client), options, metrics)) {}

SignatureVerifier::~SignatureVerifier() = default;

void SignatureVerifier::verify(const image::Reference& image, const std::string& digest,
                               std::shared_ptr<const KeySet> keys, Clock::time_point deadline, Callback done) {
  verify(image, digest, std::move(keys), impl_->client->credential_for(image), deadline, std::move(done));
}

void SignatureVerifier::verify(const image::Reference& image, const std::string& digest,
                               std::shared_ptr<const KeySet> keys, const std::optional<registry::Credential>& credential,
                               Clock::time_point deadline, Callback done) {
  image::Reference repository = image;
  repository.tag.clear();
  repository.digest = digest;
  const std::string key = repository.repository() + "@" + digest + "\x1f" + keys->id() + "\x1f" +
                          registry::credential_id(credential);
  const std::string host = image.registry_host();
  auto late = [host] {
    SignatureCheck c;
    c.status = SignatureStatus::Error;
    c.failure = Failure::Timeout;
    c.detail = "registry " + host + " did not answer the signature lookup before the admission deadline";
    return c;
  };
  auto impl = impl_;
  auto start = [impl, repository, digest, keys, credential](std::function<void(SignatureCheck)> complete) {
    auto lookup = std::make_shared<Lookup>(impl->client, repository, digest, keys, credential,
                                           impl->options.maxCandidates, std::move(complete));
    lookup->start();
  };
  using Outcome = registry::CoalescingCache<SignatureCheck>::Outcome;
  const Outcome outcome = impl_->cache.get(key, deadline, late, start, std::move(done));
  if (impl_->metrics)
    impl_->metrics->count_signature_cache(outcome == Outcome::Hit ? "hit" : outcome == Outcome::Miss ? "miss" : "coalesced");
}

std::optional<registry::Credential> SignatureVerifier::credential_for(const image::Reference& image,
                                                                     const registry::Keyring* pod) const {
  return impl_->client->credential_for(image, pod);
}

std::size_t SignatureVerifier::size() const { return impl_->cache.size(); }

}  // namespace podgate::trust
