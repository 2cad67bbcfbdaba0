#pragma once
// What the config library's own files share; not part of the library's interface, which is config.h.

#include <string>
#include <string_view>

namespace podgate::config::detail {

// ASCII lower case (config.cpp).
std::string lowercase(std::string_view text);

// "index.docker.io" is "docker.io"; any other domain is itself (values.cpp).
std::string fold_docker_hub(std::string domain);

}  // namespace podgate::config::detail
