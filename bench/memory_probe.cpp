// In-process memory of podgate's two big caches, for bench/memory.sh. Each mode builds the real
// structure (registry::DigestCache, scan::CachedStore over the SQLite store), fills it, and
// prints the heap in use (glibc mallinfo2) and VmRSS before and after, with bytes per entry.
// This measures the cache structures inside this process, not a running `podgate serve`.
//
//   podgate_bench_memory_probe digest-cache N [CHILDREN]
//       N distinct tags resolved through a DigestCache (maxEntries N) whose fetch answers at once
//       with a digest (and CHILDREN platform manifests, as for a multi-arch index; default 0).
//   podgate_bench_memory_probe make-scan-db DB N FINDINGS DIGEST_LIST
//       Writes N scan records (FINDINGS findings each, scanned now) to the SQLite file DB, and
//       their digests, one a line, to DIGEST_LIST (for warming a running server).
//   podgate_bench_memory_probe cached-store DB N
//       Looks up the first N digests of DB through a CachedStore (the server's default bound).

#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "image/reference.h"
#include "registry/digest_cache.h"
#include "scan/store.h"
// Header-only, no test library to link: the digests the scan tests use.
#include "../tests/support/digests.h"

using namespace podgate;
using podgate::test::digest_of;

namespace {

struct Usage {
  long heap = 0;  // bytes malloc has handed out and not had back (arenas + mmapped chunks)
  long rss = 0;   // VmRSS, bytes
};

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::atol(line.c_str() + prefix.size());
  return -1;
}

Usage usage() {
  const struct mallinfo2 m = mallinfo2();
  return {static_cast<long>(m.uordblks + m.hblkhd), status_kib("VmRSS") * 1024};
}

void report(const char* what, std::size_t entries, const Usage& before, const Usage& after) {
  const double n = entries ? static_cast<double>(entries) : 1.0;
  std::printf("%-28s entries=%-7zu heap +%.1f MiB (%.0f bytes/entry)  VmRSS +%.1f MiB (%.0f bytes/entry)  VmHWM %.1f MiB\n",
              what, entries, (after.heap - before.heap) / 1048576.0, (after.heap - before.heap) / n,
              (after.rss - before.rss) / 1048576.0, (after.rss - before.rss) / n, status_kib("VmHWM") / 1024.0);
}

int digest_cache(std::size_t n, int children) {
  // References as a cluster's pods name them: a registry, an org, a repository, a version tag.
  std::vector<image::Reference> refs;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto parsed = image::parse("registry.example.com/team-" + std::to_string(i % 97) + "/service-" +
                               std::to_string(i) + ":v1." + std::to_string(i % 1000) + ".0");
    if (!parsed) {
      std::fprintf(stderr, "cannot parse reference %zu\n", i);
      return 2;
    }
    refs.push_back(*parsed.reference);
  }
  registry::CacheOptions options;
  options.maxEntries = n;
  options.ttl = std::chrono::hours(1);
  std::uint64_t next = 1;
  registry::DigestCache cache(
      [&](const image::Reference&, std::function<void(registry::Resolution)> done) {
        registry::Resolution r;
        r.digest = digest_of(next++);
        r.requests = 1;
        if (children > 0) {
          r.mediaType = "application/vnd.oci.image.index.v1+json";
          for (int c = 0; c < children; ++c)
            r.children.push_back({c % 2 ? "linux/arm64" : "linux/amd64", digest_of(next++)});
        } else {
          r.mediaType = "application/vnd.oci.image.manifest.v1+json";
        }
        done(std::move(r));
      },
      options, nullptr);
  // Warm the timer thread and allocator before the baseline.
  cache.resolve(*image::parse("registry.example.com/warm/up:1").reference,
                std::chrono::steady_clock::now() + std::chrono::seconds(30), [](registry::DigestCache::Result) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const Usage before = usage();
  std::size_t resolved = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (const auto& ref : refs)
    cache.resolve(ref, deadline, [&](registry::DigestCache::Result r) { resolved += r && r->ok(); });
  // Each miss armed a deadline timer that delivery cancelled on the timer thread; let it drain.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Usage after = usage();
  const std::string what = "digest-cache children=" + std::to_string(children);
  report(what.c_str(), cache.size(), before, after);
  return resolved == n ? 0 : 1;
}

int make_scan_db(const std::string& path, std::size_t n, int findings, const std::string& list_path) {
  auto store = scan::open_sqlite_store(path);
  std::ofstream list(list_path);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  for (std::size_t done = 0; done < n;) {
    std::vector<scan::ScanRecord> batch;
    for (int i = 0; i < 1000 && done < n; ++i, ++done) {
      scan::ScanRecord r;
      r.digest = digest_of(done + 1);
      r.scanner = "trivy";
      r.scannerVersion = "0.50.1";
      r.databaseVersion = "2026-11-30T00:00:00Z";
      r.scannedAt = now - static_cast<std::int64_t>(done % 3600);
      r.artifact = "registry.example.com/team/service-" + std::to_string(done) + ":v1";
      // LOW, MEDIUM and HIGH, no CRITICAL: the reviews that warm the cache are then allowed.
      for (int f = 0; f < findings; ++f) {
        scan::Finding finding;
        finding.kind = "vulnerability";
        finding.id = "CVE-2024-" + std::to_string(10000 + (done * 7 + f) % 50000);
        finding.package = "package-" + std::to_string(f % 23);
        finding.installedVersion = "1." + std::to_string(f) + ".0-r0";
        finding.fixedVersion = f % 3 == 0 ? "" : "1." + std::to_string(f) + ".1-r0";
        finding.severity = static_cast<scan::Severity>(2 + f % 3);
        r.counts[static_cast<std::size_t>(finding.severity)]++;
        r.findings.push_back(std::move(finding));
      }
      list << r.digest << '\n';
      batch.push_back(std::move(r));
    }
    store->put(batch);
  }
  std::printf("wrote %zu scans (%d findings each) to %s\n", n, findings, path.c_str());
  return 0;
}

int cached_store(const std::string& path, std::size_t n) {
  scan::CachedStore cache(scan::open_sqlite_store(path));  // the bound `podgate serve` uses
  cache.lookup(digest_of(1));  // opens the connection, reads the schema
  const Usage before = usage();
  std::size_t found = 0;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 1; i <= n; ++i) found += !cache.lookup(digest_of(i))->empty();
  const double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Usage after = usage();
  report("cached-store (scan records)", cache.cached_entries(), before, after);
  // The same digests again, in the same order: all hits if every digest fit. The bound is split
  // into shards, each an exact LRU, so a shard holding more digests than its share misses on
  // every one of its digests in a cyclic scan (each read evicts the next one needed).
  start = std::chrono::steady_clock::now();
  for (std::size_t i = 1; i <= n; ++i) found += !cache.lookup(digest_of(i))->empty();
  const double second_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report("cached-store, second pass", cache.cached_entries(), before, usage());
  std::printf("found %zu of %zu digests twice; pass 1 %.2f s (%.1f us/lookup), pass 2 %.2f s (%.1f us/lookup)\n",
              found / 2, n, first_s, first_s * 1e6 / static_cast<double>(n), second_s,
              second_s * 1e6 / static_cast<double>(n));
  return found ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "digest-cache" && argc >= 3)
      return digest_cache(std::strtoul(argv[2], nullptr, 10), argc > 3 ? std::atoi(argv[3]) : 0);
    if (mode == "make-scan-db" && argc == 6)
      return make_scan_db(argv[2], std::strtoul(argv[3], nullptr, 10), std::atoi(argv[4]), argv[5]);
    if (mode == "cached-store" && argc == 4) return cached_store(argv[2], std::strtoul(argv[3], nullptr, 10));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 2;
  }
  std::fprintf(stderr,
               "usage: %s digest-cache N [CHILDREN] | make-scan-db DB N FINDINGS DIGEST_LIST | cached-store DB N\n",
               argv[0]);
  return 2;
}
