// The part of Go's text/template that `docker inspect -f` users type:
//
//   {{.State.Pid}}  {{.NetworkSettings.IPAddress}}  {{json .Config}}
//   {{index .NetworkSettings.Ports "80/tcp"}}  {{len .Mounts}}  {{join .Args " "}}
//   {{range .Mounts}}{{.Destination}} {{end}}  {{range $k, $v := .Config.Labels}}..{{end}}
//   {{if .State.Running}}up{{else}}down{{end}}  {{lower .State.Status}}  {{upper ...}}
//
// Values print as Go prints them: strings raw, maps as map[k:v], lists as
// [a b], a missing field as <no value>. Anything else is a one-line
// mctr::Error naming the action, as Docker's "template: ..." errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mctr::tmpl {

std::string render(const std::string& text, const nlohmann::json& data);

}  // namespace mctr::tmpl
