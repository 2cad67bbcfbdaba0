// podgate ScanVerdict JSON (docs/scan-verdicts.md): what any other scanner can say about a digest.

#include "scan/report_reader.h"

namespace podgate::scan::report_detail {

namespace {

void only_known_keys(const Value& object, std::initializer_list<std::string_view> known, const Path& at) {
  for (const auto& m : object.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (std::find(known.begin(), known.end(), key) == known.end())
      refuse((at / key).str() + ": unknown field " + quoted(key) + " (docs/scan-verdicts.md lists the fields)");
  }
}

bool valid_scanner_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || is_digit(c);
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

}  // namespace

std::vector<ScanRecord> parse_verdict(const Value& root) {
  const Path top;
  Parsed p;
  const std::string apiVersion = string_member(root, "apiVersion", top, Need::NonEmpty);
  if (apiVersion != "podgate.io/v1")
    refuse("apiVersion " + quoted(apiVersion) + " is not supported; podgate reads podgate.io/v1 verdicts");
  const std::string kind = string_member(root, "kind", top, Need::NonEmpty);
  if (kind != "ScanVerdict") refuse("kind " + quoted(kind) + " is not ScanVerdict");
  // Strict: a misspelt optional field ("artefact") would otherwise vanish without a word.
  only_known_keys(root,
                  {"apiVersion", "kind", "digest", "digests", "artifact", "scanner", "time", "result", "findings"}, top);

  // One image's content may be named by several digests (an index and its platform manifest);
  // "digests" lets one verdict cover them all.
  const Value* one = find(root, "digest", top);
  const Value* many = find(root, "digests", top);
  if ((one != nullptr) == (many != nullptr)) refuse("a verdict needs exactly one of \"digest\" and \"digests\"");
  if (one != nullptr) {
    p.digests.add(digest_of(string_of(*one, top / "digest"), top / "digest"));
  } else {
    const Path digestsPath = top / "digests";
    if (!many->IsArray()) wrong_type(digestsPath, *many, "an array");
    for (rapidjson::SizeType i = 0; i < many->Size(); ++i) {
      const Path entry = digestsPath[i];
      p.digests.add(digest_of(string_of((*many)[i], entry), entry));
    }
    if (p.digests.list().empty()) refuse("no manifest digest: digests is empty");
  }
  p.record.artifact = string_member(root, "artifact", top);

  const Path scannerPath = top / "scanner";
  const Value* scanner = object_member(root, "scanner", top);
  if (scanner == nullptr) refuse("scanner is missing");
  only_known_keys(*scanner, {"name", "version", "database"}, scannerPath);
  p.record.scanner = string_member(*scanner, "name", scannerPath, Need::NonEmpty);
  if (!valid_scanner_name(p.record.scanner))
    refuse("scanner.name " + quoted(p.record.scanner) +
           " must be lowercase letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)");
  // A verdict named "trivy" would replace Trivy's own record for the digest (one record per
  // digest and scanner); those names belong to the reports of those scanners.
  if (p.record.scanner == "trivy" || p.record.scanner == "grype")
    refuse("scanner.name " + quoted(p.record.scanner) +
           " is reserved for that scanner's own report; import the report itself");
  p.record.scannerVersion = string_member(*scanner, "version", scannerPath, Need::NonEmpty);
  p.record.databaseVersion = string_member(*scanner, "database", scannerPath);

  p.record.scannedAt = time_member(root, "time", top);
  const std::string result = string_member(root, "result", top, Need::NonEmpty);
  const auto malware = parse_malware_result(result);
  if (!malware) refuse("result " + quoted(result) + " is not one of clean, malicious, error");
  p.record.malware = *malware;

  for_each_object(root, "findings", top, [&](const Value& v, const Path& at) {
    only_known_keys(v, {"id", "path", "severity"}, at);
    Finding f;
    f.kind = "malware";
    f.id = string_member(v, "id", at, Need::NonEmpty);
    f.package = string_member(v, "path", at);
    // A signature match is treated as the worst case unless the scanner grades it.
    f.severity = find(v, "severity", at) != nullptr ? severity_member(v, "severity", at) : Severity::Critical;
    p.findings.add(std::move(f));
  });
  // Findings with a clean (or failed) result contradict each other; a malicious result without
  // findings is allowed (a scanner that only says yes or no).
  if (p.record.malware != MalwareResult::Malicious && p.findings.size() > 0)
    refuse("result " + quoted(result) + " with findings; a verdict with findings must say \"malicious\"");
  return finish(p);
}

}  // namespace podgate::scan::report_detail
