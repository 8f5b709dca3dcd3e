#include "container/network_mode.h"

#include "util/error.h"

namespace mctr::container {

namespace {
constexpr std::string_view kContainerPrefix = "container:";
}

NetworkMode NetworkMode::parse(std::string_view text) {
  if (text.empty()) throw Error("invalid network mode: empty");
  if (text == "bridge" || text == "default") return {Kind::kBridge, ""};
  if (text == "none") return {Kind::kNone, ""};
  if (text == "host") return {Kind::kHost, ""};
  if (text.substr(0, kContainerPrefix.size()) == kContainerPrefix)
    return {Kind::kContainer, std::string(text.substr(kContainerPrefix.size()))};
  return {Kind::kUser, std::string(text)};
}

std::string NetworkMode::str() const {
  switch (kind) {
    case Kind::kBridge:
      return "bridge";
    case Kind::kNone:
      return "none";
    case Kind::kHost:
      return "host";
    case Kind::kContainer:
      return std::string(kContainerPrefix) + target;
    case Kind::kUser:
      return target;
  }
  return "bridge";
}

}  // namespace mctr::container
