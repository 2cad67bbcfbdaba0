// podgate: the command line. Parses flags and hands each subcommand to its wiring in this folder.

#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "version.h"

int main(int argc, char** argv) {
  CLI::App app{
      "podgate: a Kubernetes validating admission webhook that refuses privileged containers,\n"
      "container-runtime socket mounts, and untrusted, blocked, missing, unscanned, vulnerable or\n"
      "malicious images (resolved to digests, judged by the scan cache).\n"
      "Docs: docs/configuration.md, docs/operations.md"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("podgate ") + podgate::kVersion);

  std::string config_path;
  auto add_config = [&config_path](CLI::App* sub) {
    sub->add_option("--config,-c", config_path,
                    "YAML config file (docs/configuration.md). Without it the embedded defaults apply.")
        ->check(CLI::ExistingFile);
  };

  // serve
  podgate::cli::ServeOverrides overrides;
  auto* serve = app.add_subcommand("serve", "Run the admission webhook (HTTPS /validate, /audit, /healthz, /readyz;\n"
                                            "plain-HTTP /metrics). SIGTERM drains and exits 0; SIGHUP reloads the rules.");
  add_config(serve);
  serve->add_option("--listen", overrides.listen, "HOST:PORT for the HTTPS webhook (overrides server.listen; default 0.0.0.0:8443)");
  serve->add_option("--metrics-listen", overrides.metricsListen,
                    "HOST:PORT for plain-HTTP /metrics (overrides server.metricsListen; default 0.0.0.0:9090)");
  serve->add_option("--tls-cert", overrides.tlsCert, "PEM certificate chain file (overrides server.tls.certFile)");
  serve->add_option("--tls-key", overrides.tlsKey, "PEM private key file (overrides server.tls.keyFile)");
  serve->add_option("--log-level", overrides.logLevel, "debug | info | warn | error (overrides logging.level)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  // review
  std::string review_input = "-";
  bool review_audit = false;
  auto* review = app.add_subcommand(
      "review",
      "Judge one AdmissionReview (JSON) and print the response the server would send.\n"
      "Exit 0 whatever the decision; exit 2 with a one-line error if the input is unusable.");
  add_config(review);
  review->add_option("input", review_input, "AdmissionReview file, or - for standard input (default -)");
  review->add_flag("--audit", review_audit, "Answer as the /audit route does (never deny)");

  // check
  std::vector<std::string> check_paths;
  std::string check_namespace = "default";
  auto* check = app.add_subcommand(
      "check",
      "Judge Kubernetes manifests (YAML or JSON, multi-document, files or directories) as admission\n"
      "would on CREATE. One line per violation. Exit 1 if enforcement would deny anything, 2 on bad input.");
  add_config(check);
  check->add_option("-f,--filename", check_paths, "Manifest file or directory (repeatable), or - for stdin")->required();
  check->add_option("--namespace,-n", check_namespace, "Namespace for objects that do not set one (default \"default\")");

  // resolve
  std::vector<std::string> resolve_images;
  auto* resolve = app.add_subcommand(
      "resolve",
      "Resolve image references to digests at their registries, as the image rules do (in the style of\n"
      "`crane digest`), using the config's registries (CA files, plainHTTP, credentials) and\n"
      "rules.images.resolve.timeout. Prints \"IMAGE DIGEST\", then \"  PLATFORM DIGEST\" for each child of an\n"
      "index. Exit 1 if any image could not be resolved, 2 on bad input.");
  add_config(resolve);
  resolve->add_option("images", resolve_images, "Image references (nginx, ghcr.io/org/app:1.2, ...)")->required();

  // scans
  auto* scans = app.add_subcommand(
      "scans", "The scan cache (scans.database): import scanner reports, show what is known about a digest, list.");
  scans->require_subcommand(1);
  std::vector<std::string> scan_reports;
  auto* scans_import = scans->add_subcommand(
      "import",
      "Import Trivy JSON (SchemaVersion 2), Grype JSON or podgate verdict reports (docs/scan-verdicts.md),\n"
      "each in one transaction. Prints what was stored. Exit 1 if any report was refused, 2 on bad usage.");
  add_config(scans_import);
  scans_import->add_option("reports", scan_reports, "Report files")->required();
  std::string scan_digest;
  auto* scans_show = scans->add_subcommand("show", "Print every scanner's latest record for a digest, as JSON. Exit 1 if none.");
  add_config(scans_show);
  scans_show->add_option("digest", scan_digest, "sha256:<64 hex>")->required();
  std::size_t scan_limit = 50;
  auto* scans_list = scans->add_subcommand("list", "List stored scans, newest first (a summary line goes to stderr).");
  add_config(scans_list);
  scans_list->add_option("--limit", scan_limit, "How many (default 50)")->check(CLI::Range(1, 100000));

  // version
  auto* version = app.add_subcommand("version", "Print the podgate version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the usage error
    return rc == 0 ? 0 : 2;      // usage errors exit 2, like unusable input
  }

  if (*serve) return podgate::cli::serve(config_path, overrides);
  if (*review) return podgate::cli::review(config_path, review_input, review_audit);
  if (*check) return podgate::cli::check(config_path, check_paths, check_namespace);
  if (*resolve) return podgate::cli::resolve(config_path, resolve_images);
  if (*scans_import) return podgate::cli::scans_import(config_path, scan_reports);
  if (*scans_show) return podgate::cli::scans_show(config_path, scan_digest);
  if (*scans_list) return podgate::cli::scans_list(config_path, scan_limit);
  if (*version) {
    std::cout << "podgate " << podgate::kVersion << "\n";
    return 0;
  }
  return 2;
}
