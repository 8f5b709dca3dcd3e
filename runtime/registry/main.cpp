// minictr-registry: the registry client behind `minictr push`, `pull`,
// `login` and `logout`, which exec it (as Docker's CLI runs its plugins).
//
// Why a second executable: libcurl has no complete static archive in
// Debian (libcurl.a needs GSSAPI, LDAP, libssh2, nghttp2... of which only
// shared objects exist), and `minictr` itself is a static PIE that links
// nothing that has none (docs/performance.md: ~0.5 ms off every start).
// Linking libcurl into it would make every `run` pay for push and pull.
//
//   minictr-registry pull|push --root DIR [--insecure] REFERENCE
//   minictr-registry login --root DIR [--insecure] --username USER SERVER   (password on stdin)
//   minictr-registry logout --root DIR SERVER
#include <curl/curl.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "image/store.h"
#include "registry/credential_helper.h"
#include "registry/login.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "util/error.h"

namespace {

// The password as `minictr login` writes it to our stdin (never in argv,
// where /proc/<pid>/cmdline shows it to every user); one trailing newline
// dropped, as docker login --password-stdin does.
std::string password_from_stdin() {
  std::string p((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (p.ends_with("\n")) p.pop_back();
  if (p.ends_with("\r")) p.pop_back();
  return p;
}

int run(const std::string& verb, const std::string& root, bool insecure, const std::string& user,
        const std::string& ref) {
  if (verb == "login") {
    mctr::registry::login(root, ref, insecure, {user, password_from_stdin()}, std::cout, std::cerr);
  } else if (verb == "logout") {
    mctr::registry::logout(root, ref, std::cout);
  } else {
    mctr::image::Store store(root);
    if (verb == "pull")
      mctr::registry::pull(store, ref, insecure, std::cout, std::cerr);
    else
      mctr::registry::push(store, ref, insecure, std::cout, std::cerr);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string verb = argc > 1 ? argv[1] : "";
  std::string root, ref, user;
  bool insecure = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--root") == 0 && i + 1 < argc)
      root = argv[++i];
    else if (std::strcmp(argv[i], "--username") == 0 && i + 1 < argc)
      user = argv[++i];
    else if (std::strcmp(argv[i], "--insecure") == 0)
      insecure = true;
    else
      ref = argv[i];
  }
  bool known = verb == "pull" || verb == "push" || verb == "login" || verb == "logout";
  if (!known || root.empty() || ref.empty()) {
    std::fprintf(stderr,
                 "usage: minictr-registry pull|push|login|logout --root DIR [--insecure] [--username USER] "
                 "REFERENCE|SERVER\n");
    return mctr::kExitRuntimeError;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto report = [&](const std::exception& e) {
    std::cout.flush();
    std::fprintf(stderr, "minictr: error: %s %s: %s\n", verb.c_str(), ref.c_str(), e.what());
  };
  try {
    return run(verb, root, insecure, user, ref);
  } catch (const mctr::registry::CredentialHelperError& e) {
    report(e);  // the helper (or its configuration) failed, not the login: 125 from every verb
    return e.exit_code();
  } catch (const std::exception& e) {
    report(e);
    // docker login exits 1 on every failure; push and pull keep the runtime's 125.
    return verb == "login" || verb == "logout" ? 1 : mctr::kExitRuntimeError;
  }
}
