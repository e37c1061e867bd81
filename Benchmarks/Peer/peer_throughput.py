#!/usr/bin/env python3
"""swift-batch against Celery on the same broker, database and workload, trials alternating.

Workload (both sides): N start messages published persistent to RabbitMQ by one Python publisher, one worker process
with its default settings runs a no-op one-step job for each and records it in PostgreSQL. A trial is timed from the
first publish to the poll that sees N finished rows (swift-batch: COMPLETED job executions; Celery: SUCCESS task
results). Worker start-up is not timed; each trial spawns a fresh worker in a fresh schema / queue.

Celery: 5.7 prefork with 2 processes (its best setting on 2 cores), acks_late, prefetch 1, PostgreSQL result backend.
swift-batch: `swiftbatch worker` with no options (its default concurrency, 32).

Besides each worker's CPU per job, the servers' is sampled too (every `postgres` process, and RabbitMQ's Erlang VM),
to show where the box's time goes: on 2 cores the three share the CPU.

Run through ./run (which creates the virtual environment and the Celery database); see README.md beside this file.
"""

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pika
import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(message, file=sys.stderr, flush=True)


def descendants(pid):
    """The process and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def cpu_seconds(pids):
    """User plus system CPU of the processes (and their reaped children), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])
        except (OSError, ValueError, IndexError):
            pass
    return total / CLOCK_TICKS


SERVERS = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}


def server_cpu():
    """CPU seconds so far of the PostgreSQL processes and the RabbitMQ node, by server name, reaped children included:
    a backend that ends during a trial leaves its time in the postmaster's children's time, so the totals before and
    after still differ by what the trial used."""
    pids = {name: [] for name in SERVERS.values()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                server = SERVERS.get(comm.read().strip())
        except OSError:
            continue
        if server:
            pids[server].append(entry)
    return {name: cpu_seconds(found) for name, found in pids.items()}


def box_ticks():
    """(busy, total) CPU ticks of the whole machine."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pika_parameters(amqp_url):
    return pika.URLParameters(amqp_url)


class Trial:
    """What one side measured in one trial."""

    def __init__(self, elapsed, worker_cpu, busy_share, servers):
        self.elapsed = elapsed
        self.worker_cpu = worker_cpu
        self.busy_share = busy_share
        self.servers = servers  # server name -> CPU seconds during the trial


def measure(process_root, publish, finished, count, timeout):
    """Publishes, polls until `count` are finished, and samples CPU around it."""
    pids = descendants(process_root)
    cpu_before = cpu_seconds(pids)
    servers_before = server_cpu()
    busy_before, total_before = box_ticks()
    start = time.monotonic()
    publish()
    while finished() < count:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"only {finished()} of {count} finished after {timeout} s")
        time.sleep(0.1)
    elapsed = time.monotonic() - start
    busy_after, total_after = box_ticks()
    servers = {name: cpu - servers_before[name] for name, cpu in server_cpu().items()}
    # Every process once: the root and the children it had at the start are in both lists.
    cpu_after = cpu_seconds(sorted(set(descendants(process_root)) | set(pids)))
    share = (busy_after - busy_before) / max(1, total_after - total_before)
    return Trial(elapsed, cpu_after - cpu_before, share, servers)


class SwiftBatch:
    def __init__(self, executable, database_url, amqp_url, name="swift-batch"):
        self.name = name
        self.executable = executable
        self.database_url = database_url
        self.amqp_url = amqp_url

    def trial(self, count, timeout):
        world = "peer_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
        data = tempfile.mkdtemp(prefix=world)
        logfile = open(os.path.join(data, "worker.log"), "w+")
        environment = dict(
            os.environ,
            BATCH_DATABASE_URL=self.database_url,
            BATCH_DATABASE_SCHEMA=world,
            BATCH_DEMO_SCHEMA=world + "_demo",
            BATCH_AMQP_URL=self.amqp_url,
            BATCH_PREFIX=world,
            BATCH_DATA_DIR=data,
        )
        # PEER_SWIFT_WRAPPER runs the worker under a profiler: "perf record -g -o /tmp/worker.perf", say.
        wrapper = shlex.split(os.environ.get("PEER_SWIFT_WRAPPER", ""))
        worker = subprocess.Popen(
            wrapper + [self.executable, "worker"], env=environment, stdout=logfile, stderr=subprocess.STDOUT)
        database = psycopg2.connect(self.database_url)
        database.autocommit = True
        connection = pika.BlockingConnection(pika_parameters(self.amqp_url))
        try:
            wait_for(lambda: "worker consuming" in open(logfile.name).read(), 120, "the worker to start consuming")
            channel = connection.channel()
            properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")

            def publish():
                for n in range(count):
                    body = json.dumps({"command": "start", "job": "hello", "params": {"run": world, "n": n}})
                    channel.basic_publish("", world + ".commands", body.encode(), properties)

            def finished():
                with database.cursor() as cursor:
                    cursor.execute(
                        f'SELECT count(*) FROM "{world}".job_executions WHERE status = %s', ("COMPLETED",))
                    return cursor.fetchone()[0]

            return measure(worker.pid, publish, finished, count, timeout)
        finally:
            stop(worker)
            with database.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{world}" CASCADE')
                cursor.execute(f'DROP SCHEMA IF EXISTS "{world}_demo" CASCADE')
            database.close()
            channel = connection.channel()
            for queue in ("commands", "commands.retry", "commands.dead", "partitions", "partitions.retry"):
                try:
                    channel.queue_delete(f"{world}.{queue}")
                except pika.exceptions.AMQPError:
                    channel = connection.channel()
            for exchange in ("dlx", "control", "events"):
                try:
                    channel.exchange_delete(f"{world}.{exchange}")
                except pika.exceptions.AMQPError:
                    channel = connection.channel()
            connection.close()
            shutil.rmtree(data, ignore_errors=True)


class Celery:
    name = "Celery"

    def __init__(self, python, database_url, amqp_url, concurrency):
        self.python = python
        self.amqp_url = amqp_url
        self.concurrency = concurrency
        parts = urllib.parse.urlsplit(database_url)
        self.database_url = urllib.parse.urlunsplit(parts._replace(path="/celery_peer"))
        self.backend = "db+postgresql+psycopg2://" + self.database_url.split("://", 1)[1]
        self.broker = amqp_url  # kombu reads the virtual host percent-encoded, as the AMQP URI scheme says

    def trial(self, count, timeout):
        queue = "peer_celery_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
        environment = dict(
            os.environ, PEER_CELERY_BROKER=self.broker, PEER_CELERY_BACKEND=self.backend, PEER_CELERY_QUEUE=queue)
        database = psycopg2.connect(self.database_url)
        database.autocommit = True
        with database.cursor() as cursor:
            cursor.execute("SELECT to_regclass('celery_taskmeta') IS NOT NULL")
            if cursor.fetchone()[0]:
                cursor.execute("TRUNCATE celery_taskmeta")
        ready = os.path.join(tempfile.mkdtemp(prefix=queue), "log")
        logfile = open(ready, "w+")
        worker = subprocess.Popen(
            [self.python, "-m", "celery", "-A", "celery_peer", "worker", "--pool", "prefork",
             "--concurrency", str(self.concurrency), "--loglevel", "INFO", "-Q", queue, "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=HERE, env=environment, stdout=logfile, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: " ready." in open(ready).read(), 120, "the Celery worker to be ready")
            sys.path.insert(0, HERE)
            os.environ.update(PEER_CELERY_BROKER=self.broker, PEER_CELERY_BACKEND=self.backend,
                              PEER_CELERY_QUEUE=queue)
            import celery_peer

            celery_peer.app.conf.task_default_queue = queue
            celery_peer.app.connection_for_write().ensure_connection()

            def publish():
                for n in range(count):
                    celery_peer.noop_job.delay(f"{queue}-{n}")

            def finished():
                with database.cursor() as cursor:
                    cursor.execute("SELECT to_regclass('celery_taskmeta') IS NOT NULL")
                    if not cursor.fetchone()[0]:
                        return 0
                    cursor.execute("SELECT count(*) FROM celery_taskmeta WHERE status = %s", ("SUCCESS",))
                    return cursor.fetchone()[0]

            return measure(worker.pid, publish, finished, count, timeout)
        finally:
            stop(worker)
            database.close()
            connection = pika.BlockingConnection(pika_parameters(self.amqp_url))
            try:
                connection.channel().queue_delete(queue)
            except pika.exceptions.AMQPError:
                pass
            connection.close()
            shutil.rmtree(os.path.dirname(ready), ignore_errors=True)


def summary(side, trials, count):
    rates = [count / trial.elapsed for trial in trials]
    cpu = [trial.worker_cpu * 1000 / count for trial in trials]
    busy = [trial.busy_share * 100 for trial in trials]
    servers = "; ".join(
        f"{name} {statistics.median(trial.servers[name] * 1000 / count for trial in trials):.2f} ms"
        for name in SERVERS.values())
    return (
        f"{side.name:12} jobs/s median {statistics.median(rates):7.1f} (min {min(rates):.1f}, max {max(rates):.1f});"
        f" worker CPU per job {statistics.median(cpu):.2f} ms; {servers}; box busy {statistics.median(busy):.0f}%",
        statistics.median(rates),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("swiftbatch", help="path of a release-built swiftbatch executable")
    parser.add_argument("--jobs", type=int, default=2000, help="start messages per trial (default 2000)")
    parser.add_argument("--trials", type=int, default=3, help="trials per side, alternating (default 3)")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a trial may take (default 300)")
    parser.add_argument(
        "--only", choices=["swift-batch", "Celery"],
        help="run one side alone (to profile it); swift-batch keeps --baseline's side")
    parser.add_argument(
        "--baseline", metavar="SWIFTBATCH",
        help="another swiftbatch build (an earlier commit's) run as a third side, in the same rotation")
    arguments = parser.parse_args()

    database_url = os.environ.get("BATCH_DATABASE_URL", "postgres://batch:batch@127.0.0.1:5432/batch")
    amqp_url = os.environ.get("BATCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
    sides = [
        SwiftBatch(os.path.abspath(arguments.swiftbatch), database_url, amqp_url),
        Celery(sys.executable, database_url, amqp_url, arguments.celery_concurrency),
    ]
    if arguments.baseline:
        sides.append(SwiftBatch(os.path.abspath(arguments.baseline), database_url, amqp_url, name="baseline"))
    if arguments.only:
        keep = {arguments.only, "baseline"} if arguments.only == "swift-batch" else {arguments.only}
        sides = [side for side in sides if side.name in keep]
    results = {side.name: [] for side in sides}
    for number in range(arguments.trials):
        # Each trial starts with another side, and goes the other way round every other trial.
        order = sides[number % len(sides):] + sides[:number % len(sides)]
        for side in order if number % 2 == 0 else reversed(order):
            trial = side.trial(arguments.jobs, arguments.timeout)
            results[side.name].append(trial)
            log(f"trial {number + 1} {side.name}: {arguments.jobs / trial.elapsed:.1f} jobs/s,"
                f" {trial.worker_cpu * 1000 / arguments.jobs:.2f} ms worker CPU per job,"
                f" box {trial.busy_share * 100:.0f}% busy")
    print(f"{arguments.jobs} jobs per trial, {arguments.trials} trials per side, alternating, on {os.cpu_count()} cores")
    medians = {}
    for side in sides:
        line, medians[side.name] = summary(side, results[side.name], arguments.jobs)
        print(line)
    for name in ("swift-batch", "baseline"):
        if name in medians and "Celery" in medians:
            print(f"ratio {name} / Celery (medians): {medians[name] / medians['Celery']:.2f}")
    if "swift-batch" in medians and "baseline" in medians:
        print(f"ratio swift-batch / baseline (medians): {medians['swift-batch'] / medians['baseline']:.2f}")


if __name__ == "__main__":
    main()
