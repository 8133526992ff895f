#!/usr/bin/env python3
"""Deterministic JSON-line events for the report test: N customers over M months of
purchases (some with coffee), returns of earlier purchases and redemptions.
usage: gen_events.py CUSTOMERS MONTHS SEED > events.jsonl"""
import json
import random
import sys

customers, months, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
events = []
bought = {}
for c in range(customers):
    cid = "c%04d" % c
    spend = rnd.choice([1, 1, 2, 3, 6])  # a few buy a lot
    for m in range(months):
        for _ in range(rnd.randint(0, 3 * spend)):
            day = rnd.randint(1, 28)
            t = "2026-%02d-%02dT%02d:%02d:00+03:00" % (3 + m, day, rnd.randint(9, 20), rnd.randint(0, 59))
            lines = [{"sku": "s%d" % rnd.randint(1, 50), "category": rnd.choice(["skincare", "makeup", "perfume"]),
                      "quantity": 1, "amount": rnd.randint(20, 400) * 1000}]
            if rnd.random() < 0.5:
                lines.append({"sku": "latte", "category": "coffee", "quantity": rnd.randint(1, 3), "amount": 25000})
            eid = "%s-%d-%d" % (cid, m, len(events))
            events.append((t, {"type": "purchase", "event_id": eid, "customer_id": cid, "time": t, "lines": lines}))
            bought.setdefault(cid, []).append((t, eid, lines[0]))
        if cid in bought and rnd.random() < 0.15:
            t0, eid, line = rnd.choice(bought[cid])
            t = t0[:8] + "28T21:00:00+03:00"
            events.append((t, {"type": "return", "event_id": "ret-" + eid, "customer_id": cid, "time": t,
                               "original_event_id": eid, "lines": [line]}))
        if rnd.random() < 0.3:
            t = "2026-%02d-%02dT12:00:00+03:00" % (3 + m, rnd.randint(2, 27))
            events.append((t, {"type": "redemption", "event_id": "red-%s-%d" % (cid, m), "customer_id": cid,
                               "time": t, "points": rnd.choice([50, 100, 200]),
                               "lines": [{"sku": "x", "category": "makeup", "quantity": 1, "amount": 100000}]}))
events.sort(key=lambda e: e[0])
for _, e in events:
    print(json.dumps(e, separators=(",", ":")))
