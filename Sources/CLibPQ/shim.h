#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H

#include <libpq-fe.h>

#ifdef __linux__
#include <errno.h>
#include <sys/epoll.h>

/// Arms `fd` in the epoll set `epfd` for one readiness event (EPOLLONESHOT): readable, or (`writable` non-zero)
/// readable or writable. Registers the descriptor the first time. Returns 0, or -1 with errno set.
/// (Written in C because `struct epoll_event` is packed on x86-64.)
static inline int swift_batch_epoll_arm(int epfd, int fd, int writable) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT | (writable ? EPOLLOUT : 0);
    event.data.u64 = 0;
    event.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    if (errno != ENOENT) return -1;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/// Waits for readiness events on `epfd` (no timeout) and stores the ready descriptors in `fds` (at most
/// `capacity`, at most 64). Returns their count, or -1 with errno set.
static inline int swift_batch_epoll_wait(int epfd, int *fds, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, -1);
    for (int i = 0; i < count; i++) fds[i] = events[i].data.fd;
    return count;
}
#endif

#endif
