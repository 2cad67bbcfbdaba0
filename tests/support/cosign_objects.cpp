// cosign.h: the registry objects cosign writes, read and rewritten over the registry API (curl, as
// TestRegistry's own checks; the registry client in lib/registry is what tests test, so it is not
// used to set them up).
#include <openssl/evp.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include "support/cosign.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace podgate::test::cosign {

namespace {

using namespace std::chrono_literals;

// TestRegistry counts a request as the fixture's own by this User-Agent, so tests that count a
// verifier's manifest requests do not count these.
constexpr const char* kFixtureAgent = "podgate-test-registry-fixture";
constexpr const char* kAcceptManifests =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kBundleType = "application/vnd.dev.sigstore.bundle.v0.3+json";
constexpr const char* kSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json";
constexpr const char* kSignatureAnnotation = "dev.cosignproject.cosign/signature";

struct HttpResult {
  int status = 0;
  std::string body;
  std::string headers;  // raw, as curl -D wrote them
  std::string header(const std::string& name) const {
    // Last response's headers; names case-insensitively.
    std::string lower = headers;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\n" + name + ":";
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = lower.rfind(key);
    if (at == std::string::npos) return "";
    size_t begin = at + key.size();
    while (begin < headers.size() && headers[begin] == ' ') ++begin;
    const size_t end = headers.find_first_of("\r\n", begin);
    return headers.substr(begin, end - begin);
  }
};

std::string base_url(const Endpoint& registry) { return (registry.plainHttp ? "http://" : "https://") + registry.host; }

// One request with curl. `target` is a path ("/v2/...") or an absolute URL (an upload Location).
HttpResult http(const Endpoint& registry, const std::string& method, const std::string& target,
                const std::vector<std::string>& headers = {}, const std::string* body = nullptr) {
  if (registry.tokenAuth) throw std::runtime_error("cosign support: the raw registry helpers do not do token auth");
  TempDir dir("podgate-cosign-http");
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--noproxy", "*", "--max-time", "30", "-A", kFixtureAgent, "-X", method,
                                "-o", dir.file("body"), "-D", dir.file("headers"), "-w", "%{http_code}"};
  if (!registry.caFile.empty()) argv.insert(argv.end(), {"--cacert", registry.caFile});
  if (!registry.user.empty()) argv.insert(argv.end(), {"-u", registry.user + ":" + registry.password});
  for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
  if (body) argv.insert(argv.end(), {"--data-binary", "@" + dir.write("request", *body)});
  argv.push_back(target.rfind("http", 0) == 0 ? target : base_url(registry) + target);
  Process curl(std::move(argv));
  const auto code = curl.wait_for(40s);
  if (!code || *code != 0) {
    throw std::runtime_error("cosign support: curl " + method + " " + target + " failed: " + curl.stderr_text());
  }
  HttpResult r;
  try {
    r.status = std::stoi(curl.stdout_text());
  } catch (const std::exception&) {
    throw std::runtime_error("cosign support: curl " + method + " " + target + " printed no status: " + curl.stdout_text());
  }
  r.body = read_file(dir.file("body"));
  r.headers = read_file(dir.file("headers"));
  return r;
}

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("cosign support: sha256 failed");
  }
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += "0123456789abcdef"[md[i] >> 4];
    out += "0123456789abcdef"[md[i] & 15];
  }
  return out;
}

rapidjson::Document parse(const std::string& json, const std::string& what) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) throw std::runtime_error("cosign support: " + what + " is not a JSON object");
  return doc;
}

std::string serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "";
  const auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                          : "";
}

const rapidjson::Value& array_member(const rapidjson::Value& object, const char* name, const std::string& what) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsArray()) throw std::runtime_error("cosign support: " + what + " has no " + name);
  return it->value;
}

rapidjson::Value& member(rapidjson::Value& object, const char* name, const std::string& what) {
  if (!object.IsObject() || !object.HasMember(name)) throw std::runtime_error("cosign support: " + what + " has no " + name);
  return object[name];
}

void set_string(rapidjson::Value& object, const char* name, const std::string& value, rapidjson::Document& doc) {
  rapidjson::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), doc.GetAllocator());
  const auto it = object.FindMember(name);
  if (it != object.MemberEnd()) {
    it->value = v;
  } else {
    object.AddMember(rapidjson::Value(name, doc.GetAllocator()), v, doc.GetAllocator());
  }
}

void set_descriptor(rapidjson::Value& descriptor, const std::string& digest, size_t size, rapidjson::Document& doc) {
  set_string(descriptor, "digest", digest, doc);
  const auto it = descriptor.FindMember("size");
  if (it != descriptor.MemberEnd()) it->value.SetInt64(static_cast<int64_t>(size));
}

Fetched fetched(const HttpResult& r) {
  return {r.status, r.body, r.header("Content-Type"), r.header("Docker-Content-Digest")};
}

Fetched must_get_manifest(const Endpoint& registry, const std::string& repo, const std::string& ref) {
  Fetched m = get_manifest(registry, repo, ref);
  if (m.status != 200) {
    throw std::runtime_error("cosign support: GET manifest " + repo + ":" + ref + " answered " + std::to_string(m.status));
  }
  return m;
}

std::string must_get_blob(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  Fetched b = get_blob(registry, repo, digest);
  if (b.status != 200) {
    throw std::runtime_error("cosign support: GET blob " + repo + "@" + digest + " answered " + std::to_string(b.status));
  }
  return b.body;
}

// The first descriptor of an index's manifests whose artifactType is the bundle's, or whose
// referrer manifest has that artifactType (ReferrersRegistry lists the config media type instead).
std::string bundle_referrer(const Endpoint& registry, const std::string& repo, const std::string& index) {
  const rapidjson::Document doc = parse(index, "referrers index");
  for (const auto& d : array_member(doc, "manifests", "referrers index").GetArray()) {
    const std::string digest = string_member(d, "digest");
    if (string_member(d, "artifactType") == kBundleType) return digest;
    const Fetched m = get_manifest(registry, repo, digest);
    if (m.status == 200 && string_member(parse(m.body, "referrer manifest"), "artifactType") == kBundleType) return digest;
  }
  return "";
}

}  // namespace

std::string referrers_tag(const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0) throw std::invalid_argument("referrers_tag: not a sha256 digest: " + digest);
  return "sha256-" + digest.substr(7);
}

std::string legacy_tag(const std::string& digest) { return referrers_tag(digest) + ".sig"; }

Fetched get_manifest(const Endpoint& registry, const std::string& repo, const std::string& ref) {
  return fetched(http(registry, "GET", "/v2/" + repo + "/manifests/" + ref, {kAcceptManifests}));
}

Fetched get_blob(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  // -L is not given: docker-registry's filesystem driver serves blobs itself (no redirect).
  return fetched(http(registry, "GET", "/v2/" + repo + "/blobs/" + digest));
}

Fetched get_referrers(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  return fetched(http(registry, "GET", "/v2/" + repo + "/referrers/" + digest, {"Accept: application/vnd.oci.image.index.v1+json"}));
}

std::string put_blob(const Endpoint& registry, const std::string& repo, const std::string& bytes) {
  const std::string digest = sha256_digest(bytes);
  const std::string empty;
  HttpResult start = http(registry, "POST", "/v2/" + repo + "/blobs/uploads/", {}, &empty);
  std::string location = start.header("Location");
  if (start.status != 202 || location.empty()) {
    throw std::runtime_error("cosign support: blob upload start answered " + std::to_string(start.status) + ": " + start.body);
  }
  if (location.rfind("http", 0) != 0) location = base_url(registry) + location;
  location += (location.find('?') == std::string::npos ? "?digest=" : "&digest=") + digest;
  HttpResult done = http(registry, "PUT", location, {"Content-Type: application/octet-stream"}, &bytes);
  if (done.status != 201) {
    throw std::runtime_error("cosign support: blob upload answered " + std::to_string(done.status) + ": " + done.body);
  }
  return digest;
}

std::string put_manifest(const Endpoint& registry, const std::string& repo, const std::string& ref,
                         const std::string& bytes, const std::string& mediaType) {
  HttpResult r = http(registry, "PUT", "/v2/" + repo + "/manifests/" + ref, {"Content-Type: " + mediaType}, &bytes);
  if (r.status != 201) {
    throw std::runtime_error("cosign support: PUT manifest " + repo + ":" + ref + " answered " + std::to_string(r.status) +
                             ": " + r.body);
  }
  return sha256_digest(bytes);
}

int delete_manifest(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  return http(registry, "DELETE", "/v2/" + repo + "/manifests/" + digest).status;
}

std::string push_image(const Endpoint& registry, const std::string& repo, const std::string& tag) {
  // The layer need not be a real tar for a registry; a unique config makes a unique digest.
  static std::atomic<int> counter{0};
  const std::string unique = sha256_digest(repo + ":" + tag + ":" + std::to_string(++counter) + ":" +
                                           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::string layer = "podgate cosign test layer " + unique + "\n";
  const std::string config = R"({"architecture":"amd64","os":"linux","config":{"Labels":{"io.podgate.test.nonce":")" +
                             unique + R"("}},"rootfs":{"type":"layers","diff_ids":[")" + sha256_digest(layer) + R"("]}})";
  const std::string layerDigest = put_blob(registry, repo, layer);
  const std::string configDigest = put_blob(registry, repo, config);
  const std::string manifest = std::string(R"({"schemaVersion":2,"mediaType":")") + kOciManifest +
                               R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                               configDigest + R"(","size":)" + std::to_string(config.size()) +
                               R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                               layerDigest + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  return put_manifest(registry, repo, tag, manifest, kOciManifest);
}

// ---- the legacy format ------------------------------------------------------------------------------

LegacySignature read_legacy(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  LegacySignature sig;
  sig.tag = legacy_tag(digest);
  const Fetched m = must_get_manifest(registry, repo, sig.tag);
  sig.manifest = m.body;
  sig.manifestDigest = sha256_digest(m.body);
  const rapidjson::Document doc = parse(m.body, ".sig manifest");
  for (const auto& layer : array_member(doc, "layers", ".sig manifest").GetArray()) {
    if (string_member(layer, "mediaType") != kSimpleSigning) continue;
    if (++sig.layers > 1) continue;
    sig.payloadDigest = string_member(layer, "digest");
    const auto annotations = layer.FindMember("annotations");
    if (annotations != layer.MemberEnd()) sig.signatureBase64 = string_member(annotations->value, kSignatureAnnotation);
  }
  if (sig.layers == 0) throw std::runtime_error("cosign support: " + repo + ":" + sig.tag + " has no simplesigning layer");
  sig.payload = must_get_blob(registry, repo, sig.payloadDigest);
  return sig;
}

std::string write_legacy(const Endpoint& registry, const std::string& repo, const std::string& subjectDigest,
                         const LegacySignature& signature) {
  rapidjson::Document doc = parse(signature.manifest, ".sig manifest");
  auto& layers = member(doc, "layers", ".sig manifest");
  if (!layers.IsArray() || layers.Empty()) throw std::runtime_error("cosign support: .sig manifest without layers");
  // The first simplesigning layer becomes the only one, with the given payload and signature.
  rapidjson::Value layer;
  for (auto& l : layers.GetArray()) {
    if (string_member(l, "mediaType") == kSimpleSigning) {
      layer.CopyFrom(l, doc.GetAllocator());
      break;
    }
  }
  if (!layer.IsObject()) throw std::runtime_error("cosign support: .sig manifest without a simplesigning layer");
  set_descriptor(layer, put_blob(registry, repo, signature.payload), signature.payload.size(), doc);
  if (!layer.HasMember("annotations")) layer.AddMember("annotations", rapidjson::Value(rapidjson::kObjectType), doc.GetAllocator());
  set_string(member(layer, "annotations", "simplesigning layer"), kSignatureAnnotation, signature.signatureBase64, doc);
  layers.Clear();
  layers.PushBack(layer, doc.GetAllocator());
  return put_manifest(registry, repo, legacy_tag(subjectDigest), serialize(doc), kOciManifest);
}

// ---- the bundle format ------------------------------------------------------------------------------

BundleSignature read_bundle(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  BundleSignature sig;
  const Fetched api = get_referrers(registry, repo, digest);
  if (api.status == 200) {
    sig.viaReferrersApi = true;
    sig.index = api.body;
  } else {
    sig.indexTag = referrers_tag(digest);
    sig.index = must_get_manifest(registry, repo, sig.indexTag).body;
  }
  sig.manifestDigest = bundle_referrer(registry, repo, sig.index);
  if (sig.manifestDigest.empty()) throw std::runtime_error("cosign support: no bundle referrer of " + repo + "@" + digest);
  sig.manifest = must_get_manifest(registry, repo, sig.manifestDigest).body;
  const rapidjson::Document doc = parse(sig.manifest, "referrer manifest");
  const auto& layers = array_member(doc, "layers", "referrer manifest");
  if (layers.Empty()) throw std::runtime_error("cosign support: referrer manifest without layers");
  sig.bundleDigest = string_member(layers[0], "digest");
  sig.bundle = must_get_blob(registry, repo, sig.bundleDigest);
  return sig;
}

namespace {

// The index the referrers tag gets: the old index (or a new one) listing only `referrer`, its
// descriptor copied from the old index's bundle entry with digest and size replaced.
std::string tag_index(const BundleSignature& old, const std::string& referrer, size_t size) {
  rapidjson::Document index = parse(old.index, "referrers index");
  auto& manifests = member(index, "manifests", "referrers index");
  rapidjson::Value entry(rapidjson::kObjectType);
  for (auto& d : manifests.GetArray()) {
    if (string_member(d, "digest") == old.manifestDigest) entry.CopyFrom(d, index.GetAllocator());
  }
  if (!entry.HasMember("mediaType")) set_string(entry, "mediaType", kOciManifest, index);
  if (!entry.HasMember("size")) entry.AddMember("size", 0, index.GetAllocator());
  set_string(entry, "artifactType", kBundleType, index);
  set_descriptor(entry, referrer, size, index);
  manifests.Clear();
  manifests.PushBack(entry, index.GetAllocator());
  return serialize(index);
}

}  // namespace

std::string write_bundle(const Endpoint& registry, const std::string& repo, const std::string& subjectDigest,
                         const BundleSignature& signature) {
  rapidjson::Document doc = parse(signature.manifest, "referrer manifest");
  auto& layers = member(doc, "layers", "referrer manifest");
  if (!layers.IsArray() || layers.Empty()) throw std::runtime_error("cosign support: referrer manifest without layers");
  set_descriptor(layers[0], put_blob(registry, repo, signature.bundle), signature.bundle.size(), doc);
  const Fetched subject = must_get_manifest(registry, repo, subjectDigest);
  auto& descriptor = member(doc, "subject", "referrer manifest");
  set_string(descriptor, "mediaType", subject.contentType, doc);
  set_descriptor(descriptor, subjectDigest, subject.body.size(), doc);
  const std::string manifest = serialize(doc);
  const std::string digest = sha256_digest(manifest);
  put_manifest(registry, repo, digest, manifest, kOciManifest);
  const Fetched api = get_referrers(registry, repo, subjectDigest);
  if (api.status == 200) {
    // With the API, the registry lists every manifest whose subject is the image: remove the others.
    const rapidjson::Document index = parse(api.body, "referrers index");
    for (const auto& d : array_member(index, "manifests", "referrers index").GetArray()) {
      const std::string other = string_member(d, "digest");
      if (other != digest) delete_manifest(registry, repo, other);
    }
  } else {
    put_manifest(registry, repo, referrers_tag(subjectDigest), tag_index(signature, digest, manifest.size()), kOciIndex);
  }
  return digest;
}

Dsse bundle_dsse(const std::string& bundleJson) {
  const rapidjson::Document doc = parse(bundleJson, "bundle");
  const auto envelope = doc.FindMember("dsseEnvelope");
  if (envelope == doc.MemberEnd() || !envelope->value.IsObject()) throw std::runtime_error("bundle has no dsseEnvelope");
  Dsse dsse;
  dsse.payloadType = string_member(envelope->value, "payloadType");
  dsse.payload = base64_decode(string_member(envelope->value, "payload"));
  const auto& signatures = array_member(envelope->value, "signatures", "dsseEnvelope");
  if (!signatures.Empty()) dsse.signature = base64_decode(string_member(signatures[0], "sig"));
  return dsse;
}

std::string with_dsse(const std::string& bundleJson, const Dsse& dsse) {
  rapidjson::Document doc = parse(bundleJson, "bundle");
  auto& envelope = member(doc, "dsseEnvelope", "bundle");
  set_string(envelope, "payloadType", dsse.payloadType, doc);
  set_string(envelope, "payload", base64_encode(dsse.payload), doc);
  auto& signatures = member(envelope, "signatures", "dsseEnvelope");
  if (!signatures.IsArray() || signatures.Empty()) throw std::runtime_error("bundle has no DSSE signature");
  set_string(signatures[0], "sig", base64_encode(dsse.signature), doc);
  return serialize(doc);
}

}  // namespace podgate::test::cosign
