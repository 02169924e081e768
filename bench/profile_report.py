#!/usr/bin/env python3
"""Summarizes async-profiler's collapsed stacks (bench/profile.sh): per file, the hottest frames by
self time, and the share of samples whose stack passes through each of a few named parts of a
request's path (a sample counts once per part, so parts may overlap)."""
import collections, re, sys

PARTS = [
    ("HTTP request parsing", "HttpRequestParser"),
    ("HTTP response rendering", "HttpResponseRendererFactory"),
    ("routing DSL", "server.directives"),
    ("ringkv code", "io/ringkv/"),
    ("  of it: the routes", "io/ringkv/http/"),
    ("  of it: link frames", "io/ringkv/net/Frames"),
    ("  of it: stores", "io/ringkv/storage/"),
    ("actor spawn/stop", "spawnAnonymous|ActorCell.terminate|FaultHandling"),
    ("actor mailbox run", "Mailbox.run"),
    ("streams interpreter", "GraphInterpreter"),
    ("Pekko TCP", "io/TcpConnection"),
    ("Jackson", "com/fasterxml/jackson"),
    ("metrics", "micrometer"),
    ("RocksDB (JNI)", "org/rocksdb"),
    ("scheduler", "LightArrayRevolverScheduler"),
    ("GC threads", "GCTaskThread|ParallelGC|PSParallel|ParallelTask"),
    ("JIT compiler", "CompileBroker"),
    ("kernel: socket send/recv", "tcp_sendmsg|tcp_recvmsg|sock_sendmsg|sock_recvmsg"),
    ("kernel: epoll", "ep_poll|epoll_wait|do_epoll"),
    ("kernel: futex (wake-ups)", "futex"),
    ("kernel: fsync", "fsync|fdatasync"),
]

for path in sys.argv[1:]:
    total = 0
    self_counts = collections.Counter()
    threads = collections.Counter()
    parts = collections.Counter()
    regexes = [(name, re.compile(pattern)) for name, pattern in PARTS]
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(n)
            total += n
            frames = stack.split(";")
            if frames[0].startswith("["):   # async-profiler's "threads" option: the thread comes first
                threads[re.sub(r"[0-9]+", "N", frames[0].split(" tid=")[0].strip("[]"))] += n
            self_counts[frames[-1]] += n
            for name, rx in regexes:
                if rx.search(stack):
                    parts[name] += n
    print(f"== {path.rsplit('/', 1)[-1]}: {total} samples")
    for name, _ in PARTS:
        if parts[name]:
            print(f"  {100 * parts[name] / total:5.1f}%  {name}")
    if threads:
        print("  threads:")
        for name, n in threads.most_common(12):
            print(f"  {100 * n / total:5.1f}%  {name}")
    print("  hottest frames (self):")
    for frame, n in self_counts.most_common(25):
        print(f"  {100 * n / total:5.1f}%  {frame[:150]}")
