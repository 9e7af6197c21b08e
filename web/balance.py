"""Connections spread evenly over the gunicorn workers.

The workers share one listening socket, and a new connection goes to whichever worker's hub gets
to ``accept()`` it first. Clients that keep their connections open (a load balancer, a partner's
HTTP client, a load generator) then stay where they fell: 16 keep-alive connections over two
workers were seen split 8/8, but as often 6/10, 4/12 and 2/14. Requests on the busier worker wait
longer for its CPU while the other idles now and then (it was most of wrk's p99 at 16 connections).

Each worker publishes how many connections it holds in a small array that every worker shares (an
anonymous shared memory map the master makes before it forks, a slot per worker). A worker woken by
a new connection while it holds more than another worker leaves the connection to it for
``WORKER_BALANCE_MS``; if the connection is still waiting then (the other worker is busy, hung, or
gone), it takes it itself. So a connection is never delayed by more than that, and a worker that
holds no more than any other accepts at once, as before.

The master owns the slots: ``Shares.claim`` in ``pre_fork`` gives a new worker a free one,
``Shares.leave`` in ``child_exit`` frees a dead worker's. A worker takes part from the moment it
starts accepting (``BalancedServer.start``) until it stops (``close``, on a graceful stop). A slot
holds ``connections + 1``, so 0 means no worker. ``install`` makes gunicorn's gevent worker serve
its listening sockets with ``BalancedServer``; ``gunicorn.conf.py`` calls it in each worker.
"""
from __future__ import annotations

import functools
import logging
import mmap

from gevent.server import StreamServer

log = logging.getLogger("gunicorn.error")


class Shares:
    """How many connections each worker holds, in memory shared by the master and its workers."""

    def __init__(self, slots: int):
        self._map = mmap.mmap(-1, 4 * slots)  # anonymous and shared: children see the same pages
        self.counts = memoryview(self._map).cast("i")

    def claim(self, taken: set[int | None]) -> int | None:
        """A free slot for a new worker (in the master), or None when every slot is taken: that
        worker then accepts as gunicorn does and publishes nothing."""
        for slot in range(len(self.counts)):
            if slot not in taken:
                self.counts[slot] = 0
                return slot
        return None

    def leave(self, slot: int | None) -> None:
        if slot is not None:
            self.counts[slot] = 0

    def publish(self, slot: int, held: int) -> None:
        self.counts[slot] = held + 1

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections any other taking-part worker holds (None: no other worker)."""
        fewest = None
        for other, value in enumerate(self.counts):
            if value and other != slot and (fewest is None or value - 1 < fewest):
                fewest = value - 1
        return fewest


class Balance:
    """One worker's part: the connections it holds, published in its slot."""

    def __init__(self, shares: Shares, slot: int, delay: float):
        self.shares, self.slot, self.delay = shares, slot, delay
        self.held = 0
        self.left = 0  # connections this worker left to another for a while (tests, debugging)
        self.taking_part = False

    def join(self) -> None:
        self.taking_part = True
        self.shares.publish(self.slot, self.held)

    def leave(self) -> None:
        self.taking_part = False
        self.shares.leave(self.slot)

    def opened(self) -> None:
        self.held += 1
        if self.taking_part:
            self.shares.publish(self.slot, self.held)

    def closed(self) -> None:
        self.held -= 1
        if self.taking_part:
            self.shares.publish(self.slot, self.held)

    def should_leave_it(self) -> bool:
        """A new connection is better taken by another worker: this one holds more than it."""
        fewest = self.shares.fewest_elsewhere(self.slot)
        return fewest is not None and self.held > fewest


class BalancedServer(StreamServer):
    """gevent's server, counting the connections it holds and leaving a new one to a worker that
    holds fewer, for ``balance.delay`` at most."""

    def __init__(self, listener, handle=None, *, balance: Balance, **kwargs):
        self._balance = balance
        self._after_wait = False
        super().__init__(listener, handle=handle, **kwargs)

    def init_socket(self):
        super().init_socket()  # sets the handler each connection runs in: count around it
        served, balance = self._handle, self._balance

        def counted(*args):
            balance.opened()
            try:
                return served(*args)
            finally:
                balance.closed()

        self._handle = counted

    def start(self):
        super().start()
        self._balance.join()
        log.info("accepting connections, balanced over the workers (slot %s; a new one is left to a worker "
                 "holding fewer for %.0f ms)", self._balance.slot, self._balance.delay * 1000)

    def close(self):
        self._balance.leave()
        super().close()

    def do_read(self):
        if not self._after_wait and self._balance.should_leave_it():
            self._balance.left += 1
            self.stop_accepting()  # also closes an earlier timer of ours
            self._timer = self.loop.timer(self._balance.delay)
            self._timer.start(self._accept_after_wait)
            return None  # gevent's accept loop stops here; nothing was accepted
        return super().do_read()

    def _accept_after_wait(self):
        """The wait is over: accept what is still waiting (nothing, if another worker took it),
        then watch the socket again."""
        if not self.started:
            return
        self.start_accepting()
        self._after_wait = True
        try:
            self._do_read()
        finally:
            self._after_wait = False


def install(shares: Shares, slot: int | None, delay: float) -> None:
    """gunicorn's gevent worker serves its listening sockets with ``BalancedServer`` from now on
    (it calls ``StreamServer(socket, handle=..., spawn=pool)``). Without a slot, nothing changes."""
    if slot is None:
        log.warning("connections not balanced in this worker: no free slot")
        return
    from gunicorn.workers import ggevent

    ggevent.StreamServer = functools.partial(BalancedServer, balance=Balance(shares, slot, delay))
