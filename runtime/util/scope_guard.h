// ScopeGuard: run an undo action when leaving the scope, unless dismissed.
//
//   mount(...);
//   ScopeGuard undo_mount([&] { umount2(target, MNT_DETACH); });
//   ... more setup that may throw ...
//   undo_mount.dismiss();   // setup succeeded: keep the mount
#pragma once

#include <functional>
#include <utility>

namespace mctr {

class ScopeGuard {
 public:
  explicit ScopeGuard(std::function<void()> undo) : undo_(std::move(undo)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (undo_) {
      try {
        undo_();
      } catch (...) {
        // An undo step that fails must not hide the original error.
      }
    }
  }
  void dismiss() { undo_ = nullptr; }

 private:
  std::function<void()> undo_;
};

}  // namespace mctr
