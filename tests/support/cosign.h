#pragma once
// Real cosign signatures for integration tests: the real cosign v3.1.3 binary signs images in a
// real registry (TestRegistry: Debian's docker-registry 2.8 over TLS; or ReferrersRegistry below),
// offline with a key, in either of its two formats; `cosign verify` judges them; and the helpers
// read what cosign wrote and write tampered copies of it, so a verifier can be tested end to end.
//
// The tools come from tests/e2e/build-cosign.sh (Go; built once per machine into .cache/cosign/).
// scripts/test.sh exports PODGATE_COSIGN_BIN, PODGATE_CRANE_BIN and PODGATE_REFERRERS_REGISTRY_BIN;
// a test calls `if (!cosign::available()) return;`, which warns loudly when they are unset (a
// developer without Go can still run every other test; CI always sets them).
//
// What cosign v3.1.3 writes, observed against TestRegistry (tests/fixtures/cosign-tooling/ holds one
// example of each object and cosign's requests; its README.md says how they were made). For an
// image repo@sha256:<hex> (an OCI image manifest):
//
// Format::Legacy (`--new-bundle-format=false`):
//   tag `sha256-<hex>.sig` -> OCI image manifest (application/vnd.oci.image.manifest.v1+json):
//     config: application/vnd.oci.image.config.v1+json, an empty-ish image config whose
//             rootfs.diff_ids is [the payload's digest];
//     layers[0]: mediaType application/vnd.dev.cosign.simplesigning.v1+json, the payload blob,
//             one annotation dev.cosignproject.cosign/signature = base64(ECDSA P-256 SHA-256, DER,
//             over the exact payload bytes). No certificate, chain or Rekor bundle annotation.
//   payload: {"critical":{"identity":{"docker-reference":"<host>/<repo>"},"image":{"docker-manifest-digest":
//             "sha256:<hex>"},"type":"cosign container image signature"},"optional":null}
//   Signing again (another key) appends a layer to the same manifest (same tag, new digest).
//
// Format::Bundle (the v3 default):
//   cosign asks GET /v2/<repo>/referrers/sha256:<hex>; docker-registry 2.8 answers 404, so it
//   uses the referrers-tag fallback: tag `sha256-<hex>` (no `.sig`) -> OCI image index whose
//   manifests[] entry is {mediaType (OCI manifest), size, digest, artifactType
//   application/vnd.dev.sigstore.bundle.v0.3+json} (no annotations in the entry). On
//   ReferrersRegistry the API answers 200 and no tag is written.
//   referrer manifest (pushed by digest): OCI image manifest with top-level artifactType
//     application/vnd.dev.sigstore.bundle.v0.3+json; config = the empty descriptor
//     (application/vnd.oci.empty.v1+json, `{}`, 2 bytes; the descriptor also carries that
//     artifactType); layers[0] = the bundle JSON, same media type; subject = the image's
//     descriptor {mediaType, size, digest}; annotations dev.sigstore.bundle.content=dsse-envelope,
//     dev.sigstore.bundle.predicateType=https://sigstore.dev/cosign/sign/v1,
//     org.opencontainers.image.created.
//   bundle (protojson: whitespace varies, never compare it textually):
//     {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
//      "verificationMaterial":{"publicKey":{"hint":base64(sha256(DER SPKI))}}   <- no tlogEntries
//      "dsseEnvelope":{"payload":base64(statement),"payloadType":"application/vnd.in-toto+json",
//                      "signatures":[{"sig":base64(DER ECDSA over PAE(payloadType, statement))}]}}
//     (no keyid). statement: {"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":
//     {"sha256":"<hex>"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}
//   `cosign verify` with both formats present reads only the bundle (referrers, then the tag,
//   then the referrer manifest and the bundle blob); it reads the .sig tag only when it finds no
//   bundle. A legacy signature left beside a bad bundle does not rescue it.
//
// Every function throws std::runtime_error (a Catch2 test then fails with the message) when a tool
// or the registry fails; sign() puts cosign's stderr in the message.

#include <string>
#include <memory>
#include <vector>

namespace podgate::test {

class Process;
class TempDir;
class TestRegistry;

namespace cosign {

// ---- the tools ----------------------------------------------------------------------------------

struct Tools {
  std::string cosign;             // $PODGATE_COSIGN_BIN
  std::string crane;              // $PODGATE_CRANE_BIN
  std::string referrersRegistry;  // $PODGATE_REFERRERS_REGISTRY_BIN
};
// The environment's paths ("" for an unset variable).
Tools tools();
// True when PODGATE_COSIGN_BIN names an executable. Otherwise prints a loud WARN (once per
// process) naming tests/e2e/build-cosign.sh and returns false: the caller returns, skipping.
// A variable that is set but names no executable throws instead (a broken CI setup must fail).
bool available();
// The same for PODGATE_REFERRERS_REGISTRY_BIN (ReferrersRegistry needs it).
bool referrers_registry_available();

// ---- registries ---------------------------------------------------------------------------------

// Where a registry is and how to reach it.
struct Endpoint {
  std::string host;      // "127.0.0.1:PORT"
  std::string caFile;    // TLS, verified against this CA; "" with plainHttp
  bool plainHttp = false;
  std::string user, password;  // Basic credentials (a basicAuth or tokenAuth TestRegistry), "" none
  // The registry wants bearer tokens: not for the raw helpers below, and cosign refuses
  // TestRegistry's realm (go-containerregistry >= v0.21 rejects a realm on a loopback or private IP
  // literal other than the registry's own host:port; the issuer is 127.0.0.1:<another port>). Sign
  // on a basicAuth or open TestRegistry.
  bool tokenAuth = false;
};
Endpoint endpoint(const TestRegistry& registry);

// go-containerregistry's in-memory registry with the OCI 1.1 referrers API on
// (tests/e2e/tools/crane/referrers-registry), plain HTTP on 127.0.0.1:<free port>. A second flavour:
// cosign's bundle format is found here by GET /v2/<repo>/referrers/<digest>, not by a tag.
// Quirk (v0.22.1): its referrers index gives each entry's artifactType as the manifest's *config*
// media type, so a cosign bundle is listed as "application/vnd.oci.empty.v1+json".
// Constructed on a thread that outlives it (parent-death signal, as TestRegistry).
class ReferrersRegistry {
 public:
  ReferrersRegistry();  // throws when PODGATE_REFERRERS_REGISTRY_BIN is unset or it does not start
  ~ReferrersRegistry();
  ReferrersRegistry(const ReferrersRegistry&) = delete;
  ReferrersRegistry& operator=(const ReferrersRegistry&) = delete;
  std::string host() const { return host_; }
  Endpoint endpoint() const;

 private:
  std::unique_ptr<Process> process_;
  std::string host_;
};

// Pushes a fresh one-layer OCI image (unique content) to repo:tag over the registry API; returns
// its manifest digest. For registries without skopeo's help (ReferrersRegistry); TestRegistry has
// push_image() of its own.
std::string push_image(const Endpoint& registry, const std::string& repo, const std::string& tag);

// ---- keys, signing, verifying -------------------------------------------------------------------

struct Key {
  std::string privateKeyFile;  // cosign's format: PEM "ENCRYPTED SIGSTORE PRIVATE KEY"
  std::string password;        // its password (COSIGN_PASSWORD)
  std::string publicKeyFile;   // PEM "PUBLIC KEY" (SubjectPublicKeyInfo), ECDSA P-256
  std::string publicKeyPem;    // that file's text
  std::string opensslKeyFile;  // import_openssl_key only: the plain PEM EC private key
};
// `cosign generate-key-pair` in `dir` (files <name>.key and <name>.pub), a random password.
Key generate_key(const std::string& dir, const std::string& name = "cosign");
// An OpenSSL P-256 key (`openssl ecparam -genkey`) imported with `cosign import-key-pair`: the
// same kind of key, but the test also holds it in OpenSSL's format (to sign by hand).
Key import_openssl_key(const std::string& dir, const std::string& name = "imported");

enum class Format { Bundle, Legacy };

struct Result {
  int code = -1;
  std::string out, err;
  bool ok() const { return code == 0; }
};

// "<host>/<repoRef>": repoRef is "repo@sha256:..." (or "repo:tag").
std::string qualified(const Endpoint& registry, const std::string& repoRef);

// `cosign sign` offline (--tlog-upload=false --use-signing-config=false -y; Legacy adds
// --new-bundle-format=false; a plainHttp registry --allow-http-registry) of `repoRef`
// ("repo@sha256:..."). The registry's CA is trusted through SSL_CERT_FILE, which Go reads instead
// of the system roots, so nothing public (Rekor, Fulcio, TUF) is reachable by accident either
// (cosign's --registry-cacert would cover the registry alone). cosign prints a deprecation
// warning for --tlog-upload on stderr; it still works in v3.1.3.
// `extraArgs` are appended (e.g. {"-a", "team=x"}). Throws with cosign's stderr on failure.
void sign(const Endpoint& registry, const std::string& repoRef, const Key& key, Format format,
          const std::vector<std::string>& extraArgs = {});
void sign(const TestRegistry& registry, const std::string& repoRef, const Key& key, Format format,
          const std::vector<std::string>& extraArgs = {});
// `cosign verify --key <pub> --insecure-ignore-tlog=true` of `repoRef`: cosign's own judgement.
// Never throws for a failed verification: look at ok() and err.
Result verify(const Endpoint& registry, const std::string& repoRef, const Key& key,
              const std::vector<std::string>& extraArgs = {});
Result verify(const TestRegistry& registry, const std::string& repoRef, const Key& key,
              const std::vector<std::string>& extraArgs = {});
// Any cosign command with the same environment (CA, credentials, an empty HOME, no TUF).
Result run_cosign(const Endpoint& registry, const std::vector<std::string>& args, const std::string& password = "");

// ---- the registry objects -----------------------------------------------------------------------

// "sha256-<hex>" for "sha256:<hex>": the referrers-tag fallback's tag; + ".sig" the legacy tag.
std::string referrers_tag(const std::string& digest);
std::string legacy_tag(const std::string& digest);

struct Fetched {
  int status = 0;
  std::string body;
  std::string contentType;
  std::string digest;  // the Docker-Content-Digest header, "" when absent
};
// GET /v2/<repo>/manifests/<ref> with every manifest type accepted (docker-registry answers 404
// otherwise); GET /v2/<repo>/blobs/<digest>; GET /v2/<repo>/referrers/<digest>. Any status is
// returned; a transport failure throws.
Fetched get_manifest(const Endpoint& registry, const std::string& repo, const std::string& ref);
Fetched get_blob(const Endpoint& registry, const std::string& repo, const std::string& digest);
Fetched get_referrers(const Endpoint& registry, const std::string& repo, const std::string& digest);
// Uploads a blob (POST then PUT ?digest=); returns its digest. Throws unless the registry accepts.
std::string put_blob(const Endpoint& registry, const std::string& repo, const std::string& bytes);
// PUTs a manifest under `ref` (a tag or its own digest); returns its digest. Throws unless 201.
std::string put_manifest(const Endpoint& registry, const std::string& repo, const std::string& ref,
                         const std::string& bytes, const std::string& mediaType);
// DELETE /v2/<repo>/manifests/<digest>; the status (202 when deleted).
int delete_manifest(const Endpoint& registry, const std::string& repo, const std::string& digest);

// What Format::Legacy wrote for one image (its first simplesigning layer).
struct LegacySignature {
  std::string tag;              // "sha256-<hex>.sig"
  std::string manifestDigest;
  std::string manifest;         // the .sig manifest's bytes
  std::string payloadDigest;
  std::string payload;          // the simple-signing JSON: the signed bytes
  std::string signatureBase64;  // annotation dev.cosignproject.cosign/signature
  int layers = 0;               // simplesigning layers in the manifest (one per signer)
};
// Reads the .sig manifest of `digest` in `repo` and its first layer. Throws when absent.
LegacySignature read_legacy(const Endpoint& registry, const std::string& repo, const std::string& digest);
// Writes `signature` (its payload and signatureBase64, with the config of its manifest) as the
// only layer of a new .sig manifest under legacy_tag(subjectDigest): a tampered payload or
// signature when subjectDigest is the signed image, a signature copied to another image when not.
// Returns the new manifest's digest.
std::string write_legacy(const Endpoint& registry, const std::string& repo, const std::string& subjectDigest,
                         const LegacySignature& signature);

// What Format::Bundle wrote for one image.
struct BundleSignature {
  bool viaReferrersApi = false;  // found by GET /referrers (ReferrersRegistry), else by the tag
  std::string indexTag;          // "sha256-<hex>" when found by the tag
  std::string index;             // the referrers index's bytes (tag or API)
  std::string manifestDigest;    // the referrer manifest (the first with the bundle artifactType)
  std::string manifest;
  std::string bundleDigest;
  std::string bundle;            // the Sigstore bundle JSON (the manifest's only layer)
};
// Finds the bundle of `digest` in `repo`: by the referrers API when the registry answers it, else
// by the referrers tag. Throws when there is none.
BundleSignature read_bundle(const Endpoint& registry, const std::string& repo, const std::string& digest);
// Uploads `signature.bundle` as a new referrer manifest (its manifest as the template) whose
// subject is `subjectDigest`'s descriptor, and makes it the only cosign bundle referring to it:
// on a registry without the referrers API the tag referrers_tag(subjectDigest) is rewritten to an
// index listing just it; with the API, every other referrer of the subject is deleted.
// A tampered bundle when subjectDigest is the signed image; a bundle moved to another image (the
// statement inside still names the original) when not. Returns the new referrer manifest's digest.
std::string write_bundle(const Endpoint& registry, const std::string& repo, const std::string& subjectDigest,
                         const BundleSignature& signature);

// Helpers for editing what was read.
std::string base64_encode(const std::string& bytes);
std::string base64_decode(const std::string& text);  // throws on invalid input
// The DSSE envelope's fields of a bundle, and the bundle with them replaced (other fields kept).
struct Dsse {
  std::string payloadType;
  std::string payload;       // decoded: the in-toto Statement JSON
  std::string signature;     // decoded: the raw signature (DER for ECDSA)
};
Dsse bundle_dsse(const std::string& bundleJson);
std::string with_dsse(const std::string& bundleJson, const Dsse& dsse);

}  // namespace cosign
}  // namespace podgate::test
