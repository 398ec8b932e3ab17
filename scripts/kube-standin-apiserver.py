#!/usr/bin/env python3
"""A stand-in Kubernetes API server for the namespace tests (Tests/IntegrationTests/KubernetesReportingTests).

Serves HTTPS on 127.0.0.1:PORT with the given certificate, accepts one bearer token, and keeps one
Node: GET nodes/NAME, PATCH nodes/NAME/status (strategic merge of status.conditions by type, as the
real API server does for Node conditions), POST events (named from generateName), and the pods on
the node (a list from PODS_JSON, and a watch that stays open and quiet). After every change it
writes the Node and the Events it holds to STATE_JSON, which the test reads.

Usage: kube-standin-apiserver.py PORT CERT KEY TOKEN NODE PODS_JSON STATE_JSON
"""
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, cert, key, token, node, pods_file, state_file = sys.argv[1:8]
lock = threading.Lock()
conditions = {"Ready": {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": "2026-12-01T00:00:00Z", "lastTransitionTime": "2026-12-01T00:00:00Z"}}
events = []
uid = str(uuid.uuid4())


def node_object():
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "uid": uid},
            "status": {"conditions": list(conditions.values())}}


def save():
    tmp = state_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"node": node_object(), "events": events}, f)
    os.replace(tmp, state_file)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Authorization") != "Bearer " + token:
            return self.answer(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
        path = self.path
        with lock:
            if self.command == "GET" and path == "/api/v1/nodes/" + node:
                return self.answer(200, node_object())
            if self.command == "PATCH" and path == "/api/v1/nodes/%s/status" % node:
                if self.headers.get("Content-Type") != "application/strategic-merge-patch+json":
                    return self.answer(415, {"kind": "Status", "code": 415})
                for c in json.loads(body)["status"]["conditions"]:
                    conditions[c["type"]] = c
                save()
                return self.answer(200, node_object())
            if self.command == "POST" and path == "/api/v1/namespaces/default/events":
                event = json.loads(body)
                event["metadata"]["name"] = event["metadata"]["generateName"] + uuid.uuid4().hex[:5]
                events.append(event)
                save()
                return self.answer(201, event)
        if self.command == "GET" and path.startswith("/api/v1/pods?fieldSelector=spec.nodeName%3D" + node):
            if "watch=true" not in path:
                with open(pods_file) as f:
                    return self.answer(200, json.load(f))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3600)
            return
        return self.answer(404, {"kind": "Status", "code": 404, "message": "not found"})

    do_GET = do_PATCH = do_POST = handle_any


server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with lock:
    save()
print("listening", flush=True)
server.serve_forever()
