#include "util/listing.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "util/error.h"
#include "util/template.h"

namespace mctr::listing {

namespace {

using nlohmann::json;

constexpr size_t kMinWidth = 10;  // docker/cli formatter: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
constexpr size_t kPadding = 3;

// Docker replaces the two escapes people type in a shell argument.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string trim_spaces(const std::string& s) {
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The fields a template names at the top level of an action ({{.Names}},
// {{json .Labels}}, {{if .Ports}}); fields reached through a variable or
// inside a range ({{$.X}}, {{range .Mounts}}{{.Destination}}) are not checked.
void check_fields(const std::string& tmpl, const Table& table) {
  static const std::regex action(R"(\{\{-?\s*([^}]*)\}\})");
  static const std::regex field(R"((^|[\s(])\.([A-Za-z_][A-Za-z0-9_]*))");
  if (tmpl.find("{{range") != std::string::npos || tmpl.find("{{ range") != std::string::npos) return;
  for (std::sregex_iterator a(tmpl.begin(), tmpl.end(), action), end; a != end; ++a) {
    const std::string body = (*a)[1];
    for (std::sregex_iterator f(body.begin(), body.end(), field); f != end; ++f) {
      const std::string name = (*f)[2];
      auto known = [&](const Column& c) { return c.field == name; };
      if (std::none_of(table.columns.begin(), table.columns.end(), known)) {
        std::string fields;
        for (const auto& c : table.columns) fields += (fields.empty() ? "" : ", ") + c.field;
        throw Error("template: no field ." + name + " (fields: " + fields + ")");
      }
    }
  }
}

std::string render_rows(const std::string& tmpl, const std::vector<json>& rows) {
  std::string out;
  for (const auto& r : rows) out += tmpl::render(tmpl, r) + "\n";
  return out;
}

size_t chars(const std::string& s) {
  // UTF-8: count every byte that does not continue a character.
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

std::string align_tabs(const std::string& text) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      cells.push_back(line.substr(start, tab - start));
    cells.push_back(line.substr(start));
    lines.push_back(std::move(cells));
  }
  std::vector<size_t> width;
  for (const auto& cells : lines)
    for (size_t i = 0; i + 1 < cells.size(); ++i) {  // a line's last cell is not in a column
      if (width.size() <= i) width.push_back(kMinWidth);
      width[i] = std::max(width[i], chars(cells[i]) + kPadding);
    }
  std::string out;
  for (const auto& cells : lines) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - chars(cells[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

std::string format_rows(const std::string& format, const Table& table, const std::vector<json>& rows) {
  const std::string f = trim_spaces(format);
  if (f == "json") {
    std::string out;
    for (const auto& r : rows) out += r.dump() + "\n";
    return out;
  }
  std::string tmpl;
  bool is_table = false;
  if (f.empty() || f == "table") {
    return format_rows(table.default_format, table, rows);
  } else if (f.starts_with("table ")) {
    is_table = true;
    tmpl = unescape(trim_spaces(f.substr(6)));
  } else {
    tmpl = unescape(f);
  }
  check_fields(tmpl, table);
  if (!is_table) return render_rows(tmpl, rows);
  json headers = json::object();
  for (const auto& c : table.columns) headers[c.field] = c.header;
  return align_tabs(tmpl::render(tmpl, headers) + "\n" + render_rows(tmpl, rows));
}

std::string format_object(const std::string& format, const json& data) {
  const std::string f = trim_spaces(format);
  if (f == "json") return data.dump() + "\n";
  if (f == "table" || f.starts_with("table "))
    throw Error("--format: table needs a list; use json or a template");
  return tmpl::render(unescape(f), data) + "\n";
}

}  // namespace mctr::listing
