// Docker's --format for listings (ps, images, volume ls, version):
//
//   ""  or "table"     the verb's default table
//   "table TEMPLATE"   a header row, then TEMPLATE for each row, cells aligned
//                      at tabs (Go's tabwriter as Docker sets it up)
//   "json"             each row as one line of JSON
//   TEMPLATE           TEMPLATE for each row, one line each, nothing aligned
//
// TEMPLATE is a Go template over the row's fields ({{.ID}}, {{.Names}}, ...;
// see util/template.h). As in Docker, a typed `\t` or `\n` (backslash and a
// letter) means a tab or a newline. The header row is the same template
// rendered over the column headers ({{.ID}} -> "CONTAINER ID").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mctr::listing {

struct Column {
  std::string field;   // the template's name for it: "ID" in {{.ID}}
  std::string header;  // what the table's header row says: "CONTAINER ID"
};

struct Table {
  std::vector<Column> columns;  // every field a template may name
  std::string default_format;   // e.g. "table {{.ID}}\t{{.Names}}"
};

// The whole output, one line per row (after a header for tables). A field
// that is not one of the columns is refused (mctr::Error), as Docker refuses
// it: a typo should not print "<no value>" on every line.
std::string format_rows(const std::string& format, const Table& table,
                        const std::vector<nlohmann::json>& rows);

// --format for one object (docker version --format): "json" is the object
// on one line, anything else a Go template over it (typed \t and \n as
// above); "table" is refused, there are no rows.
std::string format_object(const std::string& format, const nlohmann::json& data);

// Go's text/tabwriter as Docker's formatter sets it up (minwidth 10,
// padding 3, spaces): every cell but a line's last is padded to its
// column's width, counted in characters, not bytes.
std::string align_tabs(const std::string& text);

}  // namespace mctr::listing
