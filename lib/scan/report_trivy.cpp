// Trivy JSON (trivy image --format json, SchemaVersion 2): pkg/types/report.go and trivy-db
// pkg/metadata.

#include "scan/report_reader.h"

namespace podgate::scan::report_detail {

namespace {

// "v2 updated 2026-11-29T06:14:03Z" from a trivy-db metadata object.
std::string trivy_database(const Value& db, const Path& at) {
  std::string out;
  if (const Value* version = find(db, "Version", at); version != nullptr && !version->IsNull()) {
    if (!version->IsInt64()) wrong_type(at / "Version", *version, "an integer");
    out = "v" + std::to_string(version->GetInt64());
  }
  const std::string updated = string_member(db, "UpdatedAt", at);
  if (!updated.empty()) out += (out.empty() ? "updated " : " updated ") + updated;
  return out;
}

// The digests: RepoDigests only. Metadata.ImageID is the digest of the image's config blob,
// which no pod spec and no registry lookup ever names, so it is never a key.
void read_digests(const Value& root, const Path& top, Parsed& p) {
  const Path metadataPath = top / "Metadata";
  if (const Value* metadata = object_member(root, "Metadata", top)) {
    for_each_string(*metadata, "RepoDigests", metadataPath,
                    [&](const std::string& entry, const Path& at) { p.digests.add(digest_of(entry, at)); });
  }
  if (p.digests.list().empty()) {
    const std::string type = string_member(root, "ArtifactType", top);
    if (!type.empty() && type != "container_image")
      refuse("no manifest digest: ArtifactType is " + quoted(type) +
             ", not a container image; podgate keys scans by image digest (trivy image IMAGE)");
    refuse("no manifest digest: Metadata.RepoDigests is empty (an image archive scan?); scan the image from its "
           "registry, or write a podgate verdict");
  }
}

// Scanner and database versions: Trivy.Version (trivy#10065); the vulnerability database's
// metadata under Trivy.VulnerabilityDB (proposed for standalone mode, trivy#10076) or, in
// client/server mode, Trivy.Server.VulnerabilityDB (trivy#10075). Standalone reports carry
// neither today.
void read_versions(const Value& root, const Path& top, ScanRecord& record) {
  const Path trivyPath = top / "Trivy";
  const Value* trivy = object_member(root, "Trivy", top);
  if (trivy == nullptr) return;
  record.scannerVersion = string_member(*trivy, "Version", trivyPath);
  const Path serverPath = trivyPath / "Server";
  const Value* server = object_member(*trivy, "Server", trivyPath);
  if (const Value* db = object_member(*trivy, "VulnerabilityDB", trivyPath)) {
    record.databaseVersion = trivy_database(*db, trivyPath / "VulnerabilityDB");
  } else if (server != nullptr) {
    if (const Value* serverDb = object_member(*server, "VulnerabilityDB", serverPath))
      record.databaseVersion = trivy_database(*serverDb, serverPath / "VulnerabilityDB");
  }
}

void read_vulnerabilities(const Value& result, const Path& resultPath, Findings& findings) {
  for_each_object(result, "Vulnerabilities", resultPath, [&](const Value& v, const Path& at) {
    Finding f;
    f.kind = "vulnerability";
    f.id = string_member(v, "VulnerabilityID", at, Need::NonEmpty);
    f.package = string_member(v, "PkgName", at, Need::NonEmpty);
    f.installedVersion = string_member(v, "InstalledVersion", at);
    f.fixedVersion = string_member(v, "FixedVersion", at);
    f.severity = severity_member(v, "Severity", at);
    findings.add(std::move(f));
  });
}

void read_secrets(const Value& result, const Path& resultPath, Findings& findings) {
  for_each_object(result, "Secrets", resultPath, [&](const Value& s, const Path& at) {
    Finding f;
    f.kind = "secret";
    f.id = string_member(s, "RuleID", at, Need::NonEmpty);
    // Where the secret is: the Result's Target (the file), so two files with the same rule stay
    // two findings and the message can say which.
    f.package = string_member(result, "Target", resultPath);
    f.severity = severity_member(s, "Severity", at);
    findings.add(std::move(f));
  });
}

}  // namespace

std::vector<ScanRecord> parse_trivy(const Value& root) {
  const Path top;
  Parsed p;
  p.record.scanner = "trivy";

  const Value& schema = *find(root, "SchemaVersion", top);
  if (!schema.IsInt()) wrong_type(top / "SchemaVersion", schema, "the integer 2");
  if (schema.GetInt() != 2)
    refuse("Trivy SchemaVersion " + std::to_string(schema.GetInt()) +
           " is not supported; podgate reads SchemaVersion 2 (Trivy 0.20 and later)");
  read_digests(root, top, p);
  p.record.scannedAt = time_member(root, "CreatedAt", top);
  p.record.artifact = string_member(root, "ArtifactName", top);
  read_versions(root, top, p.record);

  // Findings: Vulnerabilities (packages) and Secrets (credentials baked into a layer are a finding
  // of their own). Not read: Misconfigurations, which judge configuration files (a Dockerfile,
  // Kubernetes YAML found in the image) rather than what the image runs; Licenses; and
  // ExperimentalModifiedFindings, which are what the user suppressed (VEX, .trivyignore), like
  // Grype's ignoredMatches.
  for_each_object(root, "Results", top, [&](const Value& result, const Path& resultPath) {
    read_vulnerabilities(result, resultPath, p.findings);
    read_secrets(result, resultPath, p.findings);
  });
  return finish(p);
}

}  // namespace podgate::scan::report_detail
