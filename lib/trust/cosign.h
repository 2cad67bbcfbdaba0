#pragma once
// cosign's two ways of storing an image signature made with a key, parsed and checked offline.
// The caller fetches manifests and blobs from the registry; everything here is pure.
//
// 1. Legacy (cosign <= v2, `--new-bundle-format=false`): an image manifest under the tag
//    `sha256-<hex>.sig`, one simple-signing layer per signature, the signature in a layer
//    annotation, the payload JSON as the blob.
// 2. Sigstore bundle (cosign v3 default): an OCI 1.1 referrer of the image whose one layer is a
//    bundle JSON holding a DSSE envelope over an in-toto Statement.
// Transparency-log entries are not checked (cosign's --insecure-ignore-tlog semantics), and
// keyless (certificate) signatures are reported as unsupported.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trust/keys.h"

namespace podgate::trust {

inline constexpr std::size_t kMaxManifestBytes = 1024 * 1024;  // a signature manifest, a referrers index
inline constexpr std::size_t kMaxPayloadBytes = 1024 * 1024;   // a simple-signing payload, a bundle
inline constexpr std::size_t kMaxSignatureBytes = 16 * 1024;   // one decoded signature
inline constexpr std::size_t kMaxSignatureLayers = 32;         // layers of one .sig manifest looked at
inline constexpr std::size_t kMaxReferrers = 32;               // bundle referrers looked at
inline constexpr std::size_t kMaxDsseSignatures = 8;           // signatures of one envelope tried
inline constexpr unsigned kMaxJsonDepth = 32;

inline constexpr std::string_view kSimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view kSignatureAnnotation = "dev.cosignproject.cosign/signature";
inline constexpr std::string_view kBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::string_view kEmptyMediaType = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kPredicateTypeAnnotation = "dev.sigstore.bundle.predicateType";
inline constexpr std::string_view kCosignSignPredicate = "https://sigstore.dev/cosign/sign/v1";

// An OCI content descriptor (only the fields used here).
struct Descriptor {
  std::string mediaType;
  std::string digest;  // "sha256:<64 lowercase hex>" (other algorithms are skipped when parsing)
  std::uint64_t size = 0;
  std::string artifactType;   // index entries (referrers) only
  std::string predicateType;  // the dev.sigstore.bundle.predicateType annotation, when present
};

// One signature of a legacy .sig manifest: the payload blob and the base64 signature.
struct SignatureLayer {
  Descriptor blob;
  std::string signatureBase64;
};

// The outcome of checking one signature.
struct Verification {
  enum class Status {
    Verified,     // a key of the set signed it, and it names the image
    Failed,       // it does not verify, or names another image, or is malformed
    Unsupported,  // keyless (certificate) or message-signature bundles: cannot be checked with keys
    NotASignature // a bundle of another predicate type (an attestation): not a signature at all
  };
  Status status = Status::Failed;
  std::string keyId;   // Verified: the id of the key that verified it
  std::string reason;  // otherwise: what is wrong, in words an operator can act on

  bool verified() const { return status == Status::Verified; }
};

// "sha256:<64 lowercase hex>".
bool is_sha256_digest(std::string_view digest);
// "sha256:" + lowercase hex SHA-256 of `bytes`.
std::string sha256_digest(std::string_view bytes);

// The simple-signing layers of a `sha256-<hex>.sig` manifest (at most kMaxSignatureLayers; other
// layers, and ones without a signature annotation or with a non-sha256 digest, are skipped).
// nullopt with `why` when the text is not an image manifest. An empty list is possible.
std::optional<std::vector<SignatureLayer>> parse_signature_manifest(std::string_view manifestJson,
                                                                    std::string* why = nullptr);

// Checks one legacy signature: `payload` is the exact payload bytes, `signatureBase64` the
// annotation, `imageDigest` the digest the image reference resolved to. The signature must verify
// over the payload with a key of `keys`, and the payload must be a cosign container image
// signature naming `imageDigest` (critical.image.docker-manifest-digest).
Verification verify_simple_signing(std::string_view payload, std::string_view signatureBase64,
                                   std::string_view imageDigest, const KeySet& keys);

// The same for a layer whose blob the caller fetched: first checks that `blob` has the layer's
// size and sha256 digest.
Verification verify_signature_layer(const SignatureLayer& layer, std::string_view blob, std::string_view imageDigest,
                                    const KeySet& keys);

// The Sigstore bundle referrers listed in an OCI referrers answer (an image index, from the
// referrers API or the `sha256-<hex>` fallback tag): entries with artifactType kBundleMediaType
// (or the empty config type, or none: registries that derive it from the config; the referrer
// manifest then tells),
// at most kMaxReferrers, skipping those whose predicateType annotation names something other
// than a cosign signature. nullopt with `why` when the text is not an index.
std::optional<std::vector<Descriptor>> parse_referrers(std::string_view indexJson, std::string* why = nullptr);

// The bundle layer of one referrer manifest, after checking that its subject is `imageDigest`
// and that it has exactly one layer of kBundleMediaType. nullopt with `why` otherwise.
std::optional<Descriptor> parse_bundle_manifest(std::string_view manifestJson, std::string_view imageDigest,
                                                std::string* why = nullptr);

// Checks a Sigstore bundle (the layer blob): a DSSE envelope of an in-toto Statement
// (predicateType kCosignSignPredicate, a subject with sha256 = `imageDigest`'s hex) whose
// signature over the DSSE pre-authentication encoding verifies with a key of `keys` (the key named
// by verificationMaterial.publicKey.hint is tried first).
Verification verify_bundle(std::string_view bundleJson, std::string_view imageDigest, const KeySet& keys);

// DSSE's pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>".
std::string dsse_pae(std::string_view payloadType, std::string_view body);

}  // namespace podgate::trust
