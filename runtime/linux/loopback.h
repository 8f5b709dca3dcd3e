#pragma once
namespace mctr::linux_ns {
// A new network namespace has only `lo`, and it is down: bring it up
// (ioctl SIOCSIFFLAGS IFF_UP, what `ip link set lo up` does).
void bring_up_loopback();
}  // namespace mctr::linux_ns
