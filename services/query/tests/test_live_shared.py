"""Sharing live evaluations between query instances through the real Redis."""

from __future__ import annotations

import socket
import threading
import time

import redis

from lookout_query.live.shared import SharedResults
from lookout_query.live.subscriptions import SubscriptionKey

KEY = SubscriptionKey("up", 60_000, 1_000)


def counting(answer: dict, delay_s: float = 0.0):
    calls: list[int] = []

    def evaluate() -> dict:
        calls.append(1)
        time.sleep(delay_s)
        return answer

    return evaluate, calls


def test_second_instance_takes_the_first_ones_answer(servers, redis_key_prefix):
    client = redis.Redis.from_url(servers.redis_url)
    a, b = SharedResults(client, redis_key_prefix), SharedResults(client, redis_key_prefix)
    run_a, calls_a = counting({"resultType": "matrix", "result": [1]})
    run_b, calls_b = counting({"resultType": "matrix", "result": [2]})
    assert a.get(KEY, 0, 60_000, 1_000, run_a)["result"] == [1]
    assert b.get(KEY, 0, 60_000, 1_000, run_b)["result"] == [1]
    assert (len(calls_a), len(calls_b)) == (1, 0)
    # A newer batch is not covered by the stored answer: evaluated again.
    assert b.get(KEY, 0, 60_000, 2_000, run_b)["result"] == [2]
    # Another window is another answer.
    assert a.get(KEY, 1_000, 61_000, 1_000, run_a)["result"] == [1] and len(calls_a) == 2


def test_concurrent_evaluations_wait_for_the_lock_holder(servers, redis_key_prefix):
    client = redis.Redis.from_url(servers.redis_url)
    shared = SharedResults(client, redis_key_prefix)
    slow, calls = counting({"resultType": "matrix", "result": ["slow"]}, delay_s=0.3)
    answers: list[dict] = []
    threads = [threading.Thread(target=lambda: answers.append(
        shared.get(KEY, 0, 60_000, 5_000, slow))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and [a["result"] for a in answers] == [["slow"]] * 3


def test_redis_down_means_evaluating_alone(redis_key_prefix):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    run, calls = counting({"resultType": "matrix", "result": []})
    assert SharedResults(dead, redis_key_prefix).get(KEY, 0, 60_000, 1, run)["result"] == []
    assert len(calls) == 1
