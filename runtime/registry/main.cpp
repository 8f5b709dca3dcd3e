// minictr-registry: the registry client behind `minictr push` and `minictr
// pull`, which exec it (as Docker's CLI runs its plugins).
//
// Why a second executable: libcurl has no complete static archive in
// Debian (libcurl.a needs GSSAPI, LDAP, libssh2, nghttp2... of which only
// shared objects exist), and `minictr` itself is a static PIE that links
// nothing that has none (docs/performance.md: ~0.5 ms off every start).
// Linking libcurl into it would make every `run` pay for push and pull.
//
//   minictr-registry pull|push --root DIR [--insecure] REFERENCE
#include <curl/curl.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "image/store.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "util/error.h"

int main(int argc, char** argv) {
  std::string verb = argc > 1 ? argv[1] : "";
  std::string root, ref;
  bool insecure = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--root") == 0 && i + 1 < argc)
      root = argv[++i];
    else if (std::strcmp(argv[i], "--insecure") == 0)
      insecure = true;
    else
      ref = argv[i];
  }
  if ((verb != "pull" && verb != "push") || root.empty() || ref.empty()) {
    std::fprintf(stderr, "usage: minictr-registry pull|push --root DIR [--insecure] REFERENCE\n");
    return mctr::kExitRuntimeError;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  try {
    mctr::image::Store store(root);
    if (verb == "pull")
      mctr::registry::pull(store, ref, insecure, std::cout, std::cerr);
    else
      mctr::registry::push(store, ref, insecure, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::fprintf(stderr, "minictr: error: %s %s: %s\n", verb.c_str(), ref.c_str(), e.what());
    return mctr::kExitRuntimeError;
  }
  return 0;
}
