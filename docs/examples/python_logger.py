"""A logger in Python, written from docs/wire.md: it receives log batches on a PULL socket.

    python3 python_logger.py <count>

It binds tcp://127.0.0.1 on a free port, prints "listening <endpoint>", then prints every record it
receives as "record <path> <JSON object>" until <count> records arrived, and exits. It does not
acknowledge batches, so writers must be configured with acknowledge: false. Every wait is bounded: it
gives up after 10 seconds.
"""
import json
import sys

import msgpack
import zmq

wanted = int(sys.argv[1])
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
pull.setsockopt(zmq.RCVTIMEO, 10000)
pull.bind("tcp://127.0.0.1:*")
print("listening " + pull.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
received = 0
try:
    while received < wanted:
        frames = pull.recv_multipart()
        if len(frames) != 4 or frames[2] != b"msgpack-log-v1":
            continue                                  # not a log batch of this format
        stream, path, fields, records = msgpack.unpackb(frames[3])[:4]
        names = [name for name, _type, _optional in fields]
        for values in records:
            record = {n: v for n, v in zip(names, values) if v is not None}
            print(f"record {path} {json.dumps(record)}", flush=True)
            received += 1
except zmq.Again:
    print("timeout", flush=True)
ctx.destroy(linger=0)
sys.exit(0 if received >= wanted else 3)
