// podgate: the command line. Parses flags and hands each subcommand to its wiring in this folder.

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <optional>

#include "commands.h"
#include "version.h"

namespace {

namespace cli = podgate::cli;

// Every flag and argument, filled in by CLI11 while it parses.
struct Flags {
  std::string config;
  cli::ServeOverrides overrides;
  std::string reviewInput = "-";
  bool reviewAudit = false;
  std::vector<std::string> checkPaths;
  std::string checkNamespace = "default";
  std::string checkOutput = "text";
  std::vector<std::string> resolveImages;
  bool resolvePin = false;
  std::string resolveFile;
  std::string resolveNamespace = "default";
  std::vector<std::string> scanReports;
  std::string scanDigest;
  std::size_t scanLimit = 50;
  std::string wantedOutput = "text";
  std::size_t wantedLimit = 500;
  std::string kubeconfig;
  std::string auditNamespace;
  std::string auditOutput = "text";
};

// A subcommand, and what runs when it is the one given.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

void add_config(CLI::App* sub, Flags& f) {
  sub->add_option("--config,-c", f.config,
                  "YAML config file (configuration.md in the documentation, podgate --help). Without it the\n"
                  "embedded defaults apply.")
      ->check(CLI::ExistingFile);
  sub->add_option("--kubeconfig", f.kubeconfig,
                  "kubeconfig for the Kubernetes API (overrides kubernetes.kubeconfig; default: in cluster,\n"
                  "else $KUBECONFIG, else ~/.kube/config). Used when the config needs the cluster; for\n"
                  "`scans` commands it selects the ImageScans of that cluster instead of scans.database.")
      ->check(CLI::ExistingFile);
}

Command add_serve(CLI::App& app, Flags& f) {
  auto* serve = app.add_subcommand("serve", "Run the admission webhook (HTTPS /validate, /audit, /mutate, /healthz, /readyz, the scan API\n"
                                            "/v1/scans; plain-HTTP /metrics), and with audit.enabled the continuous audit of\n"
                                            "what runs. SIGTERM drains and exits 0; SIGHUP reloads the rules.");
  add_config(serve, f);
  auto& o = f.overrides;
  serve->add_option("--listen", o.listen, "HOST:PORT for the HTTPS webhook (overrides server.listen; default 0.0.0.0:8443)");
  serve->add_option("--metrics-listen", o.metricsListen,
                    "HOST:PORT for plain-HTTP /metrics (overrides server.metricsListen; default 0.0.0.0:9090)");
  serve->add_option("--tls-cert", o.tlsCert, "PEM certificate chain file (overrides server.tls.certFile)");
  serve->add_option("--tls-key", o.tlsKey, "PEM private key file (overrides server.tls.keyFile)");
  serve->add_option("--log-level", o.logLevel, "debug | info | warn | error (overrides logging.level)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  return {serve, [&f] { return cli::serve(f.config, f.overrides); }};
}

Command add_review(CLI::App& app, Flags& f) {
  auto* review = app.add_subcommand(
      "review",
      "Judge one AdmissionReview (JSON) and print the response the server would send.\n"
      "Exit 0 whatever the decision; exit 2 with a one-line error if the input is unusable.");
  add_config(review, f);
  review->add_option("input", f.reviewInput, "AdmissionReview file, or - for standard input (default -)");
  review->add_flag("--audit", f.reviewAudit, "Answer as the /audit route does (never deny)");
  return {review, [&f] { return cli::review(f.config, f.reviewInput, f.reviewAudit); }};
}

Command add_check(CLI::App& app, Flags& f) {
  auto* check = app.add_subcommand(
      "check",
      "Judge Kubernetes manifests (YAML or JSON, multi-document, files or directories) as admission\n"
      "would on CREATE. One line per violation, or a machine-readable report with -o (check.md in the\n"
      "documentation). Exit 1 if enforcement would deny anything, 2 on bad input, in every format.");
  add_config(check, f);
  check->add_option("-f,--filename", f.checkPaths, "Manifest file or directory (repeatable), or - for stdin")->required();
  check->add_option("--namespace,-n", f.checkNamespace, "Namespace for objects that do not set one (default \"default\")");
  check->add_option("-o,--output", f.checkOutput,
                    "text (default: one line per finding) | json | sarif (SARIF 2.1.0, for GitHub code scanning) |\n"
                    "junit (JUnit XML). Reports go to stdout, the summary to stderr.")
      ->check(CLI::IsMember({"text", "json", "sarif", "junit"}));
  return {check, [&f] { return cli::check(f.config, f.checkPaths, f.checkNamespace, f.checkOutput); }};
}

Command add_resolve(CLI::App& app, Flags& f) {
  auto* resolve = app.add_subcommand(
      "resolve",
      "Resolve image references to digests at their registries, as the image rules do (in the style of\n"
      "`crane digest`), using the config's registries (CA files, plainHTTP, credentials) and\n"
      "rules.images.resolve.timeout. Prints \"IMAGE DIGEST\", then \"  PLATFORM DIGEST\" for each child of an\n"
      "index. Exit 1 if any image could not be resolved, 2 on bad input.\n"
      "With --pin -f FILE: print FILE's manifests with each tag-only image of every pod-bearing object\n"
      "pinned to its digest (nginx:1.27 -> nginx:1.27@sha256:...), as rules.images.pinDigests does at\n"
      "admission (exemptions and trustedRegistries apply), changing nothing else in the text. Images\n"
      "that cannot be resolved or edited are left as written and named on stderr; the manifests are\n"
      "printed all the same, and the exit status is 1.");
  add_config(resolve, f);
  resolve->add_option("images", f.resolveImages, "Image references (nginx, ghcr.io/org/app:1.2, ...)");
  auto* pin = resolve->add_flag("--pin", f.resolvePin, "Pin the images of the manifests in -f FILE (for GitOps repositories)");
  resolve->add_option("-f,--filename", f.resolveFile, "With --pin: the manifest file (YAML or JSON), or - for stdin")
      ->needs(pin);
  resolve->add_option("--namespace,-n", f.resolveNamespace,
                      "With --pin: namespace for objects that do not set one, for namespace exemptions (default \"default\")")
      ->needs(pin);
  return {resolve, [&f] {
            if (f.resolvePin) {
              if (f.resolveFile.empty() || !f.resolveImages.empty()) {
                std::cerr << "podgate resolve: --pin takes -f FILE and no image arguments\n";
                return 2;
              }
              return cli::resolve_pin(f.config, f.resolveFile, f.resolveNamespace);
            }
            if (f.resolveImages.empty()) {
              std::cerr << "podgate resolve: give image references, or --pin -f FILE\n";
              return 2;
            }
            return cli::resolve(f.config, f.resolveImages);
          }};
}

Command add_scans_wanted(CLI::App* scans, Flags& f) {
  auto* wanted = scans->add_subcommand(
      "wanted",
      "List the digests running in the cluster with no scan younger than rules.images.scan.maxScanAge,\n"
      "oldest first: the cluster's Pods listed once (as the continuous audit sees them), each digest with\n"
      "the repository to pull it from, checked against the configured scan store (--kubeconfig: the\n"
      "cluster's ImageScans). Text: \"DIGEST  REFERENCE  since=TIME scanned=never|TIME pods=N\"; a summary\n"
      "goes to stderr. It cannot see what a replica admitted but no Pod runs yet (each replica remembers\n"
      "that in memory): GET /v1/scans/wanted on a replica has both. Exit 0; 2 if the cluster or the\n"
      "scans cannot be read.");
  add_config(wanted, f);
  wanted->add_option("-o,--output", f.wantedOutput, "text | json (default text)")
      ->check(CLI::IsMember({"text", "json"}));
  wanted->add_option("--limit", f.wantedLimit, "At most this many (default 500)")->check(CLI::Range(1, 100000));
  return {wanted, [&f] { return cli::scans_wanted(f.config, f.wantedOutput, f.wantedLimit); }};
}

// `scans import`, `scans show`, `scans list` and `scans wanted`.
std::vector<Command> add_scans(CLI::App& app, Flags& f) {
  auto* scans = app.add_subcommand(
      "scans", "The scan cache (scans.database): import scanner reports, show what is known about a digest, list,\n"
               "and list what runs unscanned.");
  scans->require_subcommand(1);
  auto* scans_import = scans->add_subcommand(
      "import",
      "Import Trivy JSON (SchemaVersion 2), Grype JSON or podgate verdict reports (scan-verdicts.md),\n"
      "each in one transaction. Prints what was stored. Exit 1 if any report was refused, 2 on bad usage.");
  add_config(scans_import, f);
  scans_import->add_option("reports", f.scanReports, "Report files")->required();
  auto* scans_show = scans->add_subcommand("show", "Print every scanner's latest record for a digest, as JSON. Exit 1 if none.");
  add_config(scans_show, f);
  scans_show->add_option("digest", f.scanDigest, "sha256:<64 hex>")->required();
  auto* scans_list = scans->add_subcommand("list", "List stored scans, newest first (a summary line goes to stderr).");
  add_config(scans_list, f);
  scans_list->add_option("--limit", f.scanLimit, "How many (default 50)")->check(CLI::Range(1, 100000));
  return {{scans_import, [&f] { return cli::scans_import(f.config, f.scanReports); }},
          {scans_show, [&f] { return cli::scans_show(f.config, f.scanDigest); }},
          {scans_list, [&f] { return cli::scans_list(f.config, f.scanLimit); }},
          add_scans_wanted(scans, f)};
}

Command add_audit(CLI::App& app, Flags& f) {
  auto* audit = app.add_subcommand(
      "audit",
      "Judge the Pods that run in a cluster now, as the continuous audit does (the kubelet's digests, the\n"
      "scan cache, the rules of --config in enforce mode), grouped by workload. Needs the cluster\n"
      "(--kubeconfig, $KUBECONFIG or in cluster) and list on pods. Exit 1 if anything running violates a\n"
      "rule, 2 on bad input or an unreachable cluster.");
  add_config(audit, f);
  audit->add_option("--namespace,-n", f.auditNamespace, "Only this namespace (default: every namespace)");
  audit->add_option("--output,-o", f.auditOutput, "text (one line per finding) or json")
      ->check(CLI::IsMember({"text", "json"}));
  return {audit, [&f] { return cli::audit(f.config, f.auditNamespace, f.auditOutput); }};
}

Command add_version(CLI::App& app) {
  return {app.add_subcommand("version", "Print the podgate version"), [] {
            std::cout << "podgate " << podgate::kVersion << "\n";
            return 0;
          }};
}

// CLI11 answers `podgate bogus` with "A subcommand is required"; say which word is unknown and
// what the choices are. Walks the subcommands given (`scans bogus` too) up to the first option.
std::optional<std::string> unknown_subcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  std::string command = "podgate";
  for (int i = 1; i < argc && current->get_require_subcommand_min() > 0; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return std::nullopt;  // an option: CLI11's own messages apply
    CLI::App* sub = nullptr;
    for (CLI::App* candidate : current->get_subcommands({}))
      if (candidate->check_name(word)) sub = candidate;
    if (!sub) {
      std::string names;
      for (const CLI::App* candidate : current->get_subcommands({}))
        names += (names.empty() ? "" : ", ") + candidate->get_name();
      return command + ": unknown subcommand \"" + word + "\" (one of: " + names + "; see " + command + " --help)";
    }
    current = sub;
    command += " " + word;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "podgate: a Kubernetes validating admission webhook that refuses privileged containers,\n"
      "container-runtime socket mounts, and untrusted, blocked, missing, unsigned, unscanned,\n"
      "vulnerable or malicious images (resolved to digests, judged by the scan cache and cosign\n"
      "signatures; optionally pinned to those digests by /mutate).\n"
      "Help for one subcommand: podgate <subcommand> --help. The documentation is installed in\n"
      "" PODGATE_DOC_DIR "/ (README.md; configuration.md: every config key; operations.md:\n"
      "modes, metrics, alerts runbook; check.md: podgate check's reports; pod-security.md;\n"
      "scan-verdicts.md)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("podgate ") + podgate::kVersion);

  Flags flags;
  // In the order `podgate --help` lists them.
  std::vector<Command> commands = {add_serve(app, flags), add_review(app, flags), add_check(app, flags),
                                   add_resolve(app, flags)};
  for (auto& scans : add_scans(app, flags)) commands.push_back(std::move(scans));
  commands.push_back(add_audit(app, flags));
  commands.push_back(add_version(app));

  if (const auto unknown = unknown_subcommand(app, argc, argv)) {
    std::cerr << *unknown << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the usage error
    return rc == 0 ? 0 : 2;      // usage errors exit 2, like unusable input
  }
  podgate::cli::set_kubeconfig_flag(flags.kubeconfig);
  for (const auto& command : commands)
    if (*command.app) return command.run();
  return 2;
}
