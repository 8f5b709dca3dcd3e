// Docker's HostConfig.NetworkMode: which network namespace a container gets.
#pragma once

#include <string>
#include <string_view>

namespace mctr::container {

struct NetworkMode {
  enum class Kind {
    kBridge,     // "bridge": the default bridge (a veth on minictr0)
    kUser,       // a network made by `network create`, named in `target`
    kNone,       // "none": a network namespace with only lo
    kHost,       // "host": the host's network namespace
    kContainer,  // "container:ID": the network namespace of container `target`
  };
  Kind kind = Kind::kBridge;
  std::string target;  // kUser: the network's name; kContainer: the container's id (or the name given)

  // "bridge" (or Docker's "default"), "none", "host", "container:REF", or
  // any other word: a user network's name. Throws Error on "".
  static NetworkMode parse(std::string_view text);
  // Docker's word: "bridge", "none", "host", "container:ID", or the network's name.
  std::string str() const;

  // On a bridge, with a veth: the default one or a user network.
  bool attaches_to_bridge() const { return kind == Kind::kBridge || kind == Kind::kUser; }
  bool joins_container() const { return kind == Kind::kContainer; }
  // The network a bridge mode attaches to: "bridge" or the user network's name.
  std::string network_name() const { return kind == Kind::kUser ? target : str(); }

  friend bool operator==(const NetworkMode&, const NetworkMode&) = default;
};

}  // namespace mctr::container
