// Blobs in and out of a registry, with their digests checked.
#pragma once

#include <filesystem>
#include <string>

#include "image/registry_manifest.h"
#include "registry/http_client.h"

namespace mctr::registry {

// GET a blob into `file`, hashing and counting bytes while they are
// written: a digest or size that differs from `d` throws (the file is then
// removed). `repo_path`: "/v2/<name>".
void download_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                   const std::filesystem::path& file);
// GET a small blob (a config) into memory, verified the same way.
std::string download_small_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d);

// Upload `file` (whose digest is d.digest) unless the registry has it.
// Returns false when it was there already.
bool upload_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                 const std::filesystem::path& file);

// Throws mctr::Error("<registry's message> (CODE, status)") for a status not in `ok`.
void expect_status(const Response& r, std::initializer_list<long> ok);

}  // namespace mctr::registry
