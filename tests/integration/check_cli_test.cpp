// `podgate check` as a pipeline runs it, through the built binary: every -o format validated
// against its published schema (tests/support/validate_report.py: SARIF 2.1.0, junit-10 XSD,
// docs/check-report.schema.json), machine output on stdout alone, the exit codes unchanged; List
// items at their own lines; errors in manifest paths; and the command line's small messages.

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/helpers.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;

namespace {

using Run = pt::Finished;

// Runs `sh -c SCRIPT` in `cwd` (so podgate sees relative paths, as a pipeline gives them).
Run shell(const std::string& cwd, const std::string& script) {
  auto done = pt::run_to_end({"/bin/sh", "-c", "cd '" + cwd + "' && " + script}, 60s);
  REQUIRE(done.has_value());
  return *done;
}

Run run_podgate(const std::string& cwd, const std::string& args) { return shell(cwd, std::string("exec '") + PODGATE_BINARY + "' " + args); }

// Validates `file` (in `cwd`) as a report of `format`; the validator's complaint on failure.
void require_valid(const std::string& cwd, const std::string& format, const std::string& file) {
  const auto v = shell(cwd, "exec python3 '" + std::string(PODGATE_SOURCE_DIR) + "/tests/support/validate_report.py' " +
                                format + " " + file);
  INFO(format << " report " << file << ": " << v.err);
  REQUIRE(v.code == 0);
}

// A Deployment with a warned privileged container and a denied runtime socket; a pretty-printed
// JSON List (kubectl get -o json) whose second item podgate cannot read; a document without kind.
void write_manifests(const pt::TempDir& dir) {
  std::filesystem::create_directories(dir.file("deploy"));
  pt::write_file(dir.file("deploy/web.yaml"), R"(# the web tier
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - {name: app, image: nginx:1.27, securityContext: {privileged: true}}
      volumes:
        - {name: sock, hostPath: {path: /var/run/docker.sock}}
)");
  pt::write_file(dir.file("deploy/pods.json"), R"({
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "fine"},
      "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    },
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "broken"},
      "spec": {"containers": "bad"}
    }
  ]
}
)");
  pt::write_file(dir.file("deploy/misc.yaml"), "kind: ConfigMap\nmetadata: {name: settings}\n---\nmetadata: {name: kindless}\n");
  pt::write_file(dir.file("clean.yaml"), "kind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c, image: busybox}]}\n");
  pt::write_file(dir.file("podgate.yaml"), "rules:\n  privileged: {action: warn}\n");
  pt::write_file(dir.file("broken.yaml"), "kind: Pod\nspec: [\n");
}

}  // namespace

TEST_CASE("check -o json|sarif|junit: valid against their schemas, on stdout alone, same exit codes", "[binary][check]") {
  pt::TempDir dir;
  write_manifests(dir);
  for (const std::string format : {"json", "sarif", "junit"}) {
    INFO(format);
    const auto r = run_podgate(dir.path(), "check -c podgate.yaml -f deploy -o " + format + " > report." + format);
    CHECK(r.code == 1);
    require_valid(dir.path(), format, "report." + format);
    CHECK(pt::contains(r.err, "podgate check: 5 documents, 2 judged"));  // the person's summary, on stderr
    CHECK(pt::contains(r.err, "deploy/misc.yaml:4: skipped: no kind"));
    const std::string report = pt::read_file(dir.file("report." + format));
    CHECK_FALSE(pt::contains(report, "podgate check:"));
    CHECK(pt::contains(report, format == "junit" ? "spec.containers: expected an array" : "\"spec.containers: expected an array"));

    const auto clean = run_podgate(dir.path(), "check -f clean.yaml -o " + format + " > clean." + format);
    CHECK(clean.code == 0);
    require_valid(dir.path(), format, "clean." + format);

    const auto broken = run_podgate(dir.path(), "check -f broken.yaml -o " + format);
    CHECK(broken.code == 2);
    CHECK(broken.out.empty());
    CHECK(pt::contains(broken.err, "broken.yaml:"));
  }
  // Where the findings land: the file as given, the List item's own line.
  const std::string sarif = pt::read_file(dir.file("report.sarif"));
  CHECK(pt::contains(sarif, R"("uri": "deploy/web.yaml")"));
  CHECK(pt::contains(sarif, R"("level": "warning")"));
  CHECK(pt::contains(sarif, R"("startLine": 11)"));
  CHECK(pt::contains(pt::read_file(dir.file("report.json")), R"("line": 11)"));
  CHECK(pt::contains(pt::read_file(dir.file("report.junit")), R"(<failure type="runtimeSockets")"));
}

TEST_CASE("check text: List items at their own lines, errors in the manifest's paths", "[binary][check]") {
  pt::TempDir dir;
  write_manifests(dir);
  const auto r = run_podgate(dir.path(), "check -f deploy/pods.json");
  CHECK(r.code == 1);
  CHECK(r.out == "deploy/pods.json:11: error: spec.containers: expected an array, got a string\n");
  CHECK(pt::contains(r.err, "2 documents, 1 judged (pod specs, PersistentVolumes), 0 violations, 1 unreadable, 1 would be denied"));

  const auto one = run_podgate(dir.path(), "check -f clean.yaml");
  CHECK(one.code == 0);
  CHECK(pt::contains(one.err, "podgate check: 1 document, 1 judged (pod specs, PersistentVolumes), 0 violations, 0 would be denied"));
  const auto single = run_podgate(dir.path(), "check -f deploy/web.yaml");
  CHECK(pt::contains(single.err, "2 violations"));
  const auto warned = run_podgate(dir.path(), "check -f deploy/web.yaml -c podgate.yaml");
  CHECK(pt::contains(warned.out, "deploy/web.yaml:2: warn [privileged] Deployment shop/web"));
}

TEST_CASE("the command line says what is wrong: unknown subcommands, unreadable files, bad formats", "[binary][check]") {
  pt::TempDir dir;
  write_manifests(dir);
  const auto bogus = run_podgate(dir.path(), "bogus");
  CHECK(bogus.code == 2);
  CHECK(pt::contains(bogus.err, "podgate: unknown subcommand \"bogus\" (one of: serve, review, check, resolve, scans, audit, version; see podgate --help)"));
  const auto scans = run_podgate(dir.path(), "scans bogus");
  CHECK(scans.code == 2);
  CHECK(pt::contains(scans.err, "podgate scans: unknown subcommand \"bogus\" (one of: import, show, list, wanted"));
  CHECK(run_podgate(dir.path(), "check -f clean.yaml -o xml").code == 2);

  // Why a file cannot be read, in the system's words (a path through a regular file; tests run as root,
  // so permissions would not stop them).
  const auto missing = run_podgate(dir.path(), "check -f nope.yaml");
  CHECK(missing.code == 2);
  CHECK(pt::contains(missing.err, "podgate check: nope.yaml: cannot read: No such file or directory"));
  const auto notdir = run_podgate(dir.path(), "check -f clean.yaml/x.yaml");
  CHECK(pt::contains(notdir.err, "clean.yaml/x.yaml: cannot read: Not a directory"));
  const auto review = run_podgate(dir.path(), "review nope.json");
  CHECK(review.code == 2);
  CHECK(pt::contains(review.err, "podgate review: cannot read nope.json: No such file or directory"));
  pt::write_file(dir.file("scans.yaml"), "scans:\n  database: scans.db\n");
  const auto import = run_podgate(dir.path(), "scans import --config scans.yaml clean.yaml/r.json");
  CHECK(pt::contains(import.err, "clean.yaml/r.json: cannot read: Not a directory"));
}

TEST_CASE("--help points at subcommand help and at documentation files that are shipped", "[binary][check]") {
  pt::TempDir dir;
  const auto help = run_podgate(dir.path(), "--help");
  CHECK(help.code == 0);
  CHECK(pt::contains(help.out, "podgate <subcommand> --help"));
  CHECK(pt::contains(help.out, "share/doc/podgate/"));
  CHECK_FALSE(pt::contains(help.out, "docs/"));  // a repository path, not where an installation has it
  // Every file it names is one that the install (and the image) copies from README.md and docs/.
  const std::string text = help.out;
  const std::regex md(R"(([A-Za-z-]+\.md))");
  std::set<std::string> named;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), md); it != std::sregex_iterator(); ++it)
    named.insert((*it)[1]);
  CHECK(named.size() >= 5);
  for (const auto& name : named) {
    INFO(name);
    const std::string source = PODGATE_SOURCE_DIR;
    CHECK((std::filesystem::exists(source + "/docs/" + name) || name == "README.md"));
  }
}
