// --format on the listings (ps, images, volume ls, version): Docker's
// table / json / template forms, and Go's tabwriter alignment.
#include "util/listing.h"

#include <gtest/gtest.h>

#include "expect_error.h"

using mctr::listing::align_tabs;
using mctr::listing::format_rows;
using mctr::listing::Table;
using nlohmann::json;

namespace {

const Table kPs{{{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Names", "NAMES"}, {"Ports", "PORTS"}},
                "table {{.ID}}\t{{.Image}}\t{{.Names}}"};

const std::vector<json> kRows{
    {{"ID", "0123456789ab"}, {"Image", "busybox"}, {"Names", "web"}, {"Ports", "0.0.0.0:8080->80/tcp"}},
    {{"ID", "ba9876543210"}, {"Image", "inference:latest"}, {"Names", "llm"}, {"Ports", ""}},
};

TEST(Listing, DefaultIsTheVerbsTable) {
  const std::string want =
      "CONTAINER ID   IMAGE              NAMES\n"
      "0123456789ab   busybox            web\n"
      "ba9876543210   inference:latest   llm\n";
  EXPECT_EQ(format_rows("", kPs, kRows), want);
  EXPECT_EQ(format_rows("table", kPs, kRows), want);
}

TEST(Listing, TableTemplateHasHeadersAndTypedTabs) {
  // The shell passes a backslash and a t: Docker reads it as a tab.
  EXPECT_EQ(format_rows(R"(table {{.Names}}\t{{.Ports}})", kPs, kRows),
            "NAMES     PORTS\n"
            "web       0.0.0.0:8080->80/tcp\n"
            "llm       \n");
}

TEST(Listing, PlainTemplateIsOneLinePerRowUnaligned) {
  EXPECT_EQ(format_rows("{{.Names}}: {{.ID}}", kPs, kRows), "web: 0123456789ab\nllm: ba9876543210\n");
  EXPECT_EQ(format_rows(R"({{.Names}}\t{{.Image}})", kPs, kRows), "web\tbusybox\nllm\tinference:latest\n");
  EXPECT_EQ(format_rows("{{upper .Names}}{{if .Ports}} published{{end}}", kPs, kRows),
            "WEB published\nLLM\n");
  EXPECT_EQ(format_rows("{{.Names}}", kPs, {}), "");
}

TEST(Listing, JsonIsOneObjectPerLine) {
  const std::string out = format_rows("json", kPs, kRows);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(json::parse(out.substr(0, out.find('\n'))), kRows[0]);
  EXPECT_EQ(format_rows("{{json .}}", kPs, {kRows[1]}), kRows[1].dump() + "\n");
}

TEST(Listing, UnknownFieldIsRefusedWithTheFieldsThereAre) {
  EXPECT_ERROR(format_rows("{{.Name}}", kPs, kRows), "no field .Name (fields: ID, Image, Names, Ports)");
  EXPECT_ERROR(format_rows("table {{.ID}}\t{{json .Labels}}", kPs, kRows), "no field .Labels");
  EXPECT_ERROR(format_rows("{{.Names", kPs, kRows), "template");
}

TEST(Listing, TabwriterPadsToMinWidthTenAndCountsCharacters) {
  EXPECT_EQ(align_tabs("a\tb\n"), "a         b\n");                                    // minwidth 10
  EXPECT_EQ(align_tabs("abcdefghij\tb\nx\ty\n"), "abcdefghij   b\nx            y\n");  // widest + 3
  // "…" is three bytes and one column, as ps's truncated COMMAND.
  EXPECT_EQ(align_tabs("\"sleep 10…\"\tz\nlonger-than-ten\tz\n"),
            "\"sleep 10…\"       z\nlonger-than-ten   z\n");
  EXPECT_EQ(align_tabs("only\n"), "only\n");
}

TEST(Listing, OneObjectIsJsonOrATemplateNeverATable) {
  const json v = {{"Client", {{"Version", "0.1.0"}, {"Os", "linux"}}}};
  EXPECT_EQ(mctr::listing::format_object("{{.Client.Version}}", v), "0.1.0\n");
  EXPECT_EQ(mctr::listing::format_object(R"({{.Client.Os}}\t{{.Client.Version}})", v), "linux\t0.1.0\n");
  EXPECT_EQ(json::parse(mctr::listing::format_object("json", v)), v);
  EXPECT_ERROR(mctr::listing::format_object("table {{.Client.Version}}", v), "table needs a list");
}

}  // namespace
