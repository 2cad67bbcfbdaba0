// Conformance of rules.podSecurity with Pod Security Admission, fixture by fixture.
//
// PSA's own test data is the specification (issue 17): every file
//   test/testdata/<level>/v1.<N>/<pass|fail>/<check><i>.yaml
// of k8s.io/pod-security-admission (tests/conformance/psa-fixtures.sh downloads it and prints the
// module directory; scripts/test.sh exports it as PODGATE_PSA_FIXTURES) is a Pod that PSA at that
// level and version allows (pass/) or denies (fail/). podgate, configured with rules.podSecurity
// alone at that level and version, must agree on every one, for the Pod and for the same pod spec
// inside a Deployment, and must name the fixture's check among its violations when it denies.
//
// How the fixture sets map to levels (PSA's test/fixtures.go and fixtures_test.go):
//   - Each v1.N directory holds the fixtures of every check that applies at that level and version,
//     generated from the "minimal valid pod" of the level and version: a generator registered for
//     v1.M is used for every v1.N >= M until a newer one is registered. pass/base.yaml is that
//     minimal pod; restricted/v1.25+ also have base_linux.yaml and base_windows.yaml (spec.os).
//   - registerFixtureGenerator registers every baseline check's generator for restricted too, so
//     restricted/v1.N/fail/ holds baseline-failing pods (privileged0.yaml, hostnamespaces0.yaml, ...)
//     next to the restricted checks' own: a pod failing baseline must fail restricted. Those
//     restricted copies start from the restricted minimal pod (runAsNonRoot, drop ALL, ...), so the
//     baseline check is the only thing wrong with them. The third test case checks that inclusion.
//   - The file name is the check id lower-cased plus an index: capabilities_baseline0.yaml is a
//     pod for the check capabilities_baseline.
//   - Fail fixtures that need a feature gate (procMount's: ProcMountType) are skipped by PSA's
//     run.go only when the apiserver lacks the feature; PSA's checks themselves deny them, and so
//     must podgate.
//
// Skipped, with a loud WARN, when PODGATE_PSA_FIXTURES is unset (a developer without Go running
// ctest alone); scripts/test.sh always sets it.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"
#include "manifest/manifest.h"
#include "policy/policy.h"

namespace fs = std::filesystem;
using namespace podgate;

namespace {

struct Fixture {
  std::string level;  // "baseline" | "restricted"
  int minor = 0;      // v1.<minor>
  bool pass = false;  // pass/ (PSA allows) or fail/ (PSA denies)
  fs::path file;
  std::string check;  // the check id, lower-cased, from the file name ("capabilities_baseline")
  std::string pod;    // the CREATE AdmissionReview of the Pod
  std::string deployment;  // ... and of a Deployment whose template carries the Pod's metadata and spec

  std::string name() const {
    return level + "/v1." + std::to_string(minor) + "/" + (pass ? "pass/" : "fail/") + file.filename().string();
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The module directory from PODGATE_PSA_FIXTURES (a testdata directory itself is accepted too);
// nullopt, with a WARN once, when it is unset.
std::optional<fs::path> testdata_dir() {
  const char* env = std::getenv("PODGATE_PSA_FIXTURES");
  if (env == nullptr || *env == '\0') {
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::cerr << "\n*** WARN: PODGATE_PSA_FIXTURES unset: the Pod Security conformance suite is SKIPPED. Run "
                   "`export PODGATE_PSA_FIXTURES=$(bash tests/conformance/psa-fixtures.sh | tail -1)` (needs Go), or "
                   "scripts/test.sh, which does. ***\n\n";
    });
    return std::nullopt;
  }
  const fs::path dir(env);
  if (fs::is_directory(dir / "test" / "testdata")) return dir / "test" / "testdata";
  if (fs::is_directory(dir / "baseline")) return dir;
  FAIL("PODGATE_PSA_FIXTURES=" << env << " has no test/testdata/{baseline,restricted}; run tests/conformance/psa-fixtures.sh");
  return std::nullopt;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The Deployment (apps/v1) the same pod would come from: the Pod's labels and annotations (the
// AppArmor and seccomp annotations PSA reads) on spec.template.metadata, its spec as the template's
// spec, and a selector label added so the object is one the apiserver would accept.
std::string deployment_json(const std::string& pod_json, const std::string& name) {
  rapidjson::Document pod;
  pod.Parse(pod_json.c_str(), pod_json.size());
  REQUIRE(!pod.HasParseError());
  REQUIRE(pod.IsObject());
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  const auto str = [&](const std::string& s) { return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a); };

  rapidjson::Value labels(rapidjson::kObjectType);
  rapidjson::Value annotations(rapidjson::kObjectType);
  if (auto m = pod.FindMember("metadata"); m != pod.MemberEnd() && m->value.IsObject()) {
    if (auto l = m->value.FindMember("labels"); l != m->value.MemberEnd() && l->value.IsObject()) labels.CopyFrom(l->value, a);
    if (auto n = m->value.FindMember("annotations"); n != m->value.MemberEnd() && n->value.IsObject())
      annotations.CopyFrom(n->value, a);
  }
  if (!labels.HasMember("podgate-conformance")) labels.AddMember("podgate-conformance", str(name), a);

  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", str(name), a);
  rapidjson::Value matchLabels(rapidjson::kObjectType);
  matchLabels.AddMember("podgate-conformance", str(name), a);
  rapidjson::Value selector(rapidjson::kObjectType);
  selector.AddMember("matchLabels", matchLabels, a);
  rapidjson::Value templateMeta(rapidjson::kObjectType);
  templateMeta.AddMember("labels", labels, a);
  if (annotations.MemberCount() > 0) templateMeta.AddMember("annotations", annotations, a);
  rapidjson::Value templ(rapidjson::kObjectType);
  templ.AddMember("metadata", templateMeta, a);
  auto spec_it = pod.FindMember("spec");
  REQUIRE(spec_it != pod.MemberEnd());
  templ.AddMember("spec", rapidjson::Value(spec_it->value, a), a);
  rapidjson::Value spec(rapidjson::kObjectType);
  spec.AddMember("replicas", 1, a);
  spec.AddMember("selector", selector, a);
  spec.AddMember("template", templ, a);

  d.AddMember("apiVersion", "apps/v1", a);
  d.AddMember("kind", "Deployment", a);
  d.AddMember("metadata", meta, a);
  d.AddMember("spec", spec, a);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  d.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Every fixture under `testdata`, sorted, with both reviews built. Checks the layout as it goes:
// both levels, versions v1.0 up without gaps, each with pass/ and fail/ fixtures.
std::vector<Fixture> load_fixtures(const fs::path& testdata) {
  std::vector<Fixture> out;
  for (const std::string level : {"baseline", "restricted"}) {
    std::set<int> minors;
    for (const auto& entry : fs::directory_iterator(testdata / level)) {
      const std::string v = entry.path().filename().string();
      if (!entry.is_directory() || v.rfind("v1.", 0) != 0) continue;
      minors.insert(std::stoi(v.substr(3)));
    }
    INFO(level);
    REQUIRE(!minors.empty());
    CHECK(*minors.begin() == 0);
    CHECK(*minors.rbegin() == static_cast<int>(minors.size()) - 1);  // no gaps
    for (int minor : minors) {
      for (const bool pass : {true, false}) {
        const fs::path dir = testdata / level / ("v1." + std::to_string(minor)) / (pass ? "pass" : "fail");
        std::vector<fs::path> files;
        if (fs::is_directory(dir))
          for (const auto& f : fs::directory_iterator(dir))
            if (f.path().extension() == ".yaml") files.push_back(f.path());
        INFO(dir.string());
        CHECK(!files.empty());
        std::sort(files.begin(), files.end());
        for (const fs::path& file : files) {
          Fixture fx;
          fx.level = level;
          fx.minor = minor;
          fx.pass = pass;
          fx.file = file;
          std::string stem = file.stem().string();
          while (!stem.empty() && std::isdigit(static_cast<unsigned char>(stem.back()))) stem.pop_back();
          fx.check = lower(stem);
          const std::vector<manifest::Document> docs = manifest::parse(read_file(file), file.string());
          INFO(file.string());
          REQUIRE(docs.size() == 1);
          REQUIRE(docs[0].kind == "Pod");
          fx.pod = manifest::to_admission_review(docs[0], "conformance", "", "pods");
          manifest::Document dep = docs[0];
          dep.kind = "Deployment";
          dep.apiVersion = "apps/v1";
          dep.source += " (in a Deployment)";
          dep.json = deployment_json(docs[0].json, docs[0].name);
          fx.deployment = manifest::to_admission_review(dep, "conformance", "apps", "deployments");
          out.push_back(std::move(fx));
        }
      }
    }
  }
  return out;
}

// rules.podSecurity at `level` and v1.<minor>, action deny; images off. `podgate_defaults`: the
// privileged and runtimeSockets rules at their defaults (on); otherwise off, so the verdict is
// the standards' alone. Written as YAML, as a user would, so the config's parsing of the level
// and of "v1.N" is part of what is checked.
std::string config_yaml(const std::string& level, int minor, bool podgate_defaults) {
  std::string yaml = "rules:\n"
                     "  podSecurity: {level: " + level + ", version: \"v1." + std::to_string(minor) + "\", action: deny}\n"
                     "  images: {action: off}\n";
  if (!podgate_defaults) yaml += "  privileged: {action: off}\n  runtimeSockets: {action: off}\n";
  return yaml;
}

// One Evaluator per level, version and rule set, built on first use.
class Evaluators {
 public:
  explicit Evaluators(bool podgate_defaults) : defaults_(podgate_defaults) {}
  const policy::Evaluator& get(const std::string& level, int minor) {
    auto& slot = cache_[{level, minor}];
    if (!slot) {
      const std::string yaml = config_yaml(level, minor, defaults_);
      INFO(yaml);
      slot = std::make_unique<policy::Evaluator>(config::parse(yaml, "conformance.yaml"));
    }
    return *slot;
  }

 private:
  bool defaults_;
  std::map<std::pair<std::string, int>, std::unique_ptr<policy::Evaluator>> cache_;
};

// The PSA check id a violation names ("" for podgate's own rules).
std::string check_id(const policy::Violation& v) { return v.control; }

std::string describe(const policy::Verdict& verdict) {
  if (verdict.violations.empty()) return "no violations";
  std::string out;
  for (const policy::Violation& v : verdict.violations) {
    if (!out.empty()) out += "; ";
    const std::string id = check_id(v);
    out += "[" + v.rule + (id.empty() || id == v.rule ? std::string() : "/" + id) + "] " + v.fieldPath + "=" + v.value;
  }
  return out;
}

struct Judged {
  bool decoded = false;
  std::string refusal;  // the decoder's message when it refused the review
  policy::Verdict verdict;
};

Judged judge(const policy::Evaluator& evaluator, const std::string& review) {
  Judged out;
  admission::DecodeResult decoded = admission::decode(review);
  if (!decoded) {
    out.refusal = decoded.error->message;
    return out;
  }
  out.decoded = true;
  out.verdict = evaluator.evaluate(decoded.review->request(), policy::Route::Validate, policy::Facts{});
  return out;
}

// At restricted, PSA runs the restricted check that overrides a baseline one in its place (its
// OverrideCheckIDs), so a baseline fixture of that check is denied under the overriding id.
const std::map<std::string, std::string>& overriding_checks() {
  static const std::map<std::string, std::string> m{{"hostpathvolumes", "restrictedvolumes"},
                                                    {"capabilities_baseline", "capabilities_restricted"},
                                                    {"seccompprofile_baseline", "seccompprofile_restricted"}};
  return m;
}

bool names_check(const policy::Verdict& verdict, const std::string& check, const std::string& level) {
  std::string alternative;
  if (level == "restricted") {
    const auto it = overriding_checks().find(check);
    if (it != overriding_checks().end()) alternative = it->second;
  }
  return std::any_of(verdict.violations.begin(), verdict.violations.end(), [&](const policy::Violation& v) {
    const std::string id = lower(check_id(v));
    return id == check || (!alternative.empty() && id == alternative);
  });
}

}  // namespace

TEST_CASE("rules.podSecurity agrees with PSA on every fixture, for the Pod and in a Deployment", "[conformance][podSecurity]") {
  const std::optional<fs::path> testdata = testdata_dir();
  if (!testdata) return;
  const std::vector<Fixture> fixtures = load_fixtures(*testdata);
  Evaluators evaluators(false);

  std::vector<std::string> mismatches;
  std::map<std::string, int> by_check;  // "<level> <check> <pass|fail> <kind>" -> mismatches
  int pod_cases = 0, deployment_cases = 0, agreements = 0, fail_cases = 0, named = 0;
  for (const Fixture& fx : fixtures) {
    const policy::Evaluator& evaluator = evaluators.get(fx.level, fx.minor);
    for (const auto& [kind, review] : {std::pair<std::string, const std::string*>{"Pod", &fx.pod},
                                       std::pair<std::string, const std::string*>{"Deployment", &fx.deployment}}) {
      ++(kind == "Pod" ? pod_cases : deployment_cases);
      const Judged j = judge(evaluator, *review);
      std::string problem;
      if (!j.decoded) {
        problem = "the decoder refused the review: " + j.refusal;
      } else {
        const bool denied = j.verdict.decision == policy::Decision::Denied;
        if (fx.pass && denied) problem = "PSA allows, podgate denies";
        if (!fx.pass && !denied) problem = "PSA denies, podgate allows";
        if (!fx.pass) {
          ++fail_cases;
          if (denied && names_check(j.verdict, fx.check, fx.level)) ++named;
          else if (denied) problem = "denied, but no violation names the check " + fx.check;
        }
      }
      if (problem.empty()) {
        ++agreements;
        continue;
      }
      mismatches.push_back(fx.name() + " [" + fx.level + " v1." + std::to_string(fx.minor) + ", " + kind + "]: " + problem +
                           " (" + (j.decoded ? describe(j.verdict) : std::string("not judged")) + ")");
      ++by_check[fx.level + " " + fx.check + " " + (fx.pass ? "pass" : "fail") + " " + kind];
    }
  }

  std::cout << "pod security conformance: " << fixtures.size() << " fixtures, " << pod_cases << " Pod cases, "
            << deployment_cases << " Deployment cases, " << agreements << " of " << pod_cases + deployment_cases
            << " agree with PSA; " << named << " of " << fail_cases
            << " fail cases denied with a violation naming the fixture's check\n";
  if (!mismatches.empty()) {
    std::cout << "\n" << mismatches.size() << " disagreements with PSA:\n";
    for (const std::string& m : mismatches) std::cout << "  " << m << "\n";
    std::cout << "\ndisagreements by level, check, expectation and kind:\n";
    for (const auto& [key, n] : by_check) std::cout << "  " << key << ": " << n << "\n";
    std::cout << std::flush;
  }
  CHECK(fixtures.size() > 0);
  CHECK(mismatches.size() == 0);
}

// podgate's own rules stay on by default (issue 17), independent of the standards. Where they are
// stricter than PSA is on sockets: runtimeSockets with denyAllHostPaths off judges only hostPath
// volumes, which baseline forbids anyway, so at baseline and restricted it adds no denial; the
// privileged rule's two findings (privileged: true, a Windows HostProcess container) are baseline
// checks too. PSA's pass fixtures are the level's minimal valid pod with one allowed value changed
// and never set any of them, so the expected set is EMPTY: measured with v0.34.2's 937 pass
// fixtures (1,874 Pod and Deployment cases), podgate's default rules deny none. A denial counts
// here only when a violation is podgate's own rule's (privileged, runtimeSockets); a denial by
// rules.podSecurity alone is a disagreement the first test case reports.
TEST_CASE("podgate's default rules on top of rules.podSecurity: what PSA's pass fixtures podgate denies", "[conformance][podSecurity]") {
  const std::optional<fs::path> testdata = testdata_dir();
  if (!testdata) return;
  const std::vector<Fixture> fixtures = load_fixtures(*testdata);
  Evaluators evaluators(true);
  const std::set<std::string> expected_stricter = {};  // "<fixture name> <kind>": none, see above

  std::set<std::string> stricter;
  int cases = 0;
  for (const Fixture& fx : fixtures) {
    if (!fx.pass) continue;
    const policy::Evaluator& evaluator = evaluators.get(fx.level, fx.minor);
    for (const auto& [kind, review] : {std::pair<std::string, const std::string*>{"Pod", &fx.pod},
                                       std::pair<std::string, const std::string*>{"Deployment", &fx.deployment}}) {
      ++cases;
      const Judged j = judge(evaluator, *review);
      if (!j.decoded || j.verdict.decision != policy::Decision::Denied) continue;
      const bool own_rule = std::any_of(j.verdict.violations.begin(), j.verdict.violations.end(), [](const policy::Violation& v) {
        return v.rule == "privileged" || v.rule == "runtimeSockets";
      });
      if (!own_rule) continue;
      const std::string key = fx.name() + " " + kind;
      std::cout << "  stricter than PSA: " << key << " (" << describe(j.verdict) << ")\n";
      stricter.insert(key);
    }
  }
  std::cout << "pod security with podgate's default rules: " << stricter.size() << " of " << cases
            << " pass cases denied (stricter than PSA by design)\n"
            << std::flush;
  CHECK(cases > 0);
  CHECK(stricter == expected_stricter);
}

// The restricted level includes baseline (fixtures.go registers every baseline generator for
// restricted): every baseline check's failing fixture has a restricted counterpart, PSA's
// baseline-failing pods fail restricted too, and restricted-passing pods pass baseline.
TEST_CASE("restricted's fixtures include baseline's failing pods, and the levels nest", "[conformance][podSecurity]") {
  const std::optional<fs::path> testdata = testdata_dir();
  if (!testdata) return;
  const std::vector<Fixture> fixtures = load_fixtures(*testdata);
  std::set<std::tuple<std::string, int, bool, std::string>> names;
  for (const Fixture& fx : fixtures) names.insert({fx.level, fx.minor, fx.pass, fx.file.filename().string()});

  Evaluators evaluators(false);
  std::vector<std::string> problems;
  int baseline_fail = 0, cross_cases = 0;
  for (const Fixture& fx : fixtures) {
    if (fx.level == "baseline" && !fx.pass) {
      ++baseline_fail;
      if (!names.count({"restricted", fx.minor, false, fx.file.filename().string()}))
        problems.push_back(fx.name() + ": no restricted/v1." + std::to_string(fx.minor) + "/fail counterpart");
    }
    // A pod denied by baseline is denied by restricted; one allowed by restricted is allowed by baseline.
    const bool cross = (fx.level == "baseline" && !fx.pass) || (fx.level == "restricted" && fx.pass);
    if (!cross) continue;
    const std::string other = fx.level == "baseline" ? "restricted" : "baseline";
    const Judged j = judge(evaluators.get(other, fx.minor), fx.pod);
    ++cross_cases;
    const bool denied = j.decoded && j.verdict.decision == policy::Decision::Denied;
    if (!j.decoded || denied == fx.pass)
      problems.push_back(fx.name() + " at " + other + " v1." + std::to_string(fx.minor) + ": podgate " +
                         (j.decoded ? (denied ? "denies" : "allows") + std::string(" (") + describe(j.verdict) + ")"
                                    : "refused to decode: " + j.refusal));
  }
  std::cout << "pod security levels: " << baseline_fail << " baseline fail fixtures, each with a restricted counterpart; "
            << cross_cases << " cross-level Pod cases\n";
  for (const std::string& p : problems) std::cout << "  " << p << "\n";
  std::cout << std::flush;
  CHECK(baseline_fail > 0);
  CHECK(problems.size() == 0);
}
