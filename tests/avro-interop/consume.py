#!/usr/bin/python3
"""The other stack of the cross-stack test: Apache Avro for Python (Debian's python3-avro)
decodes every output record the C encoder produced, as a notification service would.

    consume.py RECORDS_FILE EXPECTED_FILE

Each record must carry the Confluent frame (magic 0, 4-byte big-endian schema id) with
the id the C side announced, decode with the published .avsc as writer schema (parsed by
Python from the schema text, not by avro-c) and equal the expected value field by field.
Exit 0 when all ten output types pass; 77 (skip) when python3-avro is not installed."""
import io
import json
import struct
import sys

try:
    import avro.io
    import avro.schema
except ImportError:
    print("SKIP: python3-avro is not installed (apt-get install python3-avro)")
    sys.exit(77)


def records(path):
    with open(path, "rb") as f:
        while True:
            head = f.read(4)
            if not head:
                return
            (n,) = struct.unpack(">I", head)
            yield f.read(n)


def main():
    expected = [json.loads(line) for line in open(sys.argv[2])]
    got = list(records(sys.argv[1]))
    if len(got) != len(expected) or len(expected) != 10:
        print(f"FAIL: {len(got)} records, {len(expected)} expected, 10 output types")
        return 1
    failures = 0
    for rec, exp in zip(got, expected):
        magic, schema_id = struct.unpack(">bI", rec[:5])
        schema = avro.schema.parse(exp["schema"])
        reader = avro.io.DatumReader(schema, schema)
        value = reader.read(avro.io.BinaryDecoder(io.BytesIO(rec[5:])))
        # timestamp-millis comes back as datetime: compare as ms since the epoch
        for k, v in list(value.items()):
            if hasattr(v, "timestamp"):
                value[k] = round(v.timestamp() * 1000)
        ok = magic == 0 and schema_id == exp["schema_id"] and value == exp["value"]
        print(f"{'ok  ' if ok else 'FAIL'} {exp['type']:<20} topic={exp['topic']:<28} "
              f"id={schema_id} {json.dumps(value, sort_keys=True)}")
        if not ok:
            print(f"     expected {json.dumps(exp['value'], sort_keys=True)}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
