#pragma once
// Scan records as JSON for people and scripts: the HTTPS API's answers and `podgate scans`.

#include <string>
#include <string_view>
#include <vector>

#include "scan/scan.h"
#include "scan/store.h"

namespace podgate::scan {

// {"digest": ..., "scans": [{"scanner", "scannerVersion", "databaseVersion", "scannedAt" (RFC 3339),
//  "malware", "counts": {"CRITICAL": n, ...}, "artifact", "findings": [{kind, id, package,
//  installedVersion, fixedVersion, severity}]}]}. Findings are cut at `maxFindings` per scan.
std::string records_json(std::string_view digest, const std::vector<ScanRecord>& records, std::size_t maxFindings = 1000);

// {"format": ..., "source": ..., "records": [{"digest", "scanner", "scannedAt", "stored"}]}.
std::string import_json(std::string_view format, std::string_view source, const std::vector<ScanRecord>& records,
                        const std::vector<PutOutcome>& outcomes);

}  // namespace podgate::scan
