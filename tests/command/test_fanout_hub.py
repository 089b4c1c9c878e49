"""The process's hub of open streams, small and cheap when idle (issue 21, live streams): a stream
waits on no timer or task of its own (one timer per event loop ends the waits that are over, all
in one pass), the screens of one command room share one set of the area's topics, and a publish
wakes only the streams following its topics. The hub holds no database: one run is enough."""

from __future__ import annotations

import asyncio
import time

import pytest

from fengqiao import fanout

TOWNS = [fanout.town_topic(town) for town in (11, 12, 13)]


def test_idle_streams_wait_on_one_timer_of_their_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "TICK_SECONDS", 0.05)

    async def run() -> tuple[int, int, list[set[str]], float]:
        loop = asyncio.get_running_loop()
        scheduled = loop._scheduled  # type: ignore[attr-defined]  # asyncio's own timer heap
        before_timers, before_tasks = len(scheduled), len(asyncio.all_tasks())
        subs = [fanout.subscribe((fanout.user_topic(n),), shared=TOWNS) for n in range(200)]
        try:
            started = time.monotonic()
            waits = [asyncio.ensure_future(sub.wait(0.2)) for sub in subs]
            await asyncio.sleep(0.01)  # every stream is waiting now
            timers = len([h for h in scheduled if not h.cancelled()]) - before_timers
            tasks = len(asyncio.all_tasks()) - before_tasks - len(waits)
            fired = await asyncio.gather(*waits)
            return timers, tasks, fired, time.monotonic() - started
        finally:
            for sub in subs:
                fanout.unsubscribe(sub)

    timers, tasks, fired, took = asyncio.run(run())
    assert timers == 1  # the loop's one tick, not one timer per waiting stream
    assert tasks == 0  # no task per wait either
    assert fired == [set()] * 200  # each wait ended by the tick: nothing fired
    assert 0.2 <= took < 1.5


def test_a_publish_wakes_only_the_streams_of_its_topics_at_once() -> None:
    async def run() -> tuple[set[str], bool, float]:
        near = fanout.subscribe((fanout.user_topic(1),), shared=TOWNS)
        far = fanout.subscribe((fanout.user_topic(2),), shared=[fanout.town_topic(99)])
        try:
            far_wait = asyncio.ensure_future(far.wait(60))
            started = time.monotonic()
            near_wait = asyncio.ensure_future(near.wait(60))
            await asyncio.sleep(0)
            fanout.hub.publish([TOWNS[1], fanout.user_topic(3)])
            got = await asyncio.wait_for(near_wait, 5)
            took = time.monotonic() - started
            await asyncio.sleep(0.05)
            far_done = far_wait.done()
            far_wait.cancel()
            return got, far_done, took
        finally:
            fanout.unsubscribe(near)
            fanout.unsubscribe(far)

    got, far_done, took = asyncio.run(run())
    assert got == {TOWNS[1]}
    assert not far_done
    assert took < 1.0  # woken by the publish, not by a timer


def test_the_screens_of_one_area_share_one_topic_set() -> None:
    async def run() -> tuple[fanout.Subscription, fanout.Subscription]:
        first = fanout.subscribe((fanout.user_topic(1),), shared=list(TOWNS))
        second = fanout.subscribe((fanout.user_topic(2),), shared=reversed(TOWNS))
        fanout.unsubscribe(first)
        fanout.unsubscribe(second)
        return first, second

    first, second = asyncio.run(run())
    assert first.shared is second.shared  # one set (and its strings) for the whole room
    assert first.topics == {fanout.user_topic(1), *TOWNS}
    assert second.topics == {fanout.user_topic(2), *TOWNS}


def test_a_drain_ends_a_waiting_stream_from_another_thread() -> None:
    async def run() -> tuple[bool, set[str]]:
        sub = fanout.subscribe((fanout.user_topic(5),))
        try:
            waiting = asyncio.ensure_future(sub.wait(60))
            await asyncio.sleep(0)
            await asyncio.get_running_loop().run_in_executor(None, sub.drain_soon)
            fired = await asyncio.wait_for(waiting, 5)
            return sub.drained, fired
        finally:
            fanout.unsubscribe(sub)

    assert asyncio.run(run()) == (True, set())
