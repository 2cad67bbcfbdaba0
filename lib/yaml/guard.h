#pragma once
// yaml-cpp loading as podgate needs it: guarded against a yaml-cpp 0.7 defect that would otherwise
// hang the loader. Used by lib/config (the config file) and lib/manifest (`podgate check`).

#include <string>

namespace podgate::yaml {

// yaml-cpp 0.7 never gets past a stray token after a top-level flow collection ("[]," or
// "{mode: audit},"): it returns an empty document at that token again and again, and LoadAll
// collects them until memory runs out (found by fuzzing). This walks the documents of `text`
// without building them; a document that starts where the previous one did has consumed nothing,
// so that token is a syntax error, thrown as yaml-cpp's own YAML::ParserException with its position.
// Call it before YAML::Load or YAML::LoadAll on the same text.
void check_documents_advance(const std::string& text);

}  // namespace podgate::yaml
