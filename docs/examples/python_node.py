"""A cluster node in Python, written from docs/wire.md: pyzmq and msgpack, nothing else.

    python3 python_node.py <name> <broker-xsub-endpoint> <broker-xpub-endpoint>

It joins the cluster as node <name> (which must be in the layout for the others to raise node_up),
says hello as Zeek's protocol wants, prints "node_up <peer>" for every peer that answers, publishes
ping(<name>, 1, 2.5) with metadata to the manager's role topic once the manager is up, prints every
event it receives as "event <topic> <name> <args as JSON>", and exits after a "pong". Every wait is
bounded: it gives up after 10 seconds.
"""
import json
import os
import socket
import sys
import time
import uuid

import msgpack
import zmq

name, xsub_endpoint, xpub_endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
node_id = f"python_{name}_{socket.gethostname()}_{os.getpid()}_N{uuid.uuid4().hex[:16]}"
NODEID_PREFIX = "zeek.cluster.nodeid."
FORMAT = b"msgpack-v1"

ctx = zmq.Context()
pub = ctx.socket(zmq.XPUB)               # sends events; sees every (un)subscription in the cluster
pub.setsockopt(zmq.XPUB_VERBOSE, 1)
pub.connect(xsub_endpoint)
sub = ctx.socket(zmq.XSUB)               # receives events for the prefixes it subscribed
sub.connect(xpub_endpoint)
for topic in (f"{NODEID_PREFIX}{node_id}.", f"zeek.cluster.node.{name}.", "zeek.cluster.worker"):
    sub.send(b"\x01" + topic.encode())


def publish(topic, event, args, metadata=None):
    body = [event, args] if metadata is None else [event, args, metadata]
    pub.send_multipart([topic.encode(), node_id.encode(), FORMAT, msgpack.packb(body)])


subscriptions = set()   # topics some node subscribes to, as seen on our XPUB
poller = zmq.Poller()
poller.register(pub, zmq.POLLIN)
poller.register(sub, zmq.POLLIN)
deadline = time.monotonic() + 10
done = False
while not done and time.monotonic() < deadline:
    for sock, _ in poller.poll(100):
        if sock is pub:                                    # b"\x01topic" or b"\x00topic"
            notice = pub.recv()
            topic = notice[1:].decode()
            if notice[:1] == b"\x01" and topic not in subscriptions:
                subscriptions.add(topic)
                if topic.startswith(NODEID_PREFIX) and topic != f"{NODEID_PREFIX}{node_id}.":
                    publish(topic, "Cluster::Backend::ZeroMQ::hello", [name, node_id])
            elif notice[:1] == b"\x00":
                subscriptions.discard(topic)
            continue
        frames = sub.recv_multipart()
        if len(frames) != 4 or frames[1].decode() == node_id or frames[2] != FORMAT:
            continue                                       # malformed, our own, or another format
        event, args = msgpack.unpackb(frames[3])[:2]
        print(f"event {frames[0].decode()} {event} {json.dumps(args)}", flush=True)
        if event == "Cluster::Backend::ZeroMQ::hello":     # args: [peer name, peer id]
            peer_topic = f"{NODEID_PREFIX}{args[1]}."
            if peer_topic in subscriptions:                # both directions work: say so
                publish(peer_topic, "Cluster::hello", [name, node_id])
        elif event == "Cluster::hello":
            print(f"node_up {args[0]}", flush=True)
            if args[0] == "manager":
                publish("zeek.cluster.manager", "ping", [name, 1, 2.5], [[200, "sent by python"]])
        elif event == "pong":
            done = True
ctx.destroy(linger=1000)    # closing the XSUB is what tells the others: node_down
if not done:
    print("timeout", flush=True)
sys.exit(0 if done else 3)
