#pragma once
// The ImageScan custom resource (imagescans.podgate.io/v1alpha1, cluster-scoped): the scan cache as
// Kubernetes objects, so every replica shares it. One object per scanned digest, named
// "sha256-<hex>"; spec.scans holds one entry per scanner, a map list keyed by scanner, so each
// scanner writes its own entry by server-side apply (field manager podgate-<scanner>) without
// overwriting the others'. The schema is charts/podgate/crds/imagescans.podgate.io.yaml; the
// bounds below are the ones it declares.
//
// Pure data: the JSON written to and read from the apiserver. The client that sends and watches
// it lives elsewhere.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/scan.h"

namespace podgate::scan {

inline constexpr std::string_view kImageScanApiVersion = "podgate.io/v1alpha1";
inline constexpr std::string_view kImageScanKind = "ImageScan";

// The schema's bounds (maxItems, maxLength, maximum in the CRD). apply_body never writes past them
// and parse_imagescan refuses anything past them.
inline constexpr std::size_t kImageScanMaxScans = 16;         // scanners per digest
inline constexpr std::size_t kImageScanMaxFindings = 5000;    // findings listed per scan
inline constexpr std::size_t kImageScanMaxScannerBytes = 64;  // [a-z0-9._-], as the SQLite store
inline constexpr std::size_t kImageScanMaxVersionBytes = 256; // scannerVersion, databaseVersion
inline constexpr std::size_t kImageScanMaxArtifactBytes = 1024;
inline constexpr std::size_t kImageScanMaxKindBytes = 32;
inline constexpr std::size_t kImageScanMaxIdBytes = 256;
inline constexpr std::size_t kImageScanMaxPackageBytes = 1024;  // a file path for secrets and malware
inline constexpr std::size_t kImageScanMaxPackageVersionBytes = 256;  // installed, fixed
inline constexpr std::int64_t kImageScanMaxCount = 1000000;  // per severity
// What parse_imagescan reads at most: etcd refuses requests over 1.5 MiB, so no stored object is
// larger; the rest is room for what the apiserver adds (managedFields).
inline constexpr std::size_t kImageScanMaxParseBytes = 2 * 1024 * 1024;

// "sha256-<64 hex>" (or "sha512-<128 hex>"): the object's name for a digest, a valid DNS
// subdomain. "" when `digest` is not a valid digest (image::is_valid_digest).
std::string imagescan_name(std::string_view digest);

// "podgate-<scanner>": the field manager one scanner's entry is applied with, so each scanner owns
// its own entry of spec.scans. Characters a scanner name may not have become '-'; at most 72 bytes
// (managers may have 128).
std::string imagescan_field_manager(std::string_view scanner);

struct ImageScanLimits {
  // Findings below this severity are not listed (they stay in counts): the judge needs the listed
  // ones only to match them against the ignore list, and counts for the rest.
  Severity findingsFloor = Severity::High;
  // The whole body at most this many bytes: findings past it are dropped, lowest severity first.
  std::size_t maxObjectBytes = 256 * 1024;
};

// The complete ImageScan object to send as a server-side apply patch (with
// imagescan_field_manager(record.scanner)): apiVersion, kind, metadata.name, spec.digest and
// spec.scans with this record's entry only. counts are the record's (raised to what it lists where
// they are lower); findings are those at or above the floor, less the ones dropped to stay within
// maxObjectBytes (lowest severity first, the last listed first) and any with a string past the
// schema's bound; findingsOmitted is the sum of counts less the findings written. Record-level
// strings past their bound are cut on a UTF-8 boundary; bytes that are not UTF-8 become U+FFFD.
// Throws std::invalid_argument when the record's digest or scanner is invalid, or when even the
// body with no findings exceeds maxObjectBytes.
std::string imagescan_apply_body(const ScanRecord& record, const ImageScanLimits& limits = {});

// One ImageScan as the apiserver returns it (a list item, a watch event's object, a GET).
struct ImageScanObject {
  std::string name, digest, resourceVersion;
  std::vector<ScanRecord> records;  // one per scanner, in spec order, each with spec.digest
  std::int64_t newestScan = 0;      // the latest scannedAt of the records (0 when none)
  std::size_t bytes = 0;            // the JSON's size, for cache accounting
};

// Parses and checks one object: JSON nested at most 32 deep, at most kImageScanMaxParseBytes,
// apiVersion and kind (when present) as above, metadata.name == imagescan_name(spec.digest),
// every bound of the schema, scanners unique, severities and malware results known, counts
// that cover what is listed (per severity) and findingsOmitted == sum(counts) - findings. A
// malformed object is refused whole (nullopt, `why` says what and where, when not null): a record
// built from half an object could let an image through.
std::optional<ImageScanObject> parse_imagescan(std::string_view json, std::string* why = nullptr);

}  // namespace podgate::scan
