// Grype JSON (grype -o json): grype/presenter/models (document.go, match.go, source.go,
// descriptor.go).

#include "scan/report_reader.h"

namespace podgate::scan::report_detail {

namespace {

// "v6.0.2 built 2026-11-29T06:14:03Z" from descriptor.db: schema v6 nests the status under
// "status", schema v5 and earlier put {built, schemaVersion (a number)} directly in "db".
std::string grype_database(const Value& db, const Path& dbPath) {
  const Path statusPath = dbPath / "status";
  const Value* status = object_member(db, "status", dbPath);
  const Value& s = status != nullptr ? *status : db;
  const Path& at = status != nullptr ? statusPath : dbPath;
  std::string out;
  if (const Value* schema = find(s, "schemaVersion", at); schema != nullptr && !schema->IsNull()) {
    if (schema->IsInt64()) {
      out = "v" + std::to_string(schema->GetInt64());
    } else if (schema->IsString()) {
      out = string_of(*schema, at / "schemaVersion");
      if (!out.empty() && out.front() != 'v') out.insert(out.begin(), 'v');
    } else {
      wrong_type(at / "schemaVersion", *schema, "a string or an integer");
    }
  }
  const std::string built = string_member(s, "built", at);
  if (!built.empty()) out += (out.empty() ? "built " : " built ") + built;
  return out;
}

// Digests: repoDigests (what the tag resolved to, often a multi-architecture index) first, then
// manifestDigest (the platform manifest that was scanned). Both name this image's content, and
// admission may see either, so each gets a record.
void read_source(const Value& root, const Path& top, Parsed& p) {
  const Path sourcePath = top / "source";
  const Value* source = object_member(root, "source", top);
  if (source == nullptr)
    refuse("no manifest digest: the report has no source (an SBOM scan?); scan the image from its registry "
           "(grype IMAGE), or write a podgate verdict");
  const std::string sourceType = string_member(*source, "type", sourcePath);
  if (sourceType != "image")
    refuse("no manifest digest: source.type is " + quoted(sourceType) +
           ", not an image; podgate keys scans by image digest (grype IMAGE)");
  const Path targetPath = sourcePath / "target";
  const Value* target = object_member(*source, "target", sourcePath);
  if (target == nullptr) refuse("no manifest digest: source.target is missing");
  for_each_string(*target, "repoDigests", targetPath,
                  [&](const std::string& entry, const Path& at) { p.digests.add(digest_of(entry, at)); });
  const std::string manifestDigest = string_member(*target, "manifestDigest", targetPath);
  if (!manifestDigest.empty()) p.digests.add(digest_of(manifestDigest, targetPath / "manifestDigest"));
  if (p.digests.list().empty())
    refuse("no manifest digest: source.target.repoDigests and manifestDigest are empty (an image archive scan?); "
           "scan the image from its registry, or write a podgate verdict");
  p.record.artifact = string_member(*target, "userInput", targetPath);
}

// One entry of matches: the vulnerability and the package it was found in.
Finding read_match(const Value& m, const Path& at) {
  const Path vulnPath = at / "vulnerability";
  const Value* vuln = object_member(m, "vulnerability", at);
  if (vuln == nullptr) refuse(vulnPath.str() + " is missing");
  const Path artifactPath = at / "artifact";
  const Value* artifact = object_member(m, "artifact", at);
  if (artifact == nullptr) refuse(artifactPath.str() + " is missing");

  Finding f;
  f.kind = "vulnerability";
  f.id = string_member(*vuln, "id", vulnPath, Need::NonEmpty);
  f.severity = severity_member(*vuln, "severity", vulnPath);
  f.package = string_member(*artifact, "name", artifactPath, Need::NonEmpty);
  f.installedVersion = string_member(*artifact, "version", artifactPath);
  const Path fixPath = vulnPath / "fix";
  if (const Value* fix = object_member(*vuln, "fix", vulnPath)) {
    const std::string state = string_member(*fix, "state", fixPath);
    const Path versionsPath = fixPath / "versions";
    const Value* versions = array_member(*fix, "versions", fixPath);
    if (versions != nullptr) {
      for (rapidjson::SizeType v = 0; v < versions->Size(); ++v) {
        std::string version = string_of((*versions)[v], versionsPath[v]);
        if (v == 0 && state == "fixed") f.fixedVersion = std::move(version);
      }
    }
  }
  return f;
}

}  // namespace

std::vector<ScanRecord> parse_grype(const Value& root) {
  const Path top;
  Parsed p;
  p.record.scanner = "grype";

  const Path descriptorPath = top / "descriptor";
  const Value* descriptor = object_member(root, "descriptor", top);
  if (descriptor == nullptr) refuse("descriptor is missing");
  const std::string name = string_member(*descriptor, "name", descriptorPath);
  if (!name.empty() && name != "grype") refuse("descriptor.name is " + quoted(name) + ", expected \"grype\"");
  read_source(root, top, p);

  p.record.scannedAt = time_member(*descriptor, "timestamp", descriptorPath);
  p.record.scannerVersion = string_member(*descriptor, "version", descriptorPath);
  if (const Value* db = object_member(*descriptor, "db", descriptorPath))
    p.record.databaseVersion = grype_database(*db, descriptorPath / "db");

  // matches are the findings; ignoredMatches (what the user's ignore rules suppressed) are not.
  if (array_member(root, "matches", top) == nullptr) refuse("matches is missing");
  for_each_object(root, "matches", top, [&](const Value& m, const Path& at) { p.findings.add(read_match(m, at)); });
  return finish(p);
}

}  // namespace podgate::scan::report_detail
