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

// How a blob reached the registry.
enum class Upload { kExists, kMounted, kPushed };

// Blobs larger than this go up in PATCH chunks of this size, smaller ones in
// one PUT. 16 MiB, or $MINICTR_UPLOAD_CHUNK_SIZE (bytes; K, M and G suffixes)
// for tests that want many chunks from a small image.
uint64_t upload_chunk_size();

// Upload `file` (whose digest is d.digest) unless the registry has it:
//   HEAD <repo>/blobs/<digest>                200: there already
//   POST <repo>/blobs/uploads/[?mount=<digest>&from=<mount_from>]
//        201: mounted from that repository of the same registry (no bytes sent)
//        202: an upload session at Location
//   size <= chunk: PUT <Location>&digest=    the whole file (a "monolithic" upload)
//   else: PATCH <Location> Content-Range: a-b, chunk by chunk, each to the
//         Location the previous answer gave; then PUT <Location>&digest=
// The file is read chunk by chunk as curl sends it, never whole in memory;
// the registry hashes what it received and refuses a digest that differs
// (400 DIGEST_INVALID).
Upload upload_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                   const std::filesystem::path& file, const std::string& mount_from = "",
                   uint64_t chunk_size = upload_chunk_size());

// Throws mctr::Error("<registry's message> (CODE, status)") for a status not in `ok`.
void expect_status(const Response& r, std::initializer_list<long> ok);

}  // namespace mctr::registry
