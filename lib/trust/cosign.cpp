// cosign signature formats: the legacy .sig manifest with simple-signing payloads, and Sigstore
// bundles stored as OCI referrers. Field names and media types as in cosign's
// specs/SIGNATURE_SPEC.md and specs/BUNDLE_SPEC.md and sigstore's payload.go.

#include "trust/cosign.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "util/base64.h"
#include "util/json_depth.h"
#include "util/text.h"

namespace podgate::trust {

namespace {

using rapidjson::Value;
using Status = Verification::Status;

constexpr std::size_t kMaxSubjects = 256;  // in-toto subjects looked at
constexpr std::size_t kQuoteBytes = 120;   // of a foreign string quoted in a message

const Value* member(const Value& v, std::string_view name) {
  if (!v.IsObject()) return nullptr;
  const auto it = v.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string_view string_of(const Value* v) {
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view{};
}

std::string quote(std::string_view text) { return util::quoted(text, kQuoteBytes, true); }

bool parse_json(std::string_view text, std::size_t maxBytes, const char* what, rapidjson::Document& doc,
                std::string* why) {
  if (text.size() > maxBytes) {
    if (why) *why = std::string(what) + " is larger than " + std::to_string(maxBytes / 1024) + " KiB";
    return false;
  }
  std::string error;
  if (!util::parse_depth_limited(text, doc, kMaxJsonDepth, &error)) {
    if (why) *why = std::string(what) + " is " + error;
    return false;
  }
  if (!doc.IsObject()) {
    if (why) *why = std::string(what) + " is not a JSON object";
    return false;
  }
  return true;
}

// A descriptor with a sha256 digest and a size; nullopt for anything else.
std::optional<Descriptor> descriptor_of(const Value& v) {
  const Value* size = member(v, "size");
  const std::string_view digest = string_of(member(v, "digest"));
  if (!size || !size->IsUint64() || !is_sha256_digest(digest)) return std::nullopt;
  Descriptor d;
  d.mediaType = std::string(string_of(member(v, "mediaType")));
  d.digest = std::string(digest);
  d.size = size->GetUint64();
  d.artifactType = std::string(string_of(member(v, "artifactType")));
  if (const Value* annotations = member(v, "annotations"))
    d.predicateType = std::string(string_of(member(*annotations, kPredicateTypeAnnotation)));
  return d;
}

Verification failed(std::string reason, Status status = Status::Failed) {
  Verification v;
  v.status = status;
  v.reason = std::move(reason);
  return v;
}

// Standard base64; URL-safe too for DSSE fields, since protobuf's JSON form accepts both.
std::optional<std::string> decode(std::string_view text, std::size_t maxBytes, bool urlSafeToo) {
  auto out = util::decode_base64(text, maxBytes);
  if (out || !urlSafeToo) return out;
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  return util::decode_base64(standard, maxBytes);
}

// The common preconditions of every check; a failure when one does not hold.
std::optional<Verification> precondition_failure(std::string_view imageDigest, const KeySet& keys) {
  if (!is_sha256_digest(imageDigest))
    return failed("the image digest " + quote(imageDigest) + " is not sha256:<64 hex digits>");
  if (keys.empty()) return failed("no public key to check the signature with");
  return std::nullopt;
}

std::string no_key_reason(const KeySet& keys) {
  if (keys.size() == 1) return "the signature does not verify with " + keys.keys().front().describe();
  return "no key in the set verifies the signature: tried " + keys.short_ids();
}

// The key of `keys` that made `signature` over `message`, trying `first` (if any) before the others.
const PublicKey* verifying_key(const KeySet& keys, std::string_view message, std::string_view signature,
                               const PublicKey* first = nullptr) {
  if (first && verify(*first, message, signature)) return first;
  for (const auto& k : keys.keys())
    if (&k != first && verify(k, message, signature)) return &k;
  return nullptr;
}

// critical.image.docker-manifest-digest of a simple-signing payload (the spec's example spells
// it with a capital D; Go's decoder would accept either).
std::string_view signed_digest(const Value& critical) {
  const Value* image = member(critical, "image");
  if (!image) return {};
  const Value* digest = member(*image, "docker-manifest-digest");
  if (!digest) digest = member(*image, "Docker-manifest-digest");
  return string_of(digest);
}

// The payload's claims, once its signature verified.
Verification check_simple_signing_payload(std::string_view payload, std::string_view imageDigest) {
  rapidjson::Document doc;
  std::string why;
  if (!parse_json(payload, kMaxPayloadBytes, "the signed payload", doc, &why)) return failed(why);
  const Value* critical = member(doc, "critical");
  const std::string_view type = string_of(critical ? member(*critical, "type") : nullptr);
  if (type != "cosign container image signature")
    return failed("the signed payload is not a cosign container image signature (critical.type is " + quote(type) +
                  ")");
  const std::string_view digest = signed_digest(*critical);
  if (digest.empty()) return failed("the signed payload names no image digest (critical.image.docker-manifest-digest)");
  if (digest != imageDigest)
    return failed("the signature is for " + quote(digest) + ", not for this image's " + std::string(imageDigest));
  Verification ok;
  ok.status = Status::Verified;
  return ok;
}

bool is_bundle_media_type(std::string_view type) {
  return type == kBundleMediaType || type == "application/vnd.dev.sigstore.bundle+json;version=0.3" ||
         type == "application/vnd.dev.sigstore.bundle.v0.2+json" ||
         type == "application/vnd.dev.sigstore.bundle+json;version=0.2";
}

// Why a bundle cannot be checked with keys at all, or nullopt when it can.
std::optional<Verification> unsupported_bundle(const Value& bundle) {
  const Value* material = member(bundle, "verificationMaterial");
  if (!material || !material->IsObject()) return failed("the bundle has no verificationMaterial");
  if (member(*material, "certificate") || member(*material, "x509CertificateChain"))
    return failed("a keyless bundle (signed with a certificate): keyless verification is not supported, only "
                  "public keys",
                  Status::Unsupported);
  if (!member(bundle, "dsseEnvelope")) {
    if (member(bundle, "messageSignature"))
      return failed("a message-signature bundle (a signed blob digest, not a DSSE image signature): unsupported",
                    Status::Unsupported);
    return failed("the bundle has neither a dsseEnvelope nor a messageSignature");
  }
  return std::nullopt;
}

struct Envelope {
  std::string payload;  // decoded
  std::vector<std::string> signatures;  // decoded, at most kMaxDsseSignatures
};

std::optional<Envelope> parse_envelope(const Value& dsse, std::string* why) {
  const std::string_view type = string_of(member(dsse, "payloadType"));
  if (type != "application/vnd.in-toto+json") {
    *why = "the DSSE payloadType is " + quote(type) + ", not application/vnd.in-toto+json";
    return std::nullopt;
  }
  Envelope e;
  auto payload = decode(string_of(member(dsse, "payload")), kMaxPayloadBytes, true);
  if (!payload || payload->empty()) {
    *why = "the DSSE payload is missing, not base64, or larger than 1 MiB";
    return std::nullopt;
  }
  e.payload = std::move(*payload);
  const Value* signatures = member(dsse, "signatures");
  if (signatures && signatures->IsArray())
    for (const Value& s : signatures->GetArray()) {
      if (e.signatures.size() == kMaxDsseSignatures) break;
      if (auto sig = decode(string_of(member(s, "sig")), kMaxSignatureBytes, true); sig && !sig->empty())
        e.signatures.push_back(std::move(*sig));
    }
  if (e.signatures.empty()) {
    *why = "the DSSE envelope has no usable signature (sig missing, not base64, or larger than 16 KiB)";
    return std::nullopt;
  }
  return e;
}

// Classifies the in-toto Statement (before its signature is checked, so an attestation is
// reported as such rather than as a bad signature); then `subjectOk` says whether it names the image.
std::optional<Verification> check_statement(std::string_view statement, std::string_view imageDigest,
                                            bool& subjectOk) {
  rapidjson::Document doc;
  std::string why;
  if (!parse_json(statement, kMaxPayloadBytes, "the DSSE payload", doc, &why)) return failed(why);
  const std::string_view type = string_of(member(doc, "_type"));
  if (type != "https://in-toto.io/Statement/v1" && type != "https://in-toto.io/Statement/v0.1")
    return failed("the DSSE payload is not an in-toto Statement (_type is " + quote(type) + ")");
  const std::string_view predicate = string_of(member(doc, "predicateType"));
  if (predicate != kCosignSignPredicate)
    return failed("an attestation of predicateType " + quote(predicate) + ", not a cosign signature",
                  Status::NotASignature);
  const std::string_view hex = imageDigest.substr(7);
  subjectOk = false;
  const Value* subjects = member(doc, "subject");
  if (subjects && subjects->IsArray()) {
    std::size_t seen = 0;
    for (const Value& s : subjects->GetArray()) {
      if (seen++ == kMaxSubjects) break;
      const Value* digest = member(s, "digest");
      if (digest && string_of(member(*digest, "sha256")) == hex) subjectOk = true;
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_sha256_digest(std::string_view digest) {
  if (digest.size() != 71 || !digest.starts_with("sha256:")) return false;
  return std::all_of(digest.begin() + 7, digest.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string sha256_digest(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

std::string dsse_pae(std::string_view payloadType, std::string_view body) {
  std::string out = "DSSEv1 " + std::to_string(payloadType.size()) + " ";
  out += payloadType;
  out += " " + std::to_string(body.size()) + " ";
  out += body;
  return out;
}

std::optional<std::vector<SignatureLayer>> parse_signature_manifest(std::string_view manifestJson, std::string* why) {
  rapidjson::Document doc;
  if (!parse_json(manifestJson, kMaxManifestBytes, "the signature manifest", doc, why)) return std::nullopt;
  const Value* layers = member(doc, "layers");
  if (!layers || !layers->IsArray()) {
    if (why) *why = "the signature manifest is not an image manifest (no layers array)";
    return std::nullopt;
  }
  std::vector<SignatureLayer> out;
  for (const Value& layer : layers->GetArray()) {
    if (out.size() == kMaxSignatureLayers) break;
    auto blob = descriptor_of(layer);
    if (!blob || blob->mediaType != kSimpleSigningMediaType) continue;
    const Value* annotations = member(layer, "annotations");
    const std::string_view signature = string_of(annotations ? member(*annotations, kSignatureAnnotation) : nullptr);
    if (signature.empty()) continue;
    out.push_back(SignatureLayer{std::move(*blob), std::string(signature)});
  }
  return out;
}

Verification verify_simple_signing(std::string_view payload, std::string_view signatureBase64,
                                   std::string_view imageDigest, const KeySet& keys) {
  if (auto failure = precondition_failure(imageDigest, keys)) return *failure;
  if (payload.size() > kMaxPayloadBytes) return failed("the signed payload is larger than 1 MiB");
  util::Base64Error error = util::Base64Error::None;
  const auto signature = util::decode_base64(signatureBase64, kMaxSignatureBytes, &error);
  if (!signature || signature->empty())
    return failed(error == util::Base64Error::TooLarge ? "the signature is larger than 16 KiB"
                                                       : "the signature annotation is empty or not base64");
  const PublicKey* key = verifying_key(keys, payload, *signature);
  if (!key) return failed(no_key_reason(keys));
  Verification v = check_simple_signing_payload(payload, imageDigest);
  if (v.verified()) v.keyId = key->id();
  return v;
}

Verification verify_signature_layer(const SignatureLayer& layer, std::string_view blob, std::string_view imageDigest,
                                    const KeySet& keys) {
  if (blob.size() != layer.blob.size)
    return failed("the payload blob has " + std::to_string(blob.size()) + " bytes, its layer says " +
                  std::to_string(layer.blob.size));
  if (const std::string digest = sha256_digest(blob); digest != layer.blob.digest)
    return failed("the payload blob's digest is " + digest + ", its layer says " + layer.blob.digest);
  return verify_simple_signing(blob, layer.signatureBase64, imageDigest, keys);
}

std::optional<std::vector<Descriptor>> parse_referrers(std::string_view indexJson, std::string* why) {
  rapidjson::Document doc;
  if (!parse_json(indexJson, kMaxManifestBytes, "the referrers index", doc, why)) return std::nullopt;
  const Value* manifests = member(doc, "manifests");
  if (!manifests || !manifests->IsArray()) {
    if (why) *why = "the referrers answer is not an image index (no manifests array)";
    return std::nullopt;
  }
  std::vector<Descriptor> out;
  for (const Value& entry : manifests->GetArray()) {
    if (out.size() == kMaxReferrers) break;
    auto d = descriptor_of(entry);
    // Some registries (go-containerregistry's) list a referrer's artifactType as its config's
    // media type, the empty descriptor: such entries are candidates too, and the referrer
    // manifest then says whether it holds a bundle.
    if (!d || (d->artifactType != kBundleMediaType && d->artifactType != kEmptyMediaType && !d->artifactType.empty()))
      continue;
    if (!d->predicateType.empty() && d->predicateType != kCosignSignPredicate) continue;  // an attestation
    out.push_back(std::move(*d));
  }
  return out;
}

std::optional<Descriptor> parse_bundle_manifest(std::string_view manifestJson, std::string_view imageDigest,
                                                std::string* why) {
  rapidjson::Document doc;
  if (!parse_json(manifestJson, kMaxManifestBytes, "the referrer manifest", doc, why)) return std::nullopt;
  auto refuse = [&](std::string text) -> std::optional<Descriptor> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  const Value* subject = member(doc, "subject");
  const std::string_view subjectDigest = string_of(subject ? member(*subject, "digest") : nullptr);
  if (subjectDigest.empty()) return refuse("the referrer manifest has no subject");
  if (subjectDigest != imageDigest)
    return refuse("the referrer manifest's subject is " + quote(subjectDigest) + ", not " + std::string(imageDigest));
  const Value* layers = member(doc, "layers");
  if (!layers || !layers->IsArray()) return refuse("the referrer manifest has no layers array");
  std::optional<Descriptor> bundle;
  std::size_t bundles = 0;
  for (const Value& layer : layers->GetArray())
    if (string_of(member(layer, "mediaType")) == kBundleMediaType && ++bundles == 1) bundle = descriptor_of(layer);
  if (bundles != 1)
    return refuse("the referrer manifest has " + std::to_string(bundles) + " bundle layers, expected one");
  if (!bundle) return refuse("the referrer manifest's bundle layer has no sha256 digest or size");
  if (const Value* annotations = member(doc, "annotations"))
    bundle->predicateType = std::string(string_of(member(*annotations, kPredicateTypeAnnotation)));
  return bundle;
}

Verification verify_bundle(std::string_view bundleJson, std::string_view imageDigest, const KeySet& keys) {
  if (auto failure = precondition_failure(imageDigest, keys)) return *failure;
  rapidjson::Document doc;
  std::string why;
  if (!parse_json(bundleJson, kMaxPayloadBytes, "the bundle", doc, &why)) return failed(why);
  const std::string_view mediaType = string_of(member(doc, "mediaType"));
  if (!is_bundle_media_type(mediaType))
    return failed("not a Sigstore bundle v0.2 or v0.3 (mediaType is " + quote(mediaType) + ")");
  if (auto unsupported = unsupported_bundle(doc)) return *unsupported;
  const auto envelope = parse_envelope(*member(doc, "dsseEnvelope"), &why);
  if (!envelope) return failed(why);
  bool subjectOk = false;
  if (auto bad = check_statement(envelope->payload, imageDigest, subjectOk)) return *bad;

  const Value* publicKey = member(*member(doc, "verificationMaterial"), "publicKey");
  const PublicKey* hinted = keys.find_by_hint(string_of(publicKey ? member(*publicKey, "hint") : nullptr));
  const std::string pae = dsse_pae("application/vnd.in-toto+json", envelope->payload);
  const PublicKey* key = nullptr;
  for (const auto& signature : envelope->signatures)
    if ((key = verifying_key(keys, pae, signature, hinted))) break;
  if (!key) return failed(no_key_reason(keys));
  if (!subjectOk)
    return failed("the signed statement's subjects do not include this image's digest " + std::string(imageDigest));
  Verification ok;
  ok.status = Status::Verified;
  ok.keyId = key->id();
  return ok;
}

}  // namespace podgate::trust
